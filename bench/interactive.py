"""Interactive commands on a big movie: each a whole ``tutopanda`` process, median of 3.

Issue 18's target: on a 1,000-segment mock movie (about 4,000 jobs) ``inspect``, ``edit --dry-run``
(the plan of one edit), ``build plan`` and ``build status`` each answer in <= 1.5 s. The movie is built
once with the engine; then each command runs as a subprocess, as a person would type it (start-up,
loading, planning and printing included). The machine is shared, so each line also gives the CPU time
of the command's process (user + system), which the neighbours disturb less than the wall clock.

Set ``TUTOPANDA_BENCH_PYTHONPATH`` to time another copy of the source tree (A/B comparisons).
Prints ``name: value unit`` lines.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tutopanda.core.engine.build import run_build
from tutopanda.core.engine.provider_contract import EnvSecretResolver
from tutopanda.core.engine.runner import RunOptions
from tutopanda.core.logger import MemoryLogger
from tutopanda.core.movie.definition import define_movie
from tutopanda.core.store.movie_paths import init_movie
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.providers.plugins import default_registry

SEGMENTS = 1000
RUNS = 3
MOVIE = "bench"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(arguments: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Median wall and CPU seconds of ``python -m tutopanda *arguments`` (a failure stops the bench)."""
    walls, cpus = [], []
    for _ in range(RUNS):
        cpu, start = _children_cpu(), time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "tutopanda", *arguments], env=env, capture_output=True, check=False
        )
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - cpu)
        if done.returncode != 0:
            sys.exit(f"{' '.join(arguments)} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tutopanda-bench-") as root:
        ctx = StorageContext.open(StorageConfig(root), logger=MemoryLogger())
        init_movie(ctx, MOVIE)
        define_movie(ctx, MOVIE, blueprint="image-audio", values={"NumOfSegments": SEGMENTS})
        resolver = default_registry().handler_resolver("mock", "local")
        options = RunOptions(mode="mock", concurrency=16)
        report = run_build(ctx, MOVIE, resolver=resolver, options=options, secrets=EnvSecretResolver({}))
        if report.failed:
            sys.exit(f"bench build failed: {report.failed[0].error}")
        env = dict(os.environ)
        env["TUTOPANDA_PROVIDERS"] = "mock"  # the movie was built with the mocks: plan against them
        extra = os.environ.get("TUTOPANDA_BENCH_PYTHONPATH")
        if extra:
            env["PYTHONPATH"] = extra
        base = ["--root", root]
        document = str(Path(root) / "movie.toml")
        commands = {
            "inspect": [*base, "inspect", "--movie", MOVIE, "--out", document, "--force"],
            "build_plan": [*base, "build", "plan", "--movie", MOVIE],
            "build_status": [*base, "build", "status", "--movie", MOVIE],
        }
        results = {name: timed(arguments, env) for name, arguments in commands.items()}
        # One edit: segment 500's narration, then the dry-run plan of it (nothing is written).
        text = Path(document).read_text(encoding="utf-8")
        marker = 'NarrationScript = "Part 500:'
        edited = text.replace(marker, 'NarrationScript = "Part five hundred:', 1)
        Path(document).write_text(edited, encoding="utf-8")
        results["edit_dry_run"] = timed(
            [*base, "edit", "--movie", MOVIE, "--file", document, "--providers", "mock", "--dry-run"], env
        )
        for name, (wall, cpu) in results.items():
            print(f"{name}: {wall:.2f} s  (cpu {cpu:.2f} s)")
        print(f"edit_changed_document: {int(edited != text)} edits")


if __name__ == "__main__":
    main()
