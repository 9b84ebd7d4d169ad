"""Runner efficiency: 200 mock jobs of 50 ms latency in one layer at concurrency 16.

Efficiency = ideal wall time / actual wall time, where ideal = ceil(200 / 16) x 50 ms (perfect packing,
zero overhead). ``runner_efficiency`` times the layer itself (first job scheduled to last job stored);
``build_efficiency`` times the whole ``run_build`` call (loading, planning, committing included).
Target (2-core machine): runner_efficiency >= 0.9. The jobs are the 200 narration jobs of an
``audio-only`` movie whose script was built beforehand, so the timed run is exactly one layer.
Prints ``name: value unit`` lines (median of several runs).
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time

from tutopanda.core.engine.build import run_build
from tutopanda.core.engine.provider_contract import EnvSecretResolver
from tutopanda.core.engine.runner import RunOptions
from tutopanda.core.logger import MemoryLogger
from tutopanda.core.movie.definition import define_movie
from tutopanda.core.store.movie_paths import init_movie
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.providers.mock import MockOptions, register_mocks
from tutopanda.providers.registry import ProviderRegistry

JOBS = 200
LATENCY = 0.05
CONCURRENCY = 16
RUNS = 5


class _Span:
    """Progress sink remembering when the first job started and the last one finished."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.last = 0.0

    def layer_started(self, index: int, jobs: int) -> None:
        if self.first is None:
            self.first = time.perf_counter()

    def job_started(self, job_id: str) -> None:
        return None

    def job_finished(self, outcome: object) -> None:
        self.last = time.perf_counter()

    def job_progress(self, job_id: str, fraction: float) -> None:
        return None


def one_run() -> tuple[float, float, int]:
    registry = ProviderRegistry()
    register_mocks(registry, options=MockOptions(latency=LATENCY))
    resolver = registry.handler_resolver("mock", "local")
    secrets = EnvSecretResolver({})
    with tempfile.TemporaryDirectory(prefix="tutopanda-bench-") as root:
        ctx = StorageContext.open(StorageConfig(root), logger=MemoryLogger())
        init_movie(ctx, "bench")
        define_movie(ctx, "bench", blueprint="audio-only", values={"NumOfSegments": JOBS})
        warm = RunOptions(mode="mock", concurrency=CONCURRENCY, up_to_layer=0)
        run_build(ctx, "bench", resolver=resolver, options=warm, secrets=secrets)
        timed = RunOptions(mode="mock", concurrency=CONCURRENCY, up_to_layer=1)
        span = _Span()
        start = time.perf_counter()
        report = run_build(ctx, "bench", resolver=resolver, options=timed, secrets=secrets, progress=span)
        wall = time.perf_counter() - start
    runner_wall = span.last - (span.first or span.last)
    return wall, runner_wall, sum(1 for outcome in report.outcomes if outcome.status == "succeeded")


def main() -> None:
    ideal = math.ceil(JOBS / CONCURRENCY) * LATENCY
    walls, runner_walls = [], []
    for _ in range(RUNS):
        wall, runner_wall, done = one_run()
        if done != JOBS:
            raise SystemExit(f"expected {JOBS} jobs to run, {done} did")
        walls.append(wall)
        runner_walls.append(runner_wall)
    wall, runner_wall = statistics.median(walls), statistics.median(runner_walls)
    print(f"runner_jobs: {JOBS} jobs")
    print(f"runner_ideal_wall: {ideal:.3f} s")
    print(f"runner_wall_median: {runner_wall:.3f} s")
    print(f"runner_efficiency: {ideal / runner_wall:.2f} ratio")
    print(f"build_wall_median: {wall:.3f} s  (plan + run + commit + run record)")
    print(f"build_efficiency: {ideal / wall:.2f} ratio")


if __name__ == "__main__":
    main()
