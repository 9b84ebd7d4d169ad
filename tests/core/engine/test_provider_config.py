"""A module's provider config (providers.json) is part of its jobs' traces."""

from __future__ import annotations

import json
from pathlib import Path

from tutopanda.core.engine.build import plan_build, run_build
from tutopanda.core.engine.provider_contract import EnvSecretResolver
from tutopanda.core.engine.runner import RunOptions
from tutopanda.core.movie.definition import define_movie, load_movie
from tutopanda.core.store.movie_paths import init_movie
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.providers.plugins import default_registry


def test_changing_one_modules_config_reruns_only_that_module_and_what_follows(tmp_path: Path) -> None:
    ctx = StorageContext.open(StorageConfig(root=str(tmp_path)))
    init_movie(ctx, "m")
    define_movie(ctx, "m", blueprint="image-audio", values={"NumOfSegments": 2})
    resolver = default_registry().handler_resolver("mock", "local")
    options = RunOptions(mode="mock", concurrency=4)
    assert run_build(ctx, "m", resolver=resolver, options=options, secrets=EnvSecretResolver({})).revision

    define_movie(ctx, "m", blueprint=None, values={}, config={"Narration": {"wordsPerMinute": 120}})
    stored = json.loads((tmp_path / "builds" / "m" / "providers.json").read_text(encoding="utf-8"))
    assert stored["config"] == {"Narration": {"wordsPerMinute": 120}}
    narrators = [job for job in load_movie(ctx, "m").graph.jobs if job.module == "Narration"]
    assert all(job.variant.config["wordsPerMinute"] == 120 for job in narrators)

    plan = plan_build(ctx, "m", resolver=resolver, mode="mock")
    dirty = {planned.job.module for planned in plan.jobs}
    assert dirty == {"Narration", "Clips", "Timeline", "Export"}
    assert all(planned.job.module != "Narration" or planned.reasons for planned in plan.jobs)

    define_movie(ctx, "m", blueprint=None, values={}, config={"Narration": {}})  # back to the blueprint's
    assert not plan_build(ctx, "m", resolver=resolver, mode="mock").jobs  # undo: old outputs found again


def test_throttle_and_patience_keys_never_dirty_a_job(tmp_path: Path) -> None:
    ctx = StorageContext.open(StorageConfig(root=str(tmp_path)))
    init_movie(ctx, "m")
    define_movie(ctx, "m", blueprint="image-audio", values={"NumOfSegments": 1})
    resolver = default_registry().handler_resolver("mock", "local")
    options = RunOptions(mode="mock", concurrency=4)
    assert run_build(ctx, "m", resolver=resolver, options=options, secrets=EnvSecretResolver({})).revision
    tuning = {"maxInFlight": 2, "requestsPerMinute": 30, "timeoutSeconds": 90, "waitSeconds": 10}
    define_movie(ctx, "m", blueprint=None, values={}, config={"Narration": tuning})
    assert not plan_build(ctx, "m", resolver=resolver, mode="mock").jobs
