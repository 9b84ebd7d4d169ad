"""A stand-in's output (diagnostic ``provisional: true``) is kept and used, but never counts as fresh."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.core.engine.conftest import BuildFn, RecordingHandler
from tutopanda.core.engine.build import plan_build
from tutopanda.core.engine.provider_contract import JobContext, JobResult
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.storage import StorageContext

SCRIPT = "Producer:Script.ScriptWriter"


@dataclass
class StandInHandler(RecordingHandler):
    """Marks the jobs in ``provisional`` as written by a stand-in, as the writer chain's draft is."""

    provisional: set[str] = field(default_factory=set)

    async def produce(self, context: JobContext) -> JobResult:
        result = await super().produce(context)
        if context.job_id in self.provisional:
            result.diagnostics = {**result.diagnostics, "provisional": True}
        return result


@pytest.fixture
def handler() -> RecordingHandler:
    return StandInHandler()


def test_a_provisional_output_is_planned_again_with_its_reason_until_a_real_one_is_written(
    ctx: StorageContext, image_movie: str, build: BuildFn, handler: RecordingHandler
) -> None:
    assert isinstance(handler, StandInHandler)
    handler.provisional.add(SCRIPT)
    first = build(image_movie)
    assert not first.failed
    assert [o.job_id for o in first.outcomes if o.provisional] == [SCRIPT]
    assert "Artifact:Script.MovieTitle" in ManifestStore(ctx, image_movie).load_current().artefacts

    plan = plan_build(ctx, image_movie, save=False, mode="mock")
    assert plan.jobs[0].job.id == SCRIPT
    assert plan.jobs[0].reasons[0].code == "provisional"
    assert "last output was a fallback" in plan.jobs[0].reasons[0].detail
    assert all(planned.reasons[0].code == "upstream-rebuilding" for planned in plan.jobs[1:])

    build(image_movie)  # still a stand-in: same bytes, so nothing downstream runs again (early cutoff)
    assert handler.calls == [SCRIPT]

    handler.provisional.clear()  # the real producer answers now
    second = build(image_movie)
    assert handler.calls == [SCRIPT] and not second.failed
    assert plan_build(ctx, image_movie, save=False, mode="mock").is_empty
