"""The runner's store batches (several jobs' results stored together, their events in one append):
what a failure inside a batch does to the other jobs of it, and what an interrupted run reports."""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tutopanda.core.engine import runner as runner_module
from tutopanda.core.engine.build import PreparedBuild, prepare
from tutopanda.core.engine.provider_contract import EnvSecretResolver, JobResult, ProducedArtefact
from tutopanda.core.engine.runner import Runner, RunOptions, _ToStore
from tutopanda.core.errors import StorageError
from tutopanda.core.movie.definition import define_movie
from tutopanda.core.store.backends import held_folder
from tutopanda.core.store.event_log import artefact_log
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.movie_store import MovieStore
from tutopanda.core.store.storage import StorageContext

from .conftest import BuildFn, RecordingHandler


@pytest.fixture
def backend() -> str:
    return "local"  # held folders, folder fsyncs and signals: the local disk's


def _runner(ctx: StorageContext, movie: str, handler: RecordingHandler) -> tuple[Runner, PreparedBuild]:
    """A runner for the defined movie's plan, to call its store directly (no run around it)."""
    prepared = prepare(MovieStore.open(ctx, movie), mode="mock")
    runner = Runner(
        store=prepared.store,
        plan=prepared.plan,
        state=prepared.state,
        values=prepared.movie.input_values(),
        resolver=lambda provider, model, kind: handler,  # type: ignore[arg-type,return-value]
        options=RunOptions(mode="mock"),
        secrets=EnvSecretResolver({}),
    )
    return runner, prepared


