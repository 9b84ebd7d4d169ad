"""The planning copy of dry runs (``core/engine/scratch.py``): no blobs copied, same plan, nothing touched.

``preview`` records a change in a copy of the movie that leaves ``blobs/`` out and answers "is this blob
stored?" from the real movie's blob names (listed when the copy was made) plus the copy's own blobs. These
tests hold it to what the full copy (every blob hard-linked) gave: the same plan, on every backend; a blob
that is really gone still makes its job run; and the real movie's files are not changed, linked or touched.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from tests.core.movie_builds import SCRIPT_TEXT, blob_path, build, define
from tutopanda.core.engine.build import plan_build
from tutopanda.core.engine.change import Change, _record, preview
from tutopanda.core.engine.planner import Plan
from tutopanda.core.engine.provider_contract import HandlerResolver
from tutopanda.core.engine.scratch import planning_copy, scratch_copy
from tutopanda.core.movie.document import take_snapshot
from tutopanda.core.movie.edit import EditSet, TextEdit, parse_replacements
from tutopanda.core.store.movie_paths import init_movie
from tutopanda.core.store.storage import StorageContext
from tutopanda.providers.plugins import default_registry

MOVIE = "demo"
IMAGE = "Images.SegmentImage[0][0]"


@pytest.fixture
def built(ctx: StorageContext) -> str:
    """A one-segment, one-image movie built with the mock providers."""
    init_movie(ctx, MOVIE)
    define(ctx, MOVIE)
    assert not build(ctx, MOVIE).failed
    return MOVIE


def _edit(ctx: StorageContext, tmp_path: Path, *, text: bool = True) -> Change:
    """A new narration text (unless not ``text``) and a replacement image: blobs only the copy has."""
    snapshot = take_snapshot(ctx, MOVIE)
    producer = next(
        job.id for job in snapshot.movie.graph.jobs if SCRIPT_TEXT in {a.id for a in job.produces}
    )
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 36), (200, 30, 30)).save(photo, format="PNG")
    edits = EditSet(
        texts=[TextEdit(SCRIPT_TEXT, producer, "A narration of my own.", "movie.toml")] if text else [],
        replacements=parse_replacements(snapshot, [f"{IMAGE}={photo}"]),
    )
    return Change("tutopanda edit --movie demo", edits=edits, source="movie.toml", snapshot=snapshot)


def _jobs(plan: Plan) -> list[tuple[str, int, tuple[tuple[str, str], ...]]]:
    """The plan without its timestamps: each dirty job, its layer and its reasons."""
    return [
        (planned.job.id, planned.layer, tuple((r.code, r.detail) for r in planned.reasons))
        for planned in plan.jobs
    ]


def _mock() -> HandlerResolver:
    return default_registry().handler_resolver("mock", "local")


def _full_copy_plan(ctx: StorageContext, change: Change) -> Plan:
    """What ``preview`` did before: record and plan in a copy with every blob linked or copied."""
    with scratch_copy(ctx, MOVIE) as scratch:
        _record(scratch, MOVIE, change)
        return plan_build(scratch, MOVIE, resolver=_mock(), save=False, mode="mock")


def _tree(root: Path) -> dict[str, tuple[str, int, int, int]]:
    """``{path: (sha256, inode, links, mtime_ns)}`` of every file: bytes, identity and touches."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[path.relative_to(root).as_posix()] = (digest, stat.st_ino, stat.st_nlink, stat.st_mtime_ns)
    return found


def test_an_edit_is_planned_as_the_full_copy_planned_it(
    ctx: StorageContext, built: str, tmp_path: Path
) -> None:
    change = _edit(ctx, tmp_path)

    plan = preview(ctx, built, change, resolver=_mock(), mode="mock")

    assert _jobs(plan) == _jobs(_full_copy_plan(ctx, change))
    assert plan.jobs  # the narration's consumers run again ...
    reasons = {reason.code for planned in plan.jobs for reason in planned.reasons}
    assert "blob-missing" not in reasons  # ... and no blob, the real movie's or the edit's own, is missing
    assert SCRIPT_TEXT not in {a.id for planned in plan.jobs for a in planned.job.produces}


def test_a_blob_gone_from_the_real_movie_still_makes_its_job_run(
    ctx: StorageContext, built: str, tmp_path: Path
) -> None:
    change = _edit(ctx, tmp_path, text=False)  # the narration's audio does not depend on the image
    gone = blob_path(ctx, built, "Artifact:Narration.SegmentAudio[0]")
    ctx.remove(gone)

    plan = preview(ctx, built, change, resolver=_mock(), mode="mock")

    assert _jobs(plan) == _jobs(_full_copy_plan(ctx, change))
    missing = [r.detail for planned in plan.jobs for r in planned.reasons if r.code == "blob-missing"]
    assert len(missing) == 1 and "Artifact:Narration.SegmentAudio[0]" in missing[0]


@pytest.mark.parametrize("backend", ["local"], indirect=True)
def test_the_real_movie_is_neither_changed_nor_linked_nor_touched(
    ctx: StorageContext, built: str, tmp_path: Path
) -> None:
    change = _edit(ctx, tmp_path)
    movie_dir = Path(ctx.movie_dir(built))
    blobs = movie_dir / "blobs"
    before = _tree(movie_dir)

    with planning_copy(ctx, built) as copy:
        copied = Path(copy.ctx.movie_dir(built))
        assert not any(path.is_file() for path in (copied / "blobs").rglob("*"))  # nothing copied or linked
        assert all(path.stat().st_nlink == 1 for path in blobs.rglob("*") if path.is_file())
        _record(copy.ctx, built, change)
        written = [path for path in (copied / "blobs").rglob("*") if path.is_file()]
        assert len(written) == 2  # the edit's text and image went to the copy's own blobs
    preview(ctx, built, change, resolver=_mock(), mode="mock")

    def data(tree: dict[str, tuple[str, int, int, int]]) -> dict[str, tuple[str, int, int, int]]:
        return {path: seen for path, seen in tree.items() if not path.startswith(".locks/")}

    assert data(_tree(movie_dir)) == data(before)  # lock files are not data (docs/storage.md)
    assert not copied.exists()  # the copy is deleted on exit


def test_a_preview_without_a_snapshot_reads_the_texts_from_the_real_movie(
    ctx: StorageContext, built: str, tmp_path: Path
) -> None:
    """The copy holds no blobs to read texts from: the edit's snapshot is taken from the real movie."""
    with_snapshot = _edit(ctx, tmp_path)
    without = Change(with_snapshot.command, edits=with_snapshot.edits, source=with_snapshot.source)

    plan = preview(ctx, built, without, resolver=_mock(), mode="mock")

    assert _jobs(plan) == _jobs(preview(ctx, built, with_snapshot, resolver=_mock(), mode="mock"))
