"""Acceptance tests of ``tutopanda build`` through the real CLI, with the mock providers.

Provider calls are counted from the mock call log (``TUTOPANDA_MOCK_CALL_LOG``). Builds without mock
knobs run in-process (``main(argv)``); builds that need knobs (latency, injected failures) or signals run
the installed console script as a subprocess. Crash-safety under SIGKILL is in ``test_build_crash.py``.

Which jobs an edit must re-run comes from the blueprint's expanded job graph (``blueprints expand``):
exactly the jobs that consume the edit, directly or transitively. The brief's fixed points are asserted
as well (one narration call, no script call, images only for the edited segment, timeline and export).

The call log has no start/end times, so the concurrency bound is checked in-process through the CLI with
a registered mock handler that counts calls in flight.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.e2e.build_helpers import (
    EXPORT,
    SCRIPT,
    TIMELINE,
    JobGraph,
    MovieCli,
    artefact_events,
    completed_jobs,
    define_image_audio,
    illustrator,
    narrator,
    plan_produces,
    prompt_writer,
    tree_digest,
    wait_for_calls,
)
from tutopanda.core.engine.provider_contract import HandlerLimits, JobContext, JobResult, Mode
from tutopanda.providers.mock import MockHandler
from tutopanda.providers.mock.handler import MOCK_KINDS
from tutopanda.providers.mock.options import MockOptions
from tutopanda.providers.mock.png import write_png
from tutopanda.providers.plugins import default_registry
from tutopanda.providers.registry import HandlerFactory, HandlerSpec

M = "demo"


def build(cli: MovieCli, *extra: str) -> dict[str, Any]:
    """``build run --json`` in-process; exit code 0 required."""
    report: dict[str, Any] = cli.ok("build", "run", "--movie", M, "--json", *extra).json()
    return report


def built_movie(cli: MovieCli, segments: int) -> tuple[JobGraph, dict[str, Any]]:
    """Define and fully build image-audio; returns its job graph and manifest (the call log is reset)."""
    graph = JobGraph.expand(cli, "image-audio", f"NumOfSegments={segments}")
    define_image_audio(cli, M, segments)
    report = build(cli)
    assert report["calls"] == len(graph.ids) == len(cli.calls())
    cli.reset_calls()
    return graph, cli.manifest(M)


def append_artefact(cli: MovieCli, tmp_path: Path, event: dict[str, Any], name: str = "event.json") -> None:
    path = tmp_path / name
    path.write_text(json.dumps(event))
    cli.ok("events:append", "--movie", M, "--type", "artefact", "--file", str(path))


def hashes(manifest: dict[str, Any]) -> dict[str, str]:
    return {artefact_id: entry["hash"] for artefact_id, entry in manifest["artefacts"].items()}


def changed_artefacts(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    old, new = hashes(before), hashes(after)
    assert old.keys() == new.keys()
    return {key for key in new if new[key] != old[key]}


def called(cli: MovieCli) -> list[str]:
    """Job ids called since the last reset, sorted (a job called twice appears twice)."""
    return sorted(call["jobId"] for call in cli.calls())


# -- 1. minimality -------------------------------------------------------------------------------


def test_overriding_one_narration_text_reruns_only_that_segment_and_the_fan_in(
    cli: MovieCli, tmp_path: Path
) -> None:
    graph, before = built_movie(cli, 10)
    edited = "Artifact:Script.NarrationScript[3]"
    text = "Lava is molten rock that reaches the surface; this is segment four, rewritten by hand."
    append_artefact(cli, tmp_path, {"artefactId": edited, "producedBy": SCRIPT, "payload": text})

    report = build(cli)

    expected = graph.downstream({edited})
    assert called(cli) == sorted(expected)
    assert {narrator(3), prompt_writer(3), illustrator(3), TIMELINE, EXPORT} <= expected
    kinds = [call["kind"] for call in cli.calls()]
    assert kinds.count("script") == 0
    assert [c["jobId"] for c in cli.calls() if c["kind"] == "narration"] == [narrator(3)]
    assert [c["jobId"] for c in cli.calls() if c["kind"] == "image"] == [illustrator(3)]
    assert report["jobs"] == {"succeeded": len(expected)} and report["revision"] == "rev-0002"
    after = cli.manifest(M)
    assert after["artefacts"][edited]["hash"] == hashlib.sha256(text.encode()).hexdigest()
    assert changed_artefacts(before, after) == {edited} | graph.outputs(expected)


# -- 2. no-op rebuild ----------------------------------------------------------------------------


def test_a_rebuild_with_nothing_dirty_makes_no_call_and_no_revision(cli: MovieCli) -> None:
    built_movie(cli, 3)
    movie = cli.movie_dir(M)
    manifests, runs = cli.manifests(M), sorted(p.name for p in (movie / "runs").iterdir())
    pointer = (movie / "current.json").read_bytes()

    result = cli.process("build", "run", "--movie", M)  # the console script, as a user types it

    assert result.code == 0, result.stderr
    assert "no new revision" in result.stdout
    assert cli.calls() == []
    assert cli.manifests(M) == manifests == ["rev-0001.json"]
    assert sorted(p.name for p in (movie / "runs").iterdir()) == runs
    assert (movie / "current.json").read_bytes() == pointer


# -- 3. early cutoff -----------------------------------------------------------------------------


def test_forcing_the_script_to_identical_bytes_leaves_everything_downstream_cached(cli: MovieCli) -> None:
    graph, before = built_movie(cli, 10)

    report = build(cli, "--force", SCRIPT)

    assert called(cli) == [SCRIPT]
    assert report["calls"] == 1
    assert report["jobs"] == {"succeeded": 1, "cached": len(graph.ids) - 1}
    record = json.loads((cli.movie_dir(M) / "runs" / f"{report['plannedRevision']}-run.json").read_text())
    statuses = {job["jobId"]: job["status"] for job in record["jobs"]}
    assert statuses.pop(SCRIPT) == "succeeded"
    assert statuses == dict.fromkeys(graph.ids - {SCRIPT}, "cached")
    assert record["totals"]["calls"] == 1
    assert hashes(cli.manifest(M)) == hashes(before)
    assert cli.manifests(M) == ["rev-0001.json"]  # identical content: no new revision


# -- 4. undo -------------------------------------------------------------------------------------


def test_reverting_an_input_edit_rebuilds_with_no_call(cli: MovieCli) -> None:
    graph, before = built_movie(cli, 3)
    cli.ok("storage:init", "--movie", M, "--set", "Style=watercolor")
    build(cli)
    assert called(cli) == sorted(graph.downstream({"Input:Style"}))
    assert {prompt_writer(0), illustrator(2), EXPORT} <= set(called(cli))
    assert not {SCRIPT, narrator(0), narrator(1), narrator(2)} & set(called(cli))
    cli.reset_calls()

    cli.ok("storage:init", "--movie", M, "--set", "Style=illustration")
    undone = build(cli)

    assert cli.calls() == []
    assert undone["calls"] == 0 and undone["status"] == "succeeded"
    assert hashes(cli.manifest(M)) == hashes(before)
    assert cli.manifest(M)["inputs"]["Input:Style"]["digest"] == '"illustration"'


# -- 5. fan-in edit ------------------------------------------------------------------------------


def test_replacing_one_image_by_hand_reruns_only_what_collects_it(cli: MovieCli, tmp_path: Path) -> None:
    graph, before = built_movie(cli, 4)
    edited = "Artifact:Images.SegmentImage[2][0]"
    png = write_png(64, 36, (200, 30, 30), (250, 250, 250), text={"Comment": "drawn by hand"})
    (tmp_path / "hand-drawn.png").write_bytes(png)
    append_artefact(
        cli, tmp_path, {"artefactId": edited, "producedBy": illustrator(2), "path": "hand-drawn.png"}
    )

    report = build(cli)

    expected = graph.downstream({edited})
    assert called(cli) == sorted(expected)
    assert {TIMELINE, EXPORT} <= expected
    assert not {"script", "narration", "image-prompt", "image"} & {call["kind"] for call in cli.calls()}
    assert report["jobs"] == {"succeeded": len(expected)}
    after = cli.manifest(M)
    assert after["artefacts"][edited]["hash"] == hashlib.sha256(png).hexdigest()
    assert after["artefacts"][edited]["blob"]["mimeType"] == "image/png"
    assert changed_artefacts(before, after) == {edited} | graph.outputs(expected)


# -- 6. failure, then retry ----------------------------------------------------------------------


def test_a_failed_job_keeps_what_succeeded_and_the_retry_runs_only_it_and_its_blocked_downstream(
    cli: MovieCli,
) -> None:
    graph = JobGraph.expand(cli, "image-audio", "NumOfSegments=4")
    define_image_audio(cli, M, 4)
    failing = illustrator(1)
    blocked = graph.downstream(graph.outputs({failing}))
    lost = {failing} | blocked

    failed = cli.process("build", "run", "--movie", M, mock_options={"failJobs": [failing]})

    assert failed.code == 1
    assert failed.stderr.startswith("error: ") and "Traceback" not in failed.stderr
    assert f"{len(lost)} job(s) failed" in failed.stderr  # the failed job and those it blocked
    assert f"failed {failing}: mock failure injected" in failed.stdout
    manifest = cli.manifest(M)
    assert manifest["revision"] == "rev-0001"
    assert set(manifest["artefacts"]) == graph.outputs(graph.ids - lost)
    status = cli.ok("build", "status", "--movie", M, "--json").json()
    assert status["runs"] == 1 and status["lastRun"]["status"] == "failed"
    assert {(job["jobId"], job["status"]) for job in status["failedJobs"]} == {(failing, "failed")} | {
        (job, "blocked") for job in blocked
    }
    assert status["artefactsByKind"] == dict(graph.artefact_kinds(graph.ids - lost))
    cli.reset_calls()

    retried = build(cli)

    assert called(cli) == sorted(lost)
    assert retried["jobs"] == {"succeeded": len(lost)}
    assert set(cli.manifest(M)["artefacts"]) == graph.outputs(graph.ids)
    status = cli.ok("build", "status", "--movie", M, "--json").json()
    assert status["runs"] == 2 and status["failedJobs"] == [] and status["lastRun"]["status"] == "succeeded"
    assert status["artefactsByKind"] == dict(graph.artefact_kinds())
    # jobs that called a provider, over both runs: everything once, plus the failed attempt
    assert sum(item["jobs"] for item in status["producers"].values()) == len(graph.ids) + 1


def test_a_failed_build_names_the_failed_job_on_stderr(cli: MovieCli) -> None:
    define_image_audio(cli, M, 2)

    failed = cli.process("build", "run", "--movie", M, "--json", mock_options={"failJobs": [illustrator(1)]})

    assert failed.code == 1
    assert illustrator(1) in failed.stderr


# -- 8. Ctrl-C -----------------------------------------------------------------------------------


def test_ctrl_c_exits_130_keeps_finished_jobs_and_the_next_build_completes(cli: MovieCli) -> None:
    graph = JobGraph.expand(cli, "image-audio", "NumOfSegments=4")
    define_image_audio(cli, M, 4)
    produces = plan_produces(cli.ok("build", "plan", "--movie", M, "--json").json())
    assert set(produces) == graph.ids
    process = cli.spawn("build", "run", "--movie", M, "--json", mock_options={"latency": 0.3})
    # call 6 starts once a layer-1 job has returned: the script (layer 0) is stored by then
    assert wait_for_calls(cli.call_log, 6, process), process.communicate()
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    report = json.loads(stdout)
    assert report["status"] == "interrupted"
    assert report["jobs"].get("succeeded", 0) >= 1
    events = artefact_events((cli.movie_dir(M) / "events" / "artefacts.log").read_bytes())
    kept = completed_jobs(events, produces)
    assert SCRIPT in kept
    record = json.loads((cli.movie_dir(M) / "runs" / f"{report['plannedRevision']}-run.json").read_text())
    assert record["status"] == "interrupted"
    finished = {job["jobId"] for job in record["jobs"] if job["status"] == "succeeded"}
    assert finished <= kept
    assert "Artifact:Script.MovieTitle" in cli.manifest(M)["artefacts"]  # committed on the way out
    cli.reset_calls()

    resumed = build(cli)

    assert called(cli) == sorted(graph.ids - kept)
    assert resumed["status"] == "succeeded"
    assert cli.ok("build", "plan", "--movie", M, "--json").json()["summary"]["dirtyJobs"] == 0


# -- 9. dry run ----------------------------------------------------------------------------------


def test_a_dry_run_reports_the_build_and_leaves_the_movie_byte_for_byte_unchanged(cli: MovieCli) -> None:
    graph, _ = built_movie(cli, 4)
    cli.ok("storage:init", "--movie", M, "--set", "Style=anime")
    dirty = graph.downstream({"Input:Style"})
    before = tree_digest(cli.movie_dir(M))

    report = build(cli, "--dry-run")
    text = cli.ok("build", "run", "--movie", M, "--dry-run")

    assert report["dryRun"] is True and report["status"] == "succeeded"
    assert report["jobs"] == {"succeeded": len(dirty)}
    assert "dry run" in text.stdout and f"{len(dirty)} succeeded" in text.stdout
    assert called(cli) == sorted([*dirty, *dirty])  # both dry runs called the mocks, in scratch copies
    assert tree_digest(cli.movie_dir(M)) == before
    cli.reset_calls()
    assert build(cli)["calls"] == len(dirty)  # nothing of the dry runs leaked into the movie


def test_a_forced_dry_run_leaves_even_the_times_of_the_real_files_alone(cli: MovieCli) -> None:
    graph, _ = built_movie(cli, 2)
    # blobs, manifests and run files are hard-linked into the dry run's copy: one inode, one time
    blobs = sorted(
        path for path in cli.movie_dir(M).rglob("*") if path.is_file() and ".locks" not in path.parts
    )
    times = {path: path.stat().st_mtime_ns for path in blobs}
    for path in blobs:  # back-date them, so a touch within the same clock tick would still show
        os.utime(path, ns=(times[path] - 10**10, times[path] - 10**10))
    before = {path: path.stat().st_mtime_ns for path in blobs}

    forced = [arg for job in sorted(graph.ids) for arg in ("--force", job)]
    build(cli, "--dry-run", *forced)  # every job stores its (identical) blobs again, in the copy

    assert {path: path.stat().st_mtime_ns for path in blobs} == before


def test_a_dry_run_does_not_claim_to_have_committed_a_revision(cli: MovieCli) -> None:
    built_movie(cli, 2)
    cli.ok("storage:init", "--movie", M, "--set", "Style=anime")

    text = cli.ok("build", "run", "--movie", M, "--dry-run")

    assert cli.manifests(M) == ["rev-0001.json"]
    assert "committed rev-0002" not in text.stdout


# -- 10. concurrency -----------------------------------------------------------------------------


class InFlightMock:
    """A mock handler that records how many calls are in flight at once (the call log has no end times)."""

    def __init__(self, inner: MockHandler) -> None:
        self.inner = inner
        self.provider, self.model, self.environment = inner.provider, inner.model, inner.environment
        self.mode: Mode = inner.mode
        self.in_flight = 0
        self.peak = 0
        self.calls: list[str] = []

    @property
    def limits(self) -> HandlerLimits:
        return self.inner.limits

    def estimate_cost(self, kind: str, config: Mapping[str, Any], produces: int) -> float | None:
        return self.inner.estimate_cost(kind, config, produces)

    async def produce(self, context: JobContext) -> JobResult:
        self.calls.append(context.job_id)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            return await self.inner.produce(context)
        finally:
            self.in_flight -= 1


def test_build_run_concurrency_bounds_the_calls_in_flight(cli: MovieCli) -> None:
    graph = JobGraph.expand(cli, "image-audio", "NumOfSegments=40")
    define_image_audio(cli, M, 40)
    handler = InFlightMock(MockHandler(options=MockOptions(latency=0.005)))

    def make(spec: HandlerSpec) -> InFlightMock:  # one handler (one counter) for every provider/model
        return handler

    factory = HandlerFactory("*", "*", "*", "mock", make, kinds=MOCK_KINDS, description="in-flight counter")
    with default_registry().registered(factory):
        report = build(cli, "--concurrency", "3")

    assert sorted(handler.calls) == sorted(graph.ids) and report["calls"] == len(graph.ids)
    assert max(Counter(graph.layers().values()).values()) >= 40
    assert handler.peak == 3  # the 40+ job layers kept 3 calls in flight, and never more


# -- 11. lock ------------------------------------------------------------------------------------


def test_a_second_build_fails_at_once_naming_the_holder_and_a_killed_holder_leaves_no_stale_lock(
    cli: MovieCli,
) -> None:
    graph = JobGraph.expand(cli, "image-audio", "NumOfSegments=4")
    define_image_audio(cli, M, 4)
    first = cli.spawn("build", "run", "--movie", M, mock_options={"latency": 0.3})
    try:
        assert wait_for_calls(cli.call_log, 1, first), first.communicate()

        second = cli.run("build", "run", "--movie", M)

        assert first.poll() is None  # the second build did not wait for the first
        assert second.code == 1
        assert f"pid {first.pid}" in second.stderr and socket.gethostname() in second.stderr
        assert "locked" in second.stderr and "build run --movie demo" in second.stderr
    finally:
        first.kill()
        first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL
    events = artefact_events((cli.movie_dir(M) / "events" / "artefacts.log").read_bytes())
    cli.reset_calls()

    resumed = cli.run("build", "run", "--movie", M, "--json")

    assert resumed.code == 0, resumed.stderr
    done = completed_jobs(events, {job: graph.outputs({job}) for job in graph.ids})
    assert called(cli) == sorted(graph.ids - done)
    assert cli.manifest(M)["artefacts"].keys() == graph.outputs(graph.ids)


# -- 12. plan, status, diff, past revisions ------------------------------------------------------


def test_build_plan_json_lists_dirty_jobs_by_layer_with_reasons_and_saves_the_plan(cli: MovieCli) -> None:
    graph = JobGraph.expand(cli, "image-audio", "NumOfSegments=3")
    define_image_audio(cli, M, 3)

    plan = cli.ok("build", "plan", "--movie", M, "--json").json()

    assert plan["movie"] == M and plan["revision"] == "rev-0001" and plan["baseRevision"] is None
    assert plan["blueprint"] == "image-audio" and plan["forced"] == []
    assert plan["summary"]["totalJobs"] == plan["summary"]["dirtyJobs"] == len(graph.ids)
    assert plan["summary"]["byProducer"] == dict(graph.producer_counts())
    assert plan["summary"]["byReason"] == {"output-missing": 1, "upstream-rebuilding": len(graph.ids) - 1}
    assert plan["summary"]["estimatedCost"] == 0.0
    depth = graph.layers()
    assert [layer["index"] for layer in plan["layers"]] == list(range(max(depth.values()) + 1))
    for layer in plan["layers"]:
        for job in layer["jobs"]:
            assert job["layer"] == layer["index"] == depth[job["jobId"]]
            assert job["produces"] == [a["id"] for a in graph.jobs[job["jobId"]]["produces"]]
            assert job["kind"] == graph.jobs[job["jobId"]]["kind"] and job["estimatedCost"] == 0.0
            assert {"producer", "provider", "model", "reasons"} <= job.keys()
    assert depth[narrator(2)] == depth[prompt_writer(0)] == 1 and depth[illustrator(1)] == 2
    assert depth[TIMELINE] < depth[EXPORT]
    (script,) = plan["layers"][0]["jobs"]
    assert script["jobId"] == SCRIPT and script["reasons"][0]["code"] == "output-missing"
    saved = json.loads((cli.movie_dir(M) / "runs" / "rev-0001-plan.json").read_text())
    assert saved == plan

    build(cli)
    cli.ok("storage:init", "--movie", M, "--set", "Style=watercolor")
    edited = cli.ok("build", "plan", "--movie", M, "--json").json()

    dirty = graph.downstream({"Input:Style"})
    assert edited["revision"] == "rev-0002" and edited["baseRevision"] == "rev-0001"
    assert edited["summary"]["totalJobs"] == len(graph.ids)
    assert edited["summary"]["dirtyJobs"] == len(dirty)
    jobs = {job["jobId"]: job for layer in edited["layers"] for job in layer["jobs"]}
    assert jobs.keys() == dirty
    for job_id, job in jobs.items():
        codes = {reason["code"] for reason in job["reasons"]}
        if graph.upstream[job_id] & dirty:
            assert "upstream-rebuilding" in codes, job
        else:
            assert job["reasons"] == [{"code": "input-changed", "detail": "Input:Style"}], job
    assert {prompt_writer(k) for k in range(3)} <= dirty
    assert edited["layers"][0]["jobs"] == []


def test_status_diff_and_past_revisions_after_an_edit(cli: MovieCli) -> None:
    graph, first = built_movie(cli, 3)
    cli.ok("storage:init", "--movie", M, "--set", "Style=watercolor")
    build(cli)
    rebuilt = graph.downstream({"Input:Style"})

    diff = cli.ok("build", "diff", "--movie", M, "--json").json()

    assert (diff["from"], diff["to"]) == ("rev-0001", "rev-0002")
    assert [change["id"] for change in diff["inputs"]["changed"]] == ["Input:Style"]
    assert diff["inputs"]["added"] == diff["inputs"]["removed"] == []
    assert {change["id"] for change in diff["artefacts"]["changed"]} == graph.outputs(rebuilt)
    assert "Artifact:Images.SegmentImage[1][0]" in graph.outputs(rebuilt)
    assert diff["artefacts"]["added"] == diff["artefacts"]["removed"] == []
    explicit = cli.ok("build", "diff", "--movie", M, "--from", "rev-0002", "--to", "rev-0001", "--json")
    assert [change["id"] for change in explicit.json()["inputs"]["changed"]] == ["Input:Style"]
    assert "no differences" in cli.ok("build", "diff", "--movie", M, "--from", "rev-0002").stdout

    past = cli.manifest(M, "rev-0001")
    assert past["revision"] == "rev-0001" and hashes(past) == hashes(first)
    assert past["inputs"]["Input:Style"]["digest"] == '"illustration"'
    assert cli.manifest(M)["inputs"]["Input:Style"]["digest"] == '"watercolor"'

    status = cli.ok("build", "status", "--movie", M, "--json").json()
    assert status["revision"] == "rev-0002" and status["runs"] == 2 and status["failedJobs"] == []
    assert status["lastRun"] == {"revision": "rev-0002", "status": "succeeded"}
    assert status["artefacts"] == len(graph.outputs(graph.ids))
    assert status["artefactsByKind"] == dict(graph.artefact_kinds())
    assert status["producers"]["Images.Illustrator"]["jobs"] == 3 + 3
    assert status["producers"]["Script.ScriptWriter"]["jobs"] == 1
    assert sum(item["jobs"] for item in status["producers"].values()) == len(graph.ids) + len(rebuilt)
    assert status["totalCost"] == 0.0


# -- a provider refuses the account ----------------------------------------------------------------


def test_an_account_error_stops_the_run_keeps_what_finished_and_the_next_run_completes(
    cli: MovieCli,
) -> None:
    define_image_audio(cli, M, 3)
    refused = narrator(0)
    stopped = cli.process(
        "build", "run", "--movie", M, "--concurrency", "1", mock_options={"accountErrorJobs": [refused]}
    )

    assert stopped.code == 1
    assert stopped.stderr.startswith("error: the build stopped: local refused the account (mock account")
    assert "remove the job from TUTOPANDA_MOCK_OPTIONS accountErrorJobs; then run" in stopped.stderr
    calls = [call["jobId"] for call in cli.calls()]
    assert calls.count(refused) == 1  # never retried
    assert calls[-1] == refused  # and no job waiting for a slot started after the refusal
    kept = cli.manifest(M)["artefacts"]
    assert "Artifact:Script.MovieTitle" in kept  # layer 0 finished before the refusal and is kept
    not_started = {
        job["jobId"] for job in cli.ok("build", "status", "--movie", M, "--json").json()["failedJobs"]
    }
    assert narrator(2) in not_started and "Producer:Export.VideoExporter" in not_started

    cli.reset_calls()
    cli.ok("build", "run", "--movie", M)
    again = {call["jobId"] for call in cli.calls()}
    assert "Producer:Script.ScriptWriter" not in again and refused in again
