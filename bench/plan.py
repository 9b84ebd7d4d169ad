"""Planning speed on a fully built 1,000-segment ``image-audio`` movie (about 3,000 jobs).

Targets (2-core machine, medians): planning after one edit <= 0.5 s (``plan_after_edit``, the engine
call: load movie, index the artefact log, plan); a no-op ``tutopanda build plan`` <= 1.5 s whole process
(``cli_noop_plan``). Prints ``name: value unit`` lines.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tutopanda.core.engine.build import plan_build, run_build
from tutopanda.core.engine.provider_contract import EnvSecretResolver
from tutopanda.core.engine.runner import RunOptions
from tutopanda.core.logger import MemoryLogger
from tutopanda.core.movie.definition import define_movie
from tutopanda.core.movie.event_import import append_artefact_records
from tutopanda.core.store.movie_paths import init_movie
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.providers.plugins import default_registry

SEGMENTS = 1000
RUNS = 5


def _tutopanda() -> list[str]:
    script = Path(sys.executable).with_name("tutopanda")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tutopanda"]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tutopanda-bench-") as root:
        ctx = StorageContext.open(StorageConfig(root), logger=MemoryLogger())
        init_movie(ctx, "bench")
        define_movie(ctx, "bench", blueprint="image-audio", values={"NumOfSegments": SEGMENTS})
        resolver = default_registry().handler_resolver("mock", "local")
        run_build(
            ctx,
            "bench",
            resolver=resolver,
            options=RunOptions(mode="mock", concurrency=16),
            secrets=EnvSecretResolver({}),
        )

        noop = []
        for _ in range(RUNS):
            start = time.perf_counter()
            plan = plan_build(ctx, "bench", save=False)
            noop.append(time.perf_counter() - start)
        assert plan.is_empty, "the built movie should be up to date"

        command = [*_tutopanda(), "--root", root, "build", "plan", "--movie", "bench", "--json"]
        subprocess.run(command, check=True, capture_output=True)  # warm caches
        cli_noop = []
        for _ in range(RUNS):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            cli_noop.append(time.perf_counter() - start)

        record = {
            "artefactId": "Artifact:Script.NarrationScript[500]",
            "producedBy": "Producer:Script.ScriptWriter",
            "payload": "An edited narration for segment 500.",
        }
        append_artefact_records(ctx, "bench", [record], base_dir=Path(root), source="bench")
        edited = []
        for _ in range(RUNS):
            start = time.perf_counter()
            plan = plan_build(ctx, "bench", save=False)
            edited.append(time.perf_counter() - start)
        dirty = len(plan.jobs)

        cli = []
        for _ in range(RUNS):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            cli.append(time.perf_counter() - start)

    print(f"plan_jobs: {plan.total_jobs} jobs")
    print(f"plan_noop_engine: {statistics.median(noop):.3f} s")
    print(f"plan_after_edit: {statistics.median(edited):.3f} s")
    print(f"plan_after_edit_dirty: {dirty} jobs")
    print(f"cli_noop_plan: {statistics.median(cli_noop):.3f} s  (whole process)")
    print(f"cli_plan_after_edit: {statistics.median(cli):.3f} s  (whole process, plan with 1 edit)")


if __name__ == "__main__":
    main()
