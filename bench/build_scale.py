"""Full mock builds of ``image-audio`` at 100 and 1,000 segments, and a no-op rebuild of the larger one.

Targets (2-core machine): the 1,000-segment build (about 3,000 jobs) <= 15 s, and linear: <= 12x the
100-segment build. The TypeScript original took 2.2 s and 54.6 s (every job re-read the whole event log).
Prints ``name: value unit`` lines.
"""

from __future__ import annotations

import sys
import tempfile
import time

from tutopanda.core.build import run_build
from tutopanda.core.logger import MemoryLogger
from tutopanda.core.movie_definition import define_movie
from tutopanda.core.movie_layout import init_movie
from tutopanda.core.provider_contract import EnvSecretResolver
from tutopanda.core.runner import RunOptions
from tutopanda.core.storage import StorageConfig, StorageContext
from tutopanda.providers.plugins import default_registry


def build_once(root: str, segments: int) -> tuple[float, int, float, int]:
    ctx = StorageContext.open(StorageConfig(root), logger=MemoryLogger())
    init_movie(ctx, "bench")
    define_movie(ctx, "bench", blueprint="image-audio", values={"NumOfSegments": segments})
    resolver = default_registry().handler_resolver("mock", "local")
    options = RunOptions(mode="mock", concurrency=16)
    start = time.perf_counter()
    report = run_build(ctx, "bench", resolver=resolver, options=options, secrets=EnvSecretResolver({}))
    full = time.perf_counter() - start
    if report.failed:
        sys.exit(f"bench build failed: {report.failed[0].error}")
    start = time.perf_counter()
    noop = run_build(ctx, "bench", resolver=resolver, options=options, secrets=EnvSecretResolver({}))
    again = time.perf_counter() - start
    return full, len(report.outcomes), again, noop.calls


def main() -> None:
    results = {}
    for segments in (100, 1000):
        with tempfile.TemporaryDirectory(prefix="tutopanda-bench-") as root:
            full, jobs, noop, calls = build_once(root, segments)
        results[segments] = full
        print(f"build_image_audio_{segments}: {full:.2f} s")
        print(f"build_image_audio_{segments}_jobs: {jobs} jobs")
        print(f"build_image_audio_{segments}_throughput: {jobs / full:.0f} jobs/s")
        print(f"noop_rebuild_{segments}: {noop:.2f} s")
        print(f"noop_rebuild_{segments}_calls: {calls} calls")
    print(f"scaling_1000_vs_100: {results[1000] / results[100]:.1f} x")


if __name__ == "__main__":
    main()
