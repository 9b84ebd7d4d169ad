"""Plans are stored per revision at runs/<rev>-plan.json and read back unchanged."""

from __future__ import annotations

import json

import pytest

from tutopanda.core.errors import CorruptDataError, UsageError
from tutopanda.core.store.movie_paths import movie_paths
from tutopanda.core.store.plan_store import PlanStore
from tutopanda.core.store.storage import StorageContext

PLAN = {
    "revision": "rev-0002",
    "manifestBaseHash": "a" * 64,
    "layers": [[{"jobId": "Producer:Script.Producer", "why": ["input Input:InquiryPrompt changed"]}], []],
}


def test_save_and_load_a_plan(ctx: StorageContext, movie: str) -> None:
    store = PlanStore(ctx, movie)
    path = store.save("rev-0002", PLAN)
    assert path == f"{movie_paths(ctx, movie).runs_dir}/rev-0002-plan.json"
    assert store.load("rev-0002") == PLAN
    text = ctx.read_bytes(path).decode()
    assert text.endswith("}\n") and text.count("\n") == 1 and '"layers":[' in text  # compact
    assert store.exists("rev-0002") and not store.exists("rev-0001")
    store.save("rev-0001", {"layers": []})
    assert store.list_revisions() == ["rev-0001", "rev-0002"]


def test_a_newer_attempt_replaces_the_plan(ctx: StorageContext, movie: str) -> None:
    store = PlanStore(ctx, movie)
    store.save("rev-0002", PLAN)
    store.save("rev-0002", {"layers": [[]]})
    assert store.load("rev-0002") == {"layers": [[]]}


def test_missing_unstorable_and_corrupt_plans(ctx: StorageContext, movie: str) -> None:
    store = PlanStore(ctx, movie)
    with pytest.raises(UsageError, match="no plan for rev-0009"):
        store.load("rev-0009")
    with pytest.raises(UsageError):
        store.save("rev-0003", {"cost": float("nan")})
    with pytest.raises(UsageError):
        store.save("not-a-revision", PLAN)
    with ctx.fs.open(store.path_of("rev-0004"), "wb") as stream:
        stream.write(json.dumps([1, 2]).encode())
    with pytest.raises(CorruptDataError):
        store.load("rev-0004")
