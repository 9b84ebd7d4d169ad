"""Fault: a provider that hangs (never answers).

The runner gives each call a deadline (config ``jobTimeoutSeconds``, else ``RunOptions.job_timeout``).
When it passes, the call is cancelled and its job fails with a message naming the deadline; the other
jobs finish and are recorded, what depends on the hung job is blocked, the build commits what it made
and exits 1 — and the next build, once the provider answers again, runs only the hung job and what
depends on it. A call stuck in blocking code (a thread, which Python cannot stop) is abandoned rather
than waited for, so the build still commits and the process still exits.

Engine tests drive ``run_build`` with an in-process handler (hangs are released or cancelled by the
test); the CLI tests run the real console script with the mock's ``hangJobs`` knob.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.build_helpers import (
    JobGraph,
    MovieCli,
    artefact_events,
    check_current_pointer,
    completed_jobs,
    define_image_audio,
    illustrator,
    plan_produces,
)
from tutopanda.core.engine.build import BuildReport, plan_build, prepare_build, run_build
from tutopanda.core.engine.provider_contract import (
    EnvSecretResolver,
    HandlerLimits,
    JobContext,
    JobResult,
    ProducedArtefact,
)
from tutopanda.core.engine.runner import DEFAULT_JOB_TIMEOUT, RunOptions, call_deadline, stuck_threads
from tutopanda.core.errors import ProviderConfigError
from tutopanda.core.movie.definition import define_movie
from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.event_log import artefact_log
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.movie_paths import init_movie
from tutopanda.core.store.run_record import load_run_record
from tutopanda.core.store.storage import StorageConfig, StorageContext

MOVIE = "hang"
HUNG = "Producer:Images.Illustrator[1][0]"
HUNG_ARTEFACT = "Artifact:Images.SegmentImage[1][0]"
DEADLINE = 0.2  # seconds: how long the tests wait for a hung call

_MIME = {"text": "text/plain", "json": "application/json", "image": "image/png", "audio": "audio/wav"}


@dataclass
class HangingHandler:
    """Answers every job at once, except the jobs in ``hang``: those never answer.

    ``in_thread``: the hang blocks a worker thread (like blocking code without a timeout) until the
    test sets ``release``; otherwise it waits in asyncio, and ``cancelled`` records the calls the
    runner cancelled.
    """

    hang: set[str] = field(default_factory=set)
    in_thread: bool = False
    provider: str = "test"
    model: str = "test-model"
    mode: str = "mock"
    environment: str = "local"
    calls: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    own_timeout: set[str] = field(default_factory=set)

    @property
    def limits(self) -> HandlerLimits:
        return HandlerLimits(key="test")

    def estimate_cost(self, kind: str, config: Mapping[str, Any], produces: int) -> float | None:
        return 0.0

    async def produce(self, context: JobContext) -> JobResult:
        self.calls.append(context.job_id)
        if context.job_id in self.own_timeout:
            raise TimeoutError("the SDK's socket timed out")
        if context.job_id in self.hang:
            if self.in_thread:
                await asyncio.to_thread(self.release.wait)
            else:
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    self.cancelled.append(context.job_id)
                    raise
        artefacts = [
            ProducedArtefact(
                artefact_id,
                mime_type=_MIME.get(kind, "video/mp4"),
                data=b'{"id": "%s"}' % artefact_id.encode() if kind == "json" else artefact_id.encode(),
            )
            for artefact_id, kind in context.produces
        ]
        return JobResult(artefacts, cost=0.0)


@pytest.fixture
def ctx(tmp_path: Path) -> StorageContext:
    return StorageContext.open(StorageConfig(str(tmp_path / "store")))


def define(ctx: StorageContext, config: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """image-audio, 3 segments x 1 image; ``config`` per module (e.g. the Images deadline)."""
    init_movie(ctx, MOVIE)
    define_movie(ctx, MOVIE, blueprint="image-audio", values={"NumOfSegments": 3}, config=config)


def build(ctx: StorageContext, handler: HangingHandler, **options: Any) -> BuildReport:
    handler.calls.clear()
    return run_build(
        ctx,
        MOVIE,
        resolver=lambda provider, model, kind: handler,  # type: ignore[arg-type,return-value]
        options=RunOptions(mode="mock", backoff_base=0.001, **options),
        secrets=EnvSecretResolver({}),
    )


def downstream(ctx: StorageContext, job_id: str) -> set[str]:
    """Every job that consumes ``job_id``'s outputs, directly or not."""
    graph = prepare_build(ctx, MOVIE).movie.graph
    found: set[str] = set()
    frontier = {job_id}
    while frontier:
        frontier = {target for source, target in graph.edges if source in frontier} - found
        found |= frontier
    return found


