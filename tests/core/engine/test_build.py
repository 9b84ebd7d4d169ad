"""The build loop through the engine API: minimality, no-op, early cutoff, undo, fan-in, failures."""

from __future__ import annotations

import json

import pytest

from tests.core.engine.conftest import BuildFn, RecordingHandler
from tutopanda.core.engine.build import plan_build
from tutopanda.core.errors import LockHeldError
from tutopanda.core.movie.definition import define_movie
from tutopanda.core.movie.event_import import append_artefact_records
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.plan_store import PlanStore
from tutopanda.core.store.run_record import load_run_record
from tutopanda.core.store.storage import StorageContext

# script, narration, image prompts, images, music prompt, music, segment clips, timeline, export
JOBS_3x2 = 1 + 3 + 3 + 6 + 1 + 1 + 3 + 1 + 1


def _replace_text(ctx: StorageContext, movie: str, artefact_id: str, producer: str, text: str) -> None:
    from pathlib import Path

    append_artefact_records(
        ctx,
        movie,
        [{"artefactId": artefact_id, "producedBy": producer, "payload": text}],
        base_dir=Path(),
        source="test",
    )


def test_first_build_runs_every_job_and_commits_rev_0001(
    ctx: StorageContext, image_movie: str, build: BuildFn, handler: RecordingHandler
) -> None:
    report = build(image_movie)
    assert len(handler.calls) == JOBS_3x2
    assert report.revision == "rev-0001"
    assert not report.failed
    manifest = ManifestStore(ctx, image_movie).load_current()
    assert manifest.revision == "rev-0001"
    # script: title, summary, 3 narrations; export: the MP4 and two subtitle files
    assert len(manifest.artefacts) == 5 + 3 + 6 + 6 + 1 + 1 + 3 + 1 + 3
    assert PlanStore(ctx, image_movie).exists("rev-0001")
    record = load_run_record(ctx, image_movie, "rev-0001")
    assert record is not None
    assert record["totals"]["succeeded"] == JOBS_3x2
    assert record["totals"]["calls"] == JOBS_3x2


def test_no_op_rebuild_makes_no_call_and_no_revision(
    ctx: StorageContext, image_movie: str, build: BuildFn, handler: RecordingHandler
) -> None:
    build(image_movie)
    report = build(image_movie)
    assert handler.calls == []
    assert report.revision is None
    assert ManifestStore(ctx, image_movie).list_revisions() == ["rev-0001"]
    assert plan_build(ctx, image_movie, save=False, mode="mock").is_empty


def test_editing_one_segment_narration_reruns_only_what_depends_on_it(
    ctx: StorageContext, image_movie: str, build: BuildFn, handler: RecordingHandler
) -> None:
    build(image_movie)
    _replace_text(
        ctx, image_movie, "Artifact:Script.NarrationScript[1]", "Producer:Script.ScriptWriter", "New text"
    )
    plan = plan_build(ctx, image_movie, save=False, mode="mock")
    dirty = {planned.job.id for planned in plan.jobs}
    assert "Producer:Script.ScriptWriter" not in dirty
    assert {"Producer:Narration.Narrator[1]", "Producer:ImagePrompts.ImagePromptWriter[1]"} <= dirty
    assert "Producer:Narration.Narrator[0]" not in dirty
    report = build(image_movie)
    assert handler.count("Narrator") == 1
    assert handler.count("Narrator[1]") == 1
    assert handler.count("ImagePromptWriter") == 1
    assert handler.count("Illustrator[0]") == 0 and handler.count("Illustrator[2]") == 0
    assert handler.count("Illustrator[1]") == 2
    assert handler.count("SegmentRenderer") == 1 and handler.count("SegmentRenderer[1]") == 1
    assert handler.count("TimelineComposer") == 1 and handler.count("VideoExporter") == 1
    assert handler.count("MusicPromptWriter") == 1  # it reads every narration text
    assert handler.count("ScriptWriter") == 0
    assert report.revision == "rev-0002"


def test_early_cutoff_when_an_upstream_rebuilds_to_identical_bytes(
    ctx: StorageContext, image_movie: str, build: BuildFn, handler: RecordingHandler
) -> None:
    build(image_movie)
    report = build(image_movie, forced=["Producer:Script.ScriptWriter"])
    assert handler.calls == ["Producer:Script.ScriptWriter"]
    statuses = {outcome.job_id: outcome.status for outcome in report.outcomes}
    assert statuses["Producer:Narration.Narrator[0]"] == "cached"
    assert statuses["Producer:Export.VideoExporter"] == "cached"


def test_a_changed_upstream_output_does_dirty_downstream(
    ctx: StorageContext, image_movie: str, build: BuildFn, handler: RecordingHandler
) -> None:
    build(image_movie)
    handler.salt["Artifact:Script.MovieSummary"] = "different bytes this time"
    build(image_movie, forced=["Producer:Script.ScriptWriter"])
    assert handler.count("ImagePromptWriter") == 3  # they consume MovieSummary
    assert handler.count("MusicPromptWriter") == 1  # so does the music prompt
    assert handler.count("Narrator") == 0  # narration does not
    assert handler.count("Illustrator") == 6


def test_undo_of_an_input_edit_makes_no_call(
    ctx: StorageContext, image_movie: str, build: BuildFn, handler: RecordingHandler
) -> None:
    build(image_movie)
    define_movie(ctx, image_movie, blueprint=None, values={"Style": "watercolor"})
    build(image_movie)
    assert handler.count("ImagePromptWriter") == 3
    define_movie(ctx, image_movie, blueprint=None, values={"Style": "illustration"})
    report = build(image_movie)
    assert handler.calls == []
    assert report.revision == "rev-0003"  # a new revision records the reverted inputs...
    store = ManifestStore(ctx, image_movie)
    first, third = store.load_revision("rev-0001"), store.load_revision("rev-0003")
    assert {k: v.hash for k, v in third.artefacts.items()} == {k: v.hash for k, v in first.artefacts.items()}