def test_a_malformed_result_fails_its_own_job_and_the_rest_of_its_batch_is_recorded(
    ctx: StorageContext, movie: str, handler: RecordingHandler, tmp_path: Path
) -> None:
    define_movie(ctx, movie, blueprint="audio-only", values={"NumOfSegments": 3})
    runner, prepared = _runner(ctx, movie, handler)
    jobs = [planned.job for planned in prepared.plan.jobs][:4]

    handed_over = tmp_path / "a file the runner owns.bin"
    handed_over.write_bytes(b"downloaded")

    def result(job: Any, broken: bool) -> JobResult:
        if broken:  # diagnostics must be a mapping; its file is the runner's to delete all the same
            artefacts = [
                ProducedArtefact(a.id, mime_type="text/plain", file=handed_over) for a in job.produces
            ]
            return JobResult(artefacts, diagnostics=None)  # type: ignore[arg-type]
        artefacts = [ProducedArtefact(a.id, mime_type="text/plain", data=a.id.encode()) for a in job.produces]
        return JobResult(artefacts, diagnostics={})

    batch = [_ToStore(job, handler, "0" * 64, result(job, index == 1)) for index, job in enumerate(jobs)]  # type: ignore[arg-type]
    outcomes = runner._store_many(batch)
    assert all(isinstance(outcome, list) and outcome for outcome in outcomes)  # nobody gets an exception
    broken = outcomes[1]
    assert isinstance(broken, list) and {event.status for event in broken} == {"failed"}
    assert "TypeError" in broken[0].diagnostics["error"]["message"]
    assert not handed_over.exists()
    recorded = {event.produced_by: event.status for event in artefact_log(ctx, movie)}
    assert recorded == {
        jobs[0].id: "succeeded",
        jobs[1].id: "failed",
        jobs[2].id: "succeeded",
        jobs[3].id: "succeeded",
    }


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="finds a folder's name by /proc/self/fd")
def test_a_blob_folder_not_made_durable_is_never_named_by_an_event(
    ctx: StorageContext, movie: str, build: BuildFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    define_movie(ctx, movie, blueprint="audio-only", values={"NumOfSegments": 2})
    real_sync = held_folder.sync_folder_fd
    failed: list[str] = []

    def failing_once(fd: int) -> None:
        folder = Path(f"/proc/self/fd/{fd}").readlink()
        if folder.parent.name == "blobs" and len(folder.name) == 2 and not failed:
            failed.append(folder.name)  # the first shard folder fsynced: an I/O error
            raise OSError(errno.EIO, "Input/output error")
        real_sync(fd)

    monkeypatch.setattr(held_folder, "sync_folder_fd", failing_once)
    with pytest.raises(StorageError):
        build(movie)
    assert failed, "no shard folder was fsynced"
    named = [
        event.artefact_id
        for event in artefact_log(ctx, movie)
        if event.status == "succeeded" and event.blob is not None and event.blob.hash[:2] == failed[0]
    ]
    assert named == []
    assert any(event.status == "succeeded" for event in artefact_log(ctx, movie))  # the others are kept


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to ourselves")
def test_results_stored_after_ctrl_c_are_reported_as_succeeded(
    ctx: StorageContext, movie: str, build: BuildFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A result handed over is stored even when its job is cancelled; the run record says so."""
    define_movie(ctx, movie, blueprint="audio-only", values={"NumOfSegments": 6})
    real = Runner._store_many
    interrupted = threading.Event()

    def interrupt_then_store(self: Runner, results: list[_ToStore]) -> Any:
        if any(item.job.kind == "narration" for item in results) and not interrupted.is_set():
            interrupted.set()
            os.kill(os.getpid(), signal.SIGINT)  # the narrations' stores wait behind this one
        return real(self, results)

    monkeypatch.setattr(runner_module.Runner, "_store_many", interrupt_then_store)
    report = build(movie, concurrency=8)
    assert report.interrupted
    committed = ManifestStore(ctx, movie).load_current().artefacts
    for outcome in report.outcomes:
        if outcome.artefacts and all(artefact in committed for artefact in outcome.artefacts):
            assert outcome.status == "succeeded", outcome
    stored_jobs = {event.produced_by for event in artefact_log(ctx, movie) if event.status == "succeeded"}
    statuses = {outcome.job_id: outcome.status for outcome in report.outcomes}
    assert all(statuses[job_id] == "succeeded" for job_id in stored_jobs)


def test_how_many_jobs_wait_behind_each_does_not_depend_on_the_plan_order() -> None:
    """A durable batch's plan is one layer in its caller's order: followers may come first."""
    from types import SimpleNamespace

    from tutopanda.core.engine.runner import _chain_lengths

    def planned(job_id: str) -> Any:
        return SimpleNamespace(job=SimpleNamespace(id=job_id))

    followers = {"script": [planned("voice"), planned("timeline")], "voice": [planned("timeline")]}
    expected = {"script": 2, "voice": 1, "timeline": 0}
    assert _chain_lengths(["script", "voice", "timeline"], followers) == expected
    assert _chain_lengths(["timeline", "voice", "script"], followers) == expected


def test_a_job_whose_store_failed_part_way_is_recorded_as_failed_with_what_it_stored(
    ctx: StorageContext, movie: str, build: BuildFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its first outputs are committed; the run record must not say the job never ran."""
    from tutopanda.core.store.run_record import list_run_records

    real = Runner._store_one
    seen: list[str] = []

    def disk_full_after_one(self: Runner, job: Any, *args: Any, **kwargs: Any) -> Any:
        if job.kind == "script":
            seen.append(job.id)
            if len(seen) > 1:
                raise StorageError("disk full writing a blob", "free some disk space, then run it again")
        return real(self, job, *args, **kwargs)

    monkeypatch.setattr(runner_module.Runner, "_store_one", disk_full_after_one)
    define_movie(ctx, movie, blueprint="audio-only", values={"NumOfSegments": 2})
    with pytest.raises(StorageError, match="disk full"):
        build(movie)
    committed = ManifestStore(ctx, movie).load_current().artefacts
    record = list_run_records(ctx, movie)[-1]
    script = next(job for job in record["jobs"] if job["jobId"].endswith("ScriptWriter"))
    assert script["status"] == "failed" and "disk full" in script["error"]
    assert len(script["artefacts"]) == 1 and script["artefacts"][0] in committed


def test_a_jobs_own_storage_error_is_not_replaced_by_a_folder_error_of_its_batch(
    ctx: StorageContext, movie: str, handler: RecordingHandler, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tutopanda.core.store.backends import local_disk

    define_movie(ctx, movie, blueprint="audio-only", values={"NumOfSegments": 2})
    runner, prepared = _runner(ctx, movie, handler)
    first = next(planned.job for planned in prepared.plan.jobs if planned.job.kind == "script")
    second = next(planned.job for planned in prepared.plan.jobs if len(planned.job.produces) == 1)
    real_store_one, real_sync = Runner._store_one, local_disk.fsync_directory
    calls: list[str] = []

    def disk_full_after_one(self: Runner, job: Any, *args: Any, **kwargs: Any) -> Any:
        if job.id == first.id:
            calls.append(job.id)
            if len(calls) > 1:  # its first blob is stored (in a folder whose fsync will fail)
                raise StorageError("disk full writing a blob", "free some disk space, then run it again")
        return real_store_one(self, job, *args, **kwargs)

    def shard_folders_fail(directory: str) -> None:
        if Path(directory).parent.name == "blobs" and len(Path(directory).name) == 2:
            raise OSError(errno.EIO, "Input/output error")
        real_sync(directory)

    monkeypatch.setattr(runner_module.Runner, "_store_one", disk_full_after_one)
    monkeypatch.setattr(local_disk, "fsync_directory", shard_folders_fail)

    def result(job: Any) -> JobResult:
        return JobResult(
            [ProducedArtefact(a.id, mime_type="text/plain", data=a.id.encode()) for a in job.produces]
        )

    outcomes = runner._store_many([_ToStore(job, handler, "0" * 64, result(job)) for job in (first, second)])  # type: ignore[arg-type]
    assert isinstance(outcomes[0], StorageError) and "disk full" in str(outcomes[0])
    assert isinstance(outcomes[1], StorageError) and "durable" in str(outcomes[1])
    assert list(artefact_log(ctx, movie)) == []  # every blob stored is in a folder not made durable
