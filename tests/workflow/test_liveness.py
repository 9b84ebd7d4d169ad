"""Peer recovery's liveness locks: a dead executor is found, a live one with a blip is not, ids are unique.

The server drops a session's advisory lock when the session's backend exits, which happens *after* the
client closes its socket or ``pg_terminate_backend`` returns; on a loaded machine that can take a
while. So the tests wait (event-driven, with a generous deadline) for the backend to be gone before
they check, and pass the watcher explicit times, so no assertion depends on how fast anything ran.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.postgres_server import fresh_database
from tutopanda.core.errors import UsageError
from tutopanda.workflow.dbos_executor import without_credentials
from tutopanda.workflow.liveness import Liveness

VERSION = "tutopanda-test"


class Recorder:
    def __init__(self) -> None:
        self.recovered: list[str] = []

    def __call__(self, ids: list[str]) -> list[str]:
        self.recovered.extend(ids)
        return list(ids)


def _wait_for_backend_exit(url: str, backend_pid: int, deadline_seconds: float = 60.0) -> None:
    """Wait until the server has ended the backend ``backend_pid`` (and so dropped its locks)."""
    deadline = time.monotonic() + deadline_seconds
    with psycopg.connect(url, autocommit=True) as admin:
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend_pid,)).fetchone():
            assert time.monotonic() < deadline, f"backend {backend_pid} still alive after {deadline_seconds}s"
            time.sleep(0.05)


def _pending(url: str, executor: str, version: str = VERSION) -> None:
    """A PENDING workflow row owned by ``executor`` (the watcher's query needs only these columns)."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS dbos")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS dbos.workflow_status "
            "(workflow_uuid text, status text, executor_id text, application_version text)"
        )
        connection.execute(
            "INSERT INTO dbos.workflow_status VALUES (%s, 'PENDING', %s, %s)",
            (f"wf-{executor}", executor, version),
        )


@pytest.fixture
def database(postgres_url: str) -> str:
    return fresh_database(postgres_url)


@pytest.fixture
def live() -> Iterator[list[Liveness]]:
    made: list[Liveness] = []
    yield made
    for liveness in made:
        liveness.stop()


def _liveness(url: str, executor: str, made: list[Liveness], recorder: Recorder | None = None) -> Liveness:
    liveness = Liveness(url, executor, recorder or Recorder(), application_version=VERSION, grace=1.0)
    liveness.acquire()
    made.append(liveness)
    return liveness


def test_a_dead_executor_is_recovered_after_the_grace_period(database: str, live: list[Liveness]) -> None:
    recorder = Recorder()
    watcher = _liveness(database, "B", live, recorder)
    doomed = _liveness(database, "A", live)
    _pending(database, "A")
    assert watcher.check_once(now=0.0) == []  # A holds its lock: alive
    backend = doomed._connection.info.backend_pid
    doomed._connection.close()  # the process died: the server drops its session lock
    _wait_for_backend_exit(database, backend)
    assert watcher.check_once(now=10.0) == []  # free once: could be a reconnect
    assert watcher.check_once(now=11.5) == ["A"] and recorder.recovered == ["A"]


def test_a_connection_blip_does_not_make_a_live_worker_dead(database: str, live: list[Liveness]) -> None:
    recorder = Recorder()
    watcher = _liveness(database, "B", live, recorder)
    blinking = _liveness(database, "A", live)
    _pending(database, "A")
    backend = blinking._connection.info.backend_pid
    with psycopg.connect(database, autocommit=True) as admin:  # the server ends A's session
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    _wait_for_backend_exit(database, backend)
    assert watcher.check_once(now=0.0) == []  # seen free once
    blinking.check_once(now=0.2)  # A notices, reconnects and takes its lock again
    assert not blinking.lost_own_lock and blinking._connection.info.backend_pid != backend
    assert watcher.check_once(now=5.0) == [] and recorder.recovered == []


def test_other_application_versions_are_left_alone(database: str, live: list[Liveness]) -> None:
    recorder = Recorder()
    watcher = _liveness(database, "B", live, recorder)
    _pending(database, "old", version="tutopanda-0.0.1")
    assert watcher.check_once(now=0.0) == [] and watcher.check_once(now=5.0) == []
    assert recorder.recovered == []


def test_an_executor_id_runs_once_per_database(database: str, tmp_path: Path, live: list[Liveness]) -> None:
    _liveness(database, "A", live)
    with pytest.raises(UsageError, match="another process runs with executor id 'A'"):
        _liveness(database, "A", live)
    sqlite = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    _liveness(sqlite, "A", live)
    with pytest.raises(UsageError, match="another process runs with executor id 'A'"):
        _liveness(sqlite, "A", live)


def test_database_errors_never_show_credentials() -> None:
    url = "postgresql://builder:s3cret%25zz@db.internal/tutopanda"
    message = 'invalid percent-encoded token: "s3cret%25zz" and s3cret%zz for user builder'
    cleaned = without_credentials(message, url)
    assert "s3cret" not in cleaned and "builder" not in cleaned