def test_a_fan_in_member_change_dirties_its_consumer(
    ctx: StorageContext, image_movie: str, build: BuildFn, handler: RecordingHandler
) -> None:
    build(image_movie)
    _replace_text(
        ctx, image_movie, "Artifact:Images.SegmentImage[2][1]", "Producer:Images.Illustrator[2][1]", "x"
    )
    plan = plan_build(ctx, image_movie, save=False, mode="mock")
    assert [planned.job.id for planned in plan.jobs] == [
        "Producer:Clips.SegmentRenderer[2]",
        "Producer:Timeline.TimelineComposer",
        "Producer:Export.VideoExporter",
    ]
    reasons = plan.jobs[0].reasons
    assert reasons[0].code == "upstream-changed"
    assert reasons[0].detail == "Artifact:Images.SegmentImage[2][1]"


def test_a_failure_keeps_what_succeeded_exits_failed_and_only_it_is_retried(
    ctx: StorageContext, image_movie: str, build: BuildFn, handler: RecordingHandler
) -> None:
    handler.fail["Producer:Images.Illustrator[1][0]"] = 1
    report = build(image_movie)
    failed = {outcome.job_id: outcome.status for outcome in report.failed}
    assert failed == {
        "Producer:Images.Illustrator[1][0]": "failed",
        "Producer:Clips.SegmentRenderer[1]": "blocked",
        "Producer:Timeline.TimelineComposer": "blocked",
        "Producer:Export.VideoExporter": "blocked",
    }
    manifest = ManifestStore(ctx, image_movie).load_current()
    assert "Artifact:Images.SegmentImage[0][0]" in manifest.artefacts
    assert "Artifact:Images.SegmentImage[1][0]" not in manifest.artefacts
    plan = plan_build(ctx, image_movie, save=False, mode="mock")
    first = plan.jobs[0]
    assert first.job.id == "Producer:Images.Illustrator[1][0]"
    assert first.reasons[0].code == "last-attempt-failed"
    assert "injected failure" in first.reasons[0].detail
    retry = build(image_movie)
    assert sorted(handler.calls) == sorted(failed)
    assert not retry.failed


def test_retryable_errors_are_retried_with_backoff(
    ctx: StorageContext, image_movie: str, build: BuildFn, handler: RecordingHandler
) -> None:
    handler.retryable = True
    handler.fail["Producer:Script.ScriptWriter"] = 2
    report = build(image_movie)
    assert not report.failed
    script = next(o for o in report.outcomes if o.job_id == "Producer:Script.ScriptWriter")
    assert script.attempts == 3


def test_retries_stop_after_max_attempts(
    ctx: StorageContext, image_movie: str, build: BuildFn, handler: RecordingHandler
) -> None:
    handler.retryable = True
    handler.fail["Producer:Script.ScriptWriter"] = 5
    report = build(image_movie, max_attempts=3)
    script = next(o for o in report.outcomes if o.job_id == "Producer:Script.ScriptWriter")
    assert (script.status, script.attempts) == ("failed", 3)
    assert all(o.status == "blocked" for o in report.outcomes if o.job_id != script.job_id)


def test_up_to_layer_stops_and_the_next_build_continues(
    ctx: StorageContext, image_movie: str, build: BuildFn, handler: RecordingHandler
) -> None:
    first = build(image_movie, up_to_layer=1)
    assert handler.count("Illustrator") == 0
    assert handler.count("Narrator") == 3
    assert first.revision == "rev-0001"
    build(image_movie)
    assert handler.count("Narrator") == 0
    assert handler.count("Illustrator") == 6


def test_concurrency_limit_is_never_exceeded(
    ctx: StorageContext, movie: str, build: BuildFn, handler: RecordingHandler
) -> None:
    define_movie(ctx, movie, blueprint="image-audio", values={"NumOfSegments": 40})
    handler.latency = 0.002
    build(movie, concurrency=5)
    assert handler.max_in_flight == 5


def test_per_provider_in_flight_limit(
    ctx: StorageContext, movie: str, build: BuildFn, handler: RecordingHandler
) -> None:
    from tutopanda.core.engine.provider_contract import HandlerLimits

    define_movie(ctx, movie, blueprint="image-audio", values={"NumOfSegments": 12})
    handler.latency = 0.002
    handler.handler_limits = HandlerLimits(key="test", max_in_flight=2)
    build(movie, concurrency=8)
    assert handler.max_in_flight == 2


def test_a_second_build_fails_at_once_naming_the_holder(
    ctx: StorageContext, image_movie: str, build: BuildFn
) -> None:
    holder = movie_lock(ctx, image_movie, "build", command="tutopanda build run --movie demo")
    with holder, pytest.raises(LockHeldError) as caught:
        build(image_movie)
    assert "pid" in caught.value.message


def test_plan_is_saved_with_reasons_and_cost(ctx: StorageContext, image_movie: str) -> None:
    plan = plan_build(ctx, image_movie, resolver=lambda p, m, k: RecordingHandler(), mode="mock")  # type: ignore[arg-type,return-value]
    saved = PlanStore(ctx, image_movie).load(plan.revision)
    assert saved["summary"]["dirtyJobs"] == JOBS_3x2
    assert saved["summary"]["estimatedCost"] == pytest.approx(0.01 * 29)  # 0.01 per produced artefact
    first = saved["layers"][0]["jobs"][0]
    assert first["jobId"] == "Producer:Script.ScriptWriter"
    assert first["reasons"][0]["code"] == "output-missing"
    json.dumps(saved)
