"""A plain build runs on the movie its preview loaded, but plans again under the build lock.

``change.apply`` reuses the preview's loaded definition and replayed log when the movie's state is
unchanged under the lock. What can change without touching that state — a blob removed (``verify
--repair``, ``gc``) or a revision number used by an interrupted run — must still be seen: the removed
output is made again, and the build takes the next free revision.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tutopanda.cli.main import main
from tutopanda.core.engine.build import run_build
from tutopanda.core.engine.change import Change, apply
from tutopanda.core.engine.planner import Plan
from tutopanda.core.engine.provider_contract import EnvSecretResolver, HandlerResolver
from tutopanda.core.engine.runner import RunOptions
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.providers.wiring import resolver

MOVIE = "sky"
EXPORT = "Producer:Export.VideoExporter"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    question = ["query", "Why is the sky blue?", "--movie", MOVIE, "--segments", "1"]
    assert main(["--root", str(store), *question, "--providers", "mock", "--yes"]) == 0
    return store


def _build(root: Path, meanwhile: Callable[[Plan], None], forced: tuple[str, ...] = ()) -> Any:
    """``build run`` through the change verb; ``meanwhile`` runs while it waits for its answer."""

    def confirm(plan: Plan) -> bool:
        meanwhile(plan)
        return True

    ctx = StorageContext.open(StorageConfig(str(root)))
    return apply(
        ctx,
        MOVIE,
        Change(f"tutopanda build run --movie {MOVIE}"),
        confirm=confirm,
        resolver=resolver("mock"),
        preflight=lambda plan: None,
        options=RunOptions(mode="mock"),
        secrets=EnvSecretResolver({}),
        forced=forced,
    )


def test_a_blob_removed_while_the_build_waits_is_made_again(root: Path) -> None:
    movie = root / "builds" / MOVIE
    manifest = json.loads((movie / "manifests" / "rev-0001.json").read_text(encoding="utf-8"))
    video = next(
        entry["blob"]
        for artefact, entry in manifest["artefacts"].items()
        if artefact.startswith("Artifact:Export.") and entry["blob"]["mimeType"] == "video/mp4"
    )
    video_file = next((movie / "blobs" / video["hash"][:2]).glob(video["hash"] + ".*"))

    def repaired_away(plan: Plan) -> None:  # another terminal: the video is damaged, then repaired away
        assert not plan.jobs
        video_file.write_bytes(b"damaged")
        main(["--root", str(root), "verify", "--movie", MOVIE, "--repair"])
        assert not video_file.exists()

    outcome = _build(root, repaired_away)
    assert [planned.job.id for planned in outcome.report.plan.jobs] == [EXPORT]
    assert outcome.published is not None and Path(outcome.published.video).is_file()
    assert any((movie / "blobs").rglob(video["hash"] + ".*"))


class _Interrupting:
    """A handler whose call is interrupted (Ctrl-C in the other terminal before its job finished)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def produce(self, context: Any) -> Any:
        raise KeyboardInterrupt


def _interrupted_run(root: Path) -> Callable[[Plan], None]:
    """Another ``build run`` of the same movie, interrupted before its first job finished: it writes its
    plan and run record (using a revision number) but changes neither the logs nor the pointer."""
    mock: HandlerResolver = resolver("mock")

    def interrupted(plan: Plan) -> None:
        assert plan.revision == "rev-0002"
        ctx = StorageContext.open(StorageConfig(str(root)))
        report = run_build(
            ctx,
            MOVIE,
            resolver=lambda provider, model, kind: _Interrupting(mock(provider, model, kind)),
            options=RunOptions(mode="mock"),
            secrets=EnvSecretResolver({}),
            forced=[EXPORT],
        )
        assert report.interrupted and report.revision is None

    return interrupted


def test_a_revision_used_while_the_build_waits_is_not_reused(root: Path) -> None:
    runs = root / "builds" / MOVIE / "runs"
    outcome = _build(root, _interrupted_run(root), forced=(EXPORT,))
    assert outcome.report.plan.revision == "rev-0003"
    assert json.loads((runs / "rev-0002-run.json").read_text(encoding="utf-8"))["status"] == "interrupted"
    assert json.loads((runs / "rev-0003-run.json").read_text(encoding="utf-8"))["status"] == "succeeded"