def statuses(report: BuildReport) -> dict[str, str]:
    return {outcome.job_id: outcome.status for outcome in report.outcomes}


# -- the engine --------------------------------------------------------------------------------------


def test_a_hung_call_times_out_alone_the_rest_is_kept_and_the_next_build_runs_only_what_it_missed(
    ctx: StorageContext,
) -> None:
    define(ctx, {"Images": {"jobTimeoutSeconds": DEADLINE}})
    handler = HangingHandler(hang={HUNG})
    blocked = downstream(ctx, HUNG)
    assert blocked  # its clip, the timeline, the export

    report = build(ctx, handler)

    hung = next(outcome for outcome in report.outcomes if outcome.job_id == HUNG)
    assert hung.status == "failed"
    assert hung.error is not None
    assert "timed out" in hung.error and f"{DEADLINE:g} s" in hung.error and "jobTimeoutSeconds" in hung.error
    assert hung.attempts == 1  # not retried: the next build retries it
    assert handler.cancelled == [HUNG]  # the handler saw the cancellation (a live call cancels upstream)
    assert {job for job, status in statuses(report).items() if status == "blocked"} == blocked
    finished = set(statuses(report)) - blocked - {HUNG}
    assert all(statuses(report)[job] == "succeeded" for job in finished)
    # every finished job's outputs are in the event log with their blobs, and committed
    events = list(artefact_log(ctx, MOVIE))
    blobs = BlobStore(ctx, MOVIE)
    succeeded = {event.produced_by for event in events if event.status == "succeeded"}
    assert succeeded == finished
    assert all(blobs.exists(event.blob) for event in events if event.blob is not None)
    failed = [event for event in events if event.status == "failed"]
    assert [event.artefact_id for event in failed] == [HUNG_ARTEFACT]
    assert "timed out" in failed[0].diagnostics["error"]["message"]
    manifest = ManifestStore(ctx, MOVIE).load_current()
    assert report.revision == manifest.revision == "rev-0001"
    assert HUNG_ARTEFACT not in manifest.artefacts
    assert {entry.produced_by for entry in manifest.artefacts.values()} == finished
    record = load_run_record(ctx, MOVIE, "rev-0001")
    assert record is not None and record["status"] == "failed"

    handler.hang.clear()  # the provider answers again
    rerun = build(ctx, handler)

    assert sorted(handler.calls) == sorted({HUNG} | blocked)
    assert not rerun.failed
    assert plan_build(ctx, MOVIE, save=False, mode="mock").is_empty


@pytest.fixture
def released() -> Iterator[HangingHandler]:
    """A handler whose hangs block a thread; the thread is released when the test ends."""
    handler = HangingHandler(hang={HUNG}, in_thread=True)
    yield handler
    handler.release.set()
    assert stuck_threads(wait=10.0) == []


def test_a_call_stuck_in_a_thread_is_abandoned_at_its_deadline_and_the_build_still_commits(
    ctx: StorageContext, released: HangingHandler
) -> None:
    define(ctx, {"Images": {"jobTimeoutSeconds": DEADLINE}})

    report = build(ctx, released)  # returns although the thread still blocks

    assert statuses(report)[HUNG] == "failed"
    assert report.revision == "rev-0001"
    assert len(stuck_threads()) == 1  # the CLI leaves without joining it (see the CLI test below)
    released.release.set()
    assert stuck_threads(wait=10.0) == []


@pytest.mark.parametrize(
    ("config", "default", "shown"),
    [
        (None, DEADLINE, DEADLINE),  # RunOptions.job_timeout when the config says nothing
        ({"Images": {"jobTimeoutSeconds": 0.25}}, DEFAULT_JOB_TIMEOUT, 0.25),  # the config wins
    ],
)
def test_the_deadline_comes_from_the_jobs_config_else_the_run_options(
    ctx: StorageContext, config: Mapping[str, Mapping[str, Any]] | None, default: float, shown: float
) -> None:
    define(ctx, config)
    handler = HangingHandler(hang={HUNG})

    report = build(ctx, handler, job_timeout=default)

    hung = next(outcome for outcome in report.outcomes if outcome.job_id == HUNG)
    assert hung.status == "failed" and f"no result after {shown:g} s" in str(hung.error)


