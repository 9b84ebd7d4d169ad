"""A build's larger young generation: raised for the run, restored after, shared by overlapping runs."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.engine.test_runner_outputs import FileHandler, _build
from tutopanda.core.engine.provider_contract import JobContext, JobResult
from tutopanda.core.gc_control import YOUNG_GENERATION, paced_collections
from tutopanda.core.movie.definition import define_movie
from tutopanda.core.store.storage import StorageContext


@pytest.fixture(autouse=True)
def _thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield before
    gc.set_threshold(*before)


def test_the_threshold_is_raised_for_the_block_and_restored_after() -> None:
    with paced_collections():
        assert gc.get_threshold() == (YOUNG_GENERATION, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_blocks_restore_only_when_the_last_one_ends() -> None:
    first, second = paced_collections(), paced_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == YOUNG_GENERATION  # the other build still runs
    second.__exit__(None, None, None)
    assert gc.get_threshold() == (700, 10, 10)


def test_it_is_restored_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), paced_collections():
        raise RuntimeError("a failed build")
    assert gc.get_threshold() == (700, 10, 10)


def test_an_applications_own_setting_is_left_alone() -> None:
    gc.set_threshold(0)  # collection disabled by the application
    with paced_collections():
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold()[0] == 0
    gc.set_threshold(700, 10, 10)
    with paced_collections():
        gc.set_threshold(5000, 10, 10)  # changed by the application during the build
    assert gc.get_threshold() == (5000, 10, 10)


@pytest.mark.parametrize("backend", ["local"])
def test_a_build_runs_its_jobs_with_the_larger_young_generation(
    ctx: StorageContext, movie: str, tmp_path: Path
) -> None:
    seen: list[int] = []

    class Recording(FileHandler):
        async def produce(self, context: JobContext) -> JobResult:
            seen.append(gc.get_threshold()[0])
            return await super().produce(context)

    define_movie(ctx, movie, blueprint="audio-only", values={"NumOfSegments": 1})
    assert not _build(ctx, movie, Recording(tmp_path)).failed
    assert seen and set(seen) == {YOUNG_GENERATION}
    assert gc.get_threshold() == (700, 10, 10)
