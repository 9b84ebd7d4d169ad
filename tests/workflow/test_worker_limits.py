"""Per-worker limits and code versions: what one process sets never changes how another works.

* ``--concurrency`` is the worker's own: a ``--no-wait`` submitter with ``-c 1`` (which once rewrote the
  queue settings every worker re-reads before each poll) leaves a ``-c 8`` worker running 8 at once.
* The application version is the code's: a worker of another version leaves a build alone, one of the
  same version runs it; and the version changes when a source file does.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.build_helpers import JobGraph, MovieCli, define_image_audio
from tests.workflow.test_dbos_sqlite import _status, _whole_calls, wait_until
from tutopanda.providers.mock.counter import MOCK_CALL_LOG_ENV
from tutopanda.workflow import code_version
from tutopanda.workflow.code_version import APP_VERSION_ENV, application_version, code_hash

M = "demo"
SEGMENTS = 8


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MovieCli]:
    monkeypatch.setenv("TUTOPANDA_PROVIDERS", "mock")
    monkeypatch.delenv("TUTOPANDA_DBOS_DATABASE_URL", raising=False)
    call_log = tmp_path / "calls.jsonl"
    monkeypatch.setenv(MOCK_CALL_LOG_ENV, str(call_log))
    monkeypatch.delenv("TUTOPANDA_MOCK_OPTIONS", raising=False)
    yield MovieCli(tmp_path / "store", call_log)


def test_a_submitter_with_concurrency_1_does_not_throttle_a_worker(cli: MovieCli) -> None:
    define_image_audio(cli, M, SEGMENTS)
    graph = JobGraph.expand(cli, "image-audio", f"NumOfSegments={SEGMENTS}")
    second_layer = sorted(job for job, depth in graph.layers().items() if depth == 1)
    assert len(second_layer) == 2 * SEGMENTS + 1  # 17 jobs on one queue: batches of 8, 8 and 1
    # Every second-layer job hangs once called, so the calls seen are exactly the jobs in flight.
    hang = {"hangJobs": second_layer}
    worker = cli.spawn("worker", "--id", "w1", "-c", "8", mock_options=hang)
    try:
        assert worker.stdout is not None and "running jobs" in worker.stdout.readline()
        submitted = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--no-wait", "-c", "1")
        assert submitted.code == 0, submitted.stderr
        # -c 8: eight job slots on this queue, which the first batch of 8 fills (the next one waits for
        # slots). Throttled to the submitter's -c 1 (the bug), it stays at 1 forever.
        wait_until(
            lambda: (
                len([c for c in _whole_calls(cli) if c["jobId"] in second_layer]) >= 5
                or worker.poll() is not None
            ),
            "five second-layer jobs in flight at once on a -c 8 worker",
        )
        assert worker.poll() is None, worker.communicate()[1]
    finally:
        worker.kill()  # its jobs hang by design
        worker.communicate(timeout=60)
    assert not _queue_rows(cli)  # nobody wrote fleet-wide queue settings


def _queue_rows(cli: MovieCli) -> list[tuple[object, ...]]:
    """The queue settings rows DBOS keeps in its database (``DBOS.register_queue`` writes them)."""
    with sqlite3.connect(f"file:{cli.root / 'dbos.sqlite'}?mode=ro", uri=True) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return list(connection.execute("SELECT * FROM queues")) if "queues" in tables else []


def test_a_worker_of_another_code_version_leaves_the_build_alone(
    cli: MovieCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    define_image_audio(cli, M, 1)
    monkeypatch.setenv(APP_VERSION_ENV, "tutopanda-old-code")
    submitted = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--no-wait", "--json")
    assert submitted.code == 0, submitted.stderr
    monkeypatch.setenv(APP_VERSION_ENV, "tutopanda-new-code")
    other = cli.spawn("worker", "--id", "new")
    try:
        assert other.stdout is not None and "running jobs" in other.stdout.readline()
        # Event-driven proof that it polled and declined: a build it *can* run, submitted after
        # ours, finishes, while ours is still waiting for a worker of its version.
        define_image_audio(cli, "same-version", 1)
        mine = cli.process("build", "run", "--movie", "same-version", "--executor", "dbos", "--no-wait")
        assert mine.code == 0, mine.stderr
        wait_until(lambda: _status(cli, "same-version")["status"] == "SUCCESS", "the new-version build")
        assert _status(cli)["status"] == "ENQUEUED" and cli.manifests(M) == []
    finally:
        other.send_signal(signal.SIGINT)
        other.communicate(timeout=60)
    monkeypatch.setenv(APP_VERSION_ENV, "tutopanda-old-code")
    same = cli.spawn("worker", "--id", "old")
    try:
        wait_until(lambda: _status(cli)["status"] == "SUCCESS", "the old-version worker to run its build")
    finally:
        same.send_signal(signal.SIGINT)
        same.communicate(timeout=60)


def test_the_computed_version_agrees_between_processes_of_the_same_code(
    cli: MovieCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(APP_VERSION_ENV)
    define_image_audio(cli, M, 1)
    done = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--json")
    assert done.code == 0, done.stderr
    with sqlite3.connect(f"file:{cli.root / 'dbos.sqlite'}?mode=ro", uri=True) as connection:
        versions = {row[0] for row in connection.execute("SELECT application_version FROM workflow_status")}
    [version] = versions
    assert version.startswith("tutopanda-") and len(version.rsplit("-", 1)[-1]) == 16


def test_the_version_changes_when_any_source_or_bundled_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = Path(code_version.__file__).resolve().parent.parent
    copy = tmp_path / "tutopanda"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    original = code_hash(copy)
    assert code_hash(copy) == original  # stable
    (copy / "__pycache__").mkdir()
    (copy / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"compiled")
    assert code_hash(copy) == original  # compiled caches are not the code
    module = copy / "workflow" / "dbos_executor.py"
    module.write_text(module.read_text(encoding="utf-8") + "\n# a change\n", encoding="utf-8")
    changed = code_hash(copy)
    assert changed != original
    blueprint = next((copy / "blueprints").rglob("*.yaml"))
    blueprint.write_bytes(blueprint.read_bytes() + b"\n")
    assert code_hash(copy) not in (original, changed)
    monkeypatch.setenv(APP_VERSION_ENV, "pinned-by-ops")
    assert application_version() == "pinned-by-ops"
    monkeypatch.delenv(APP_VERSION_ENV)
    assert application_version().startswith("tutopanda-")
