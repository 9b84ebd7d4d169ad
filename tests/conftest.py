"""Shared test configuration.

Tests never touch the user's real ``~/.tutopanda``: ``TUTOPANDA_HOME`` points into a per-test tmp dir,
and builds default to the mock providers (``TUTOPANDA_PROVIDERS=mock``).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import hypothesis  # noqa: F401  # imported now, not first at the end of the session: see below
import pytest

# A run of files that use no hypothesis (tests/cli, tests/e2e...) had hypothesis's pytest plugin import it
# while printing the summary, and that import's ast.parse failed with CPython 3.11's "AST constructor
# recursion depth mismatch" (the tests had all passed; the run still exited 1). Importing it here, as a
# whole-suite run does while collecting, avoids that.

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    # Started in the background by a non-interactive shell (`cmd &`), this process ignores Ctrl-C, and
    # every CLI subprocess a test starts would inherit that: the tests that send SIGINT to a build or a
    # worker would then wait for an exit that never comes. Children of a handled SIGINT get the default.
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("tutopanda-home")
    monkeypatch.setenv("TUTOPANDA_HOME", str(home))
    monkeypatch.delenv("TUTOPANDA_DEBUG", raising=False)
    # Builds in tests use the deterministic mocks unless a test asks for --providers live explicitly.
    monkeypatch.setenv("TUTOPANDA_PROVIDERS", "mock")
    return home


@pytest.fixture(autouse=True)
def _no_unlisted_variant_policy() -> Iterator[None]:
    """The CLI installs a process-wide policy letting ``--provider`` name any registered handler's model;
    a CLI run inside a test must not leave it installed for the tests after it."""
    yield
    from tutopanda.core.blueprint.expand import accept_unlisted_variants

    accept_unlisted_variants(None)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A loopback S3 server (moto) for the whole session; see ``tests/object_store.py``."""
    from tests.object_store import s3_endpoint as start

    with start() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def s3_bucket(s3_endpoint: str) -> str:
    """One bucket for the session; tests use their own prefixes inside it."""
    from tests.object_store import make_bucket

    return make_bucket()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A loopback PostgreSQL server for the whole session; see ``tests/postgres_server.py``."""
    from tests.postgres_server import postgres_server

    with postgres_server() as url:
        yield url