def test_the_default_deadline_leaves_room_for_a_handlers_own_timeout() -> None:
    assert call_deadline({}, DEFAULT_JOB_TIMEOUT, "job") == DEFAULT_JOB_TIMEOUT
    assert call_deadline({}, None, "job") is None
    assert call_deadline({"timeoutSeconds": 300}, DEFAULT_JOB_TIMEOUT, "job") == DEFAULT_JOB_TIMEOUT
    assert call_deadline({"timeoutSeconds": 5000}, DEFAULT_JOB_TIMEOUT, "job") == 10000
    assert call_deadline({"timeoutSeconds": 5000, "jobTimeoutSeconds": 60}, None, "job") == 60


@pytest.mark.parametrize("value", ["soon", 0, -1, True, None])
def test_a_bad_job_timeout_is_refused_before_any_call(ctx: StorageContext, value: object) -> None:
    define(ctx, {"Images": {"jobTimeoutSeconds": value}})
    handler = HangingHandler()

    with pytest.raises(ProviderConfigError, match="jobTimeoutSeconds"):
        build(ctx, handler)

    assert handler.calls == []


def test_tuning_the_job_timeout_never_reruns_a_job(ctx: StorageContext) -> None:
    define(ctx, {"Images": {"jobTimeoutSeconds": 600}})
    build(ctx, HangingHandler())

    define_movie(ctx, MOVIE, blueprint=None, values={}, config={"Images": {"jobTimeoutSeconds": 60}})

    assert plan_build(ctx, MOVIE, save=False, mode="mock").is_empty


def test_a_handlers_own_timeout_error_is_an_ordinary_failure_not_the_deadline(ctx: StorageContext) -> None:
    define(ctx, {"Images": {"jobTimeoutSeconds": 60}})

    report = build(ctx, HangingHandler(own_timeout={HUNG}))

    hung = next(outcome for outcome in report.outcomes if outcome.job_id == HUNG)
    assert hung.status == "failed"
    assert hung.error == "TimeoutError: the SDK's socket timed out"


# -- the CLI -----------------------------------------------------------------------------------------


def test_build_run_with_a_provider_hung_in_blocking_code_exits_1_with_one_clear_error_and_keeps_the_rest(
    cli: MovieCli,
) -> None:
    """The hang blocks a thread (cancellation cannot stop it): the process still reports and exits."""
    define_image_audio(cli, MOVIE, 3)
    store = StorageContext.open(StorageConfig(str(cli.root)))
    define_movie(store, MOVIE, blueprint=None, values={}, config={"Images": {"jobTimeoutSeconds": 0.5}})
    produces = plan_produces(cli.ok("build", "plan", "--movie", MOVIE, "--json").json())
    graph = JobGraph.expand(cli, "image-audio", "NumOfSegments=3")
    blocked = graph.downstream(graph.outputs({illustrator(1)}))
    knobs = {"hangJobs": [illustrator(1)], "hangInThread": True}

    hung = cli.process("build", "run", "--movie", MOVIE, "--json", mock_options=knobs)

    assert hung.code == 1, hung.stderr
    lines = hung.stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == ["error", "hint"], hung.stderr
    assert illustrator(1) in lines[0] and "timed out: no result after 0.5 s" in lines[0]
    report = json.loads(hung.stdout)
    assert report["status"] == "failed"
    assert {job["jobId"] for job in report["failed"]} == {illustrator(1)} | blocked
    kept = completed_jobs(
        artefact_events((cli.movie_dir(MOVIE) / "events/artefacts.log").read_bytes()), produces
    )
    assert kept == set(produces) - {illustrator(1)} - blocked
    check_current_pointer(cli.movie_dir(MOVIE))
    cli.reset_calls()

    rerun = cli.run("build", "run", "--movie", MOVIE, "--json")  # the provider answers again

    assert rerun.code == 0, rerun.stderr
    assert sorted(call["jobId"] for call in cli.calls()) == sorted({illustrator(1)} | blocked)
