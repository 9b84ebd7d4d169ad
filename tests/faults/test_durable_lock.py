"""A durable (DBOS) build holds its movie for its whole life, across processes and machines.

The hold is a lock record in the store (``core/store/durable_lock.py``), written by the submitter before the
workflow is enqueued and removed by the workflow's last step. Every command that takes the movie's
``build`` lock — a local ``build run``, ``edit``, ``gc``, ``verify --repair``, ``movies clean`` — is
refused meanwhile with the usual one-line message naming the holder (exit 1). A killed worker's build
keeps the movie until it is resumed and ends; a cancelled build frees it (the record's workflow has
ended: the next command clears it).
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomlkit

from tests.e2e.build_helpers import MovieCli, define_image_audio
from tests.workflow.test_dbos_sqlite import _status, _whole_calls, wait_until
from tutopanda.core.errors import LockHeldError
from tutopanda.core.store import durable_lock
from tutopanda.core.store.atomic_file import write_atomic
from tutopanda.core.store.durable_lock import DurableHolder
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.providers.mock.counter import MOCK_CALL_LOG_ENV
from tutopanda.workflow.code_version import APP_VERSION_ENV

M = "demo"
EXPORT = "Producer:Export.VideoExporter"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MovieCli]:
    monkeypatch.setenv("TUTOPANDA_PROVIDERS", "mock")
    monkeypatch.delenv("TUTOPANDA_DBOS_DATABASE_URL", raising=False)
    monkeypatch.setenv(APP_VERSION_ENV, f"tutopanda-test-{uuid.uuid4().hex[:8]}")  # see tests/workflow
    call_log = tmp_path / "calls.jsonl"
    monkeypatch.setenv(MOCK_CALL_LOG_ENV, str(call_log))
    monkeypatch.delenv("TUTOPANDA_MOCK_OPTIONS", raising=False)
    yield MovieCli(tmp_path / "store", call_log)


def _edited(cli: MovieCli, tmp_path: Path) -> Path:
    document = tomlkit.parse(cli.ok("inspect", "--movie", M, "--format", "toml", "--out", "-").stdout)
    document["inputs"]["Style"] = "watercolor"
    target = tmp_path / "edited.toml"
    target.write_text(tomlkit.dumps(document), encoding="utf-8")
    return target


def _assert_refused(cli: MovieCli, *args: str, workflow: str) -> None:
    result = cli.process(*args)
    assert result.code == 1, f"{args}: exit {result.code}\n{result.stdout}\n{result.stderr}"
    error = result.stderr.splitlines()[0]
    assert error.startswith("error: ") and f"movie '{M}' is locked" in error, error
    assert f"durable build {workflow}" in error, error
    assert "submitted by pid" in error and "Traceback" not in result.stderr


def _local_writers(edited: Path) -> list[tuple[str, ...]]:
    return [
        ("build", "run", "--movie", M),
        ("edit", "--movie", M, "--file", str(edited), "--yes"),
        ("gc", "--movie", M),
        ("verify", "--movie", M, "--repair"),
        ("movies", "clean", M, "--yes"),
    ]


def test_a_durable_build_refuses_local_writers_from_submission_to_its_end(
    cli: MovieCli, tmp_path: Path
) -> None:
    define_image_audio(cli, M, 2)
    edited = _edited(cli, tmp_path)
    submitted = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--no-wait", "--json")
    assert submitted.code == 0, submitted.stderr
    workflow = submitted.json()["workflowId"]
    for args in _local_writers(edited):  # queued, no worker yet: already the build's
        _assert_refused(cli, *args, workflow=workflow)
    assert (cli.movie_dir(M) / "movie.json").exists()  # the clean deleted nothing

    # Running, then its worker killed mid-build: still the build's until a worker resumes it.
    worker = cli.spawn("worker", "--id", "w1", mock_options={"hangJobs": [EXPORT]})
    try:
        wait_until(lambda: EXPORT in {c["jobId"] for c in _whole_calls(cli)}, "the export job to start")
        _assert_refused(cli, "build", "run", "--movie", M, workflow=workflow)
    finally:
        worker.kill()
        worker.communicate(timeout=60)
    assert _status(cli)["status"] == "PENDING"
    _assert_refused(cli, "movies", "clean", M, "--yes", workflow=workflow)
    _assert_refused(cli, "edit", "--movie", M, "--file", str(edited), "--yes", workflow=workflow)

    restarted = cli.spawn("worker", "--id", "w1")
    try:
        wait_until(lambda: _status(cli)["status"] == "SUCCESS", "the resumed build to succeed")
    finally:
        restarted.send_signal(signal.SIGINT)
        restarted.communicate(timeout=60)
    assert not (cli.movie_dir(M) / ".locks" / "durable.json").exists()
    assert cli.process("build", "run", "--movie", M).code == 0  # nothing dirty: no error, no lock
    edit = cli.process("edit", "--movie", M, "--file", str(edited), "--yes")
    assert edit.code == 0, edit.stderr
    clean = cli.process("movies", "clean", M, "--yes")
    assert clean.code == 0, clean.stderr
    assert not cli.movie_dir(M).exists()


def test_a_cancelled_durable_build_frees_the_movie(cli: MovieCli) -> None:
    from dbos import DBOSClient

    define_image_audio(cli, M, 1)
    submitted = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--no-wait", "--json")
    assert submitted.code == 0, submitted.stderr
    workflow = submitted.json()["workflowId"]
    _assert_refused(cli, "build", "run", "--movie", M, workflow=workflow)
    client = DBOSClient(system_database_url=f"sqlite:///{cli.root / 'dbos.sqlite'}")
    try:
        client.cancel_workflow(workflow)
    finally:
        client.destroy()
    built = cli.process("build", "run", "--movie", M, "--json")
    assert built.code == 0, built.stderr
    assert built.json()["revision"] == "rev-0001"
    assert not (cli.movie_dir(M) / ".locks" / "durable.json").exists()  # the stale record was cleared


@pytest.mark.slow  # a durable (DBOS) build that fails: ~9 s on 2 busy cores
def test_a_failed_durable_build_frees_the_movie(cli: MovieCli) -> None:
    define_image_audio(cli, M, 1)
    failing = {"failJobs": [EXPORT]}
    failed = cli.process("build", "run", "--movie", M, "--executor", "dbos", mock_options=failing)
    assert failed.code == 1 and "Export.VideoExporter" in failed.stderr
    assert not (cli.movie_dir(M) / ".locks" / "durable.json").exists()
    fixed = cli.process("build", "run", "--movie", M)
    assert fixed.code == 0, fixed.stderr


def test_a_local_build_in_progress_refuses_a_durable_submission(cli: MovieCli) -> None:
    define_image_audio(cli, M, 1)
    holder = cli.spawn("build", "run", "--movie", M, mock_options={"hangJobs": [EXPORT]})
    try:
        wait_until(lambda: EXPORT in {c["jobId"] for c in _whole_calls(cli)}, "the local build's export")
        durable = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--no-wait")
        assert durable.code == 1 and f"movie '{M}' is locked (build) by pid {holder.pid}" in durable.stderr
        assert not (cli.movie_dir(M) / ".locks" / "durable.json").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=60)


# -- the record itself, in process ---------------------------------------------------------------------


@pytest.fixture(params=["local", "memory"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageContext]:
    root = str(tmp_path / "store") if request.param == "local" else f"memory://durable-{uuid.uuid4().hex}"
    context = StorageContext.open(StorageConfig(root=root))
    context.makedirs(context.movie_dir(M))
    durable_lock.set_probe(None)
    yield context
    durable_lock.set_probe(None)


def _holder(ctx: StorageContext, workflow: str) -> DurableHolder:
    return DurableHolder.here(ctx, workflow, "tutopanda build run --movie demo", "sqlite:///x.sqlite")


def test_without_a_probe_a_record_holds_and_its_own_workflow_passes(ctx: StorageContext) -> None:
    durable_lock.claim(ctx, M, _holder(ctx, "wf-1"))
    durable_lock.claim(ctx, M, _holder(ctx, "wf-1"))  # idempotent: joining the same build
    with pytest.raises(LockHeldError, match=r"durable build wf-1 .*database could not be checked"):
        movie_lock(ctx, M, "build").acquire()
    with durable_lock.acting_for("wf-1"), movie_lock(ctx, M, "build") as lock:
        assert lock.is_held
        with movie_lock(ctx, M, "pointer"):  # other locks never look at the record
            pass
    with pytest.raises(LockHeldError, match="durable build wf-1"):
        durable_lock.claim(ctx, M, _holder(ctx, "wf-2"))
    durable_lock.release(ctx, M, "wf-2")  # not the holder: no effect
    assert durable_lock.read_record(ctx, M) == durable_lock.read_record(ctx, M) is not None
    durable_lock.release(ctx, M, "wf-1")
    with movie_lock(ctx, M, "build"):
        pass


def test_a_probe_tells_a_live_build_from_an_ended_one(ctx: StorageContext) -> None:
    ended: set[str] = set()
    durable_lock.set_probe(lambda _ctx, _movie, holder, _age: holder.workflow_id not in ended)
    durable_lock.claim(ctx, M, _holder(ctx, "wf-1"))
    with pytest.raises(LockHeldError, match=r"durable build wf-1 \(submitted by pid"):
        movie_lock(ctx, M, "build").acquire()
    ended.add("wf-1")  # cancelled: its last step never ran
    with movie_lock(ctx, M, "build"):
        assert durable_lock.read_record(ctx, M) is None
    durable_lock.claim(ctx, M, _holder(ctx, "wf-1"))
    durable_lock.claim(ctx, M, _holder(ctx, "wf-2"))  # replaces the stale record
    assert isinstance(holder := durable_lock.read_record(ctx, M), DurableHolder)
    assert holder.workflow_id == "wf-2"


def test_an_unreadable_record_holds_and_names_its_path(ctx: StorageContext) -> None:
    path = durable_lock.record_path(ctx, M)
    ctx.makedirs(path.rsplit("/", 1)[0])
    write_atomic(ctx, path, b"{not json")
    with pytest.raises(LockHeldError, match="record cannot be read") as refused:
        movie_lock(ctx, M, "build").acquire()
    assert "durable.json" in (refused.value.hint or "")


def test_the_probe_reads_a_sqlite_database_read_only(tmp_path: Path) -> None:
    import sqlite3

    from tutopanda.workflow.durable_probe import probe

    ctx = StorageContext.open(StorageConfig(root=str(tmp_path / "store")))
    database = tmp_path / "dbos.sqlite"
    holder = DurableHolder.here(ctx, "wf-1", "tutopanda build run", f"sqlite:///{database}")
    assert probe(ctx, M, holder, 5.0) is False  # no database: nothing can run it
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE workflow_status (workflow_uuid TEXT, status TEXT)")
    assert probe(ctx, M, holder, 5.0) is True  # unknown yet: its submitter may be enqueuing it
    assert probe(ctx, M, holder, 600.0) is False  # unknown long after: its submitter died first
    for status, active in (("ENQUEUED", True), ("PENDING", True), ("SUCCESS", False), ("CANCELLED", False)):
        with sqlite3.connect(database) as connection:
            connection.execute("DELETE FROM workflow_status")
            connection.execute("INSERT INTO workflow_status VALUES ('wf-1', ?)", (status,))
        assert probe(ctx, M, holder, 5.0) is active, status
