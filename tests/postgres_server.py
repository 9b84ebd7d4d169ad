"""A throw-away PostgreSQL server for tests, from the Debian package, on 127.0.0.1.

``TUTOPANDA_TEST_POSTGRES_URL`` (a server somebody else started) wins; otherwise the first test that
needs PostgreSQL runs ``initdb`` into a temp dir and starts ``pg_ctl`` on a free port with fsync off
(under a second). As root (CI), the server runs as the ``postgres`` user the package creates, since
``initdb`` refuses root. Without a PostgreSQL installation the tests skip, except under ``CI=true``
where ``.ci/run`` installs it and a missing server is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _bin_dir() -> str | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[4]))
    if found:
        return str(found[-1].parent)
    initdb = shutil.which("initdb")
    return str(Path(initdb).parent) if initdb else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server (superuser ``postgres``, no password) for this session."""
    given = os.environ.get("TUTOPANDA_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bin_dir = _bin_dir()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not installed (.ci/run installs the Debian package)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    folder = tempfile.mkdtemp(prefix="tutopanda-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = str(Path(folder) / "data")
    port = _free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    initdb = [f"{bin_dir}/initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]
    subprocess.run([*as_user, *initdb], **quiet)  # type: ignore[call-overload]
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=200"
    )
    pg_ctl = [*as_user, f"{bin_dir}/pg_ctl", "-D", data]
    subprocess.run(
        [*pg_ctl, "-l", str(Path(folder) / "log"), "-w", "-t", "30", "-o", options, "start"],
        **quiet,  # type: ignore[call-overload]
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        stop = [*pg_ctl, "-m", "immediate", "stop"]
        subprocess.run(stop, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(server_url: str) -> str:
    """Create an empty database on the server; its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"
