"""``preview`` and ``apply`` (core/engine/change.py) through their public API: one verb for every change.

The rules they hold for every command: a refused or declined change records nothing, the movie is
checked again under the lock, and the movie is published only when its build succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.core.engine.conftest import RecordingHandler
from tutopanda.core.engine.build import BuildReport
from tutopanda.core.engine.change import Change, Outcome, apply, movie_state, preview
from tutopanda.core.engine.planner import Plan
from tutopanda.core.engine.provider_contract import EnvSecretResolver
from tutopanda.core.engine.runner import RunOptions
from tutopanda.core.errors import ManifestConflictError, ProviderConfigError
from tutopanda.core.movie.definition import define_movie, load_movie
from tutopanda.core.store.event_log import input_log
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.movie_paths import is_initialised
from tutopanda.core.store.storage import StorageContext

COMMAND = "tutopanda query --movie demo"


def _apply(
    ctx: StorageContext,
    movie: str,
    change: Change,
    handler: RecordingHandler,
    *,
    preflight: Callable[[Plan], None] = lambda plan: None,
    confirm: Callable[[Plan], bool] = lambda plan: True,
    **kwargs: Any,
) -> Outcome:
    return apply(
        ctx,
        movie,
        change,
        confirm=confirm,
        resolver=lambda provider, model, kind: handler,  # type: ignore[arg-type,return-value]
        preflight=preflight,
        options=RunOptions(mode="mock", backoff_base=0.001),
        secrets=EnvSecretResolver({}),
        **kwargs,
    )


def _fewer_images() -> Change:
    return Change(COMMAND, define=True, values={"NumOfImagesPerSegment": 1})


def _images_per_segment(ctx: StorageContext, movie: str) -> object:
    return load_movie(ctx, movie).input_values()["Input:NumOfImagesPerSegment"]


def test_preview_plans_the_change_and_leaves_the_movie_unchanged(
    ctx: StorageContext, image_movie: str, handler: RecordingHandler
) -> None:
    before = movie_state(ctx, image_movie)

    plan = preview(ctx, image_movie, _fewer_images(), resolver=lambda *_: handler, mode="mock")  # type: ignore[arg-type]

    assert plan.jobs  # the images, and what consumes them, would run
    assert movie_state(ctx, image_movie) == before
    assert _images_per_segment(ctx, image_movie) == 2
    assert handler.calls == []


def test_preview_of_a_new_movie_creates_nothing(ctx: StorageContext, handler: RecordingHandler) -> None:
    change = Change(COMMAND, create=True, define=True, blueprint="audio-only", values={"InquiryPrompt": "Q?"})

    plan = preview(ctx, "fresh", change, resolver=lambda *_: handler, mode="mock")  # type: ignore[arg-type]

    assert plan.total_jobs > 0 and len(plan.jobs) == plan.total_jobs
    assert not is_initialised(ctx, "fresh")


def test_a_failing_preflight_records_nothing(
    ctx: StorageContext, image_movie: str, handler: RecordingHandler
) -> None:
    def no_key(plan: Plan) -> None:
        raise ProviderConfigError("OPENAI_API_KEY is not set", "export it")

    log_size = input_log(ctx, image_movie).size()
    with pytest.raises(ProviderConfigError):
        _apply(ctx, image_movie, _fewer_images(), handler, preflight=no_key)

    assert input_log(ctx, image_movie).size() == log_size
    assert _images_per_segment(ctx, image_movie) == 2
    assert handler.calls == []


def test_a_declined_change_records_nothing(
    ctx: StorageContext, image_movie: str, handler: RecordingHandler
) -> None:
    before = movie_state(ctx, image_movie)
    asked: list[Plan] = []

    def no(plan: Plan) -> bool:
        asked.append(plan)
        return False

    outcome = _apply(ctx, image_movie, _fewer_images(), handler, confirm=no)

    assert not outcome.confirmed and outcome.plan is asked[0]
    assert movie_state(ctx, image_movie) == before
    assert handler.calls == []


def test_a_change_recorded_by_another_writer_meanwhile_is_seen_under_the_lock(
    ctx: StorageContext, image_movie: str, handler: RecordingHandler
) -> None:
    def meanwhile_another_writer_records(plan: Plan) -> bool:
        define_movie(ctx, image_movie, blueprint=None, values={"NumOfSegments": 2})
        return True

    change = _fewer_images()
    with pytest.raises(ManifestConflictError, match="changed while this query was being prepared"):
        _apply(ctx, image_movie, change, handler, confirm=meanwhile_another_writer_records)

    assert _images_per_segment(ctx, image_movie) == 2  # this change recorded nothing
    assert load_movie(ctx, image_movie).input_values()["Input:NumOfSegments"] == 2  # the other one stands
    assert handler.calls == []


def test_a_change_prepared_against_an_older_state_is_refused(
    ctx: StorageContext, image_movie: str, handler: RecordingHandler
) -> None:
    prepared = Change(
        COMMAND, define=True, values={"NumOfImagesPerSegment": 1}, based_on=movie_state(ctx, image_movie)
    )
    define_movie(ctx, image_movie, blueprint=None, values={"NumOfSegments": 2})

    with pytest.raises(ManifestConflictError, match="nothing was recorded"):
        _apply(ctx, image_movie, prepared, handler)

    assert _images_per_segment(ctx, image_movie) == 2


def test_a_successful_change_is_recorded_built_committed_and_published(
    ctx: StorageContext, image_movie: str, handler: RecordingHandler
) -> None:
    started: list[Plan] = []
    built: list[BuildReport] = []

    outcome = _apply(
        ctx, image_movie, _fewer_images(), handler, on_start=started.append, on_built=built.append
    )

    assert outcome.report is not None and not outcome.report.failed
    assert outcome.report.revision == ManifestStore(ctx, image_movie).load_current().revision
    assert _images_per_segment(ctx, image_movie) == 1
    assert outcome.published is not None and ctx.exists(outcome.published.video)
    assert [plan.revision for plan in started] == [outcome.plan.revision]
    assert built == [outcome.report]


def test_a_failed_build_keeps_what_it_made_but_publishes_nothing(
    ctx: StorageContext, image_movie: str, handler: RecordingHandler
) -> None:
    handler.fail["Producer:Narration.Narrator[0]"] = 1

    outcome = _apply(ctx, image_movie, _fewer_images(), handler)

    assert outcome.report is not None and outcome.report.failed
    assert outcome.report.revision is not None  # what succeeded is committed
    assert outcome.published is None
    assert not ctx.exists(ctx.join(ctx.root, "movies"))


def test_a_plain_build_records_nothing_and_builds_the_movie_as_it_is(
    ctx: StorageContext, image_movie: str, handler: RecordingHandler
) -> None:
    log_size = input_log(ctx, image_movie).size()

    outcome = _apply(ctx, image_movie, Change("tutopanda build run --movie demo"), handler, publish=False)

    assert outcome.report is not None and outcome.report.revision == "rev-0001"
    assert input_log(ctx, image_movie).size() == log_size
    assert outcome.published is None
    assert {planned.job.id for planned in outcome.plan.jobs} == set(handler.calls)
