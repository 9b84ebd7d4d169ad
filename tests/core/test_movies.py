"""Listing and cleaning the movies of a storage root, on real folders built with the mock providers."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from tutopanda.core.engine.build import run_build
from tutopanda.core.engine.provider_contract import EnvSecretResolver
from tutopanda.core.engine.runner import RunOptions
from tutopanda.core.errors import LockHeldError, UsageError
from tutopanda.core.movie.catalogue import clean_movie, list_movies, movie_footprint
from tutopanda.core.movie.definition import define_movie
from tutopanda.core.movie.publish import publish_current
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.movie_paths import init_movie
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.providers.plugins import default_registry


@pytest.fixture
def store(tmp_path: Path) -> StorageContext:
    return StorageContext.open(StorageConfig(root=tmp_path / "store"))


def _build(ctx: StorageContext, movie_id: str, **values: object) -> None:
    """Define an audio-only movie, build it with the mock providers and publish it, as `query` does."""
    init_movie(ctx, movie_id)
    define_movie(ctx, movie_id, blueprint="audio-only", values={"NumOfSegments": 1, **values})
    report = run_build(
        ctx,
        movie_id,
        resolver=default_registry().handler_resolver("mock", "local"),
        options=RunOptions(mode="mock"),
        secrets=EnvSecretResolver({}),
    )
    assert report.revision == "rev-0001" and not report.failed
    assert publish_current(ctx, movie_id) is not None


def _set_run_cost(root: Path, movie_id: str, cost: float) -> None:
    path = root / "builds" / movie_id / "runs" / "rev-0001-run.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    record["totals"]["cost"] = cost
    path.write_text(json.dumps(record), encoding="utf-8")


def test_list_summarises_each_initialised_movie_and_skips_other_folders(store: StorageContext) -> None:
    root = Path(store.root)
    _build(store, "volcano", InquiryPrompt="How do volcanoes erupt?", Duration=12)
    _set_run_cost(root, "volcano", 0.125)
    init_movie(store, "draft")
    (root / "builds" / "notes").mkdir()  # no current.json: not a movie
    (root / "builds" / ".trash").mkdir()  # not a movie id
    (root / "builds" / "README.txt").write_text("hello", encoding="utf-8")

    movies = {movie.id: movie for movie in list_movies(store)}

    assert sorted(movies) == ["draft", "volcano"]
    built = movies["volcano"]
    pointer = json.loads((root / "builds" / "volcano" / "current.json").read_text(encoding="utf-8"))
    assert built.title and "volcano" in built.title.lower()
    assert built.revision == "rev-0001"
    assert built.duration == 12.0
    assert built.cost == 0.125
    assert built.updated == pointer["updatedAt"]
    assert built.error is None
    draft = movies["draft"]
    assert (draft.title, draft.revision, draft.duration, draft.cost, draft.updated) == (
        None,
        None,
        None,
        0.0,
        None,
    )
    assert draft.error is None
    assert list(built.to_dict()) == [
        "id",
        "title",
        "revision",
        "durationSeconds",
        "cost",
        "updatedAt",
        "error",
    ]


def test_an_empty_or_missing_root_lists_nothing(store: StorageContext) -> None:
    assert list_movies(store) == []


def test_a_broken_movie_is_listed_with_its_error_and_the_others_still_are(store: StorageContext) -> None:
    root = Path(store.root)
    _build(store, "good")
    _build(store, "damaged")
    _build(store, "garbled")
    manifest = root / "builds" / "damaged" / "manifests" / "rev-0001.json"
    manifest.write_bytes(manifest.read_bytes().replace(b"rev-0001", b"rev-0009", 1))
    (root / "builds" / "garbled" / "current.json").write_text("{not json", encoding="utf-8")

    movies = {movie.id: movie for movie in list_movies(store)}

    assert movies["good"].error is None and movies["good"].title
    damaged = movies["damaged"]
    assert damaged.error is not None and "does not match the hash" in damaged.error
    assert damaged.revision == "rev-0001" and damaged.updated is not None  # what could be read is kept
    assert damaged.title is None
    garbled = movies["garbled"]
    assert garbled.error is not None and "current.json" in garbled.error
    assert garbled.revision is None


def test_clean_deletes_the_build_and_published_folders_only(store: StorageContext) -> None:
    root = Path(store.root)
    _build(store, "doomed")
    _build(store, "kept")
    footprint = movie_footprint(store, "doomed")
    assert footprint.files > 0 and footprint.bytes > 0

    result = clean_movie(store, "doomed")

    assert not (root / "builds" / "doomed").exists()
    assert not (root / "movies" / "doomed").exists()
    assert (root / "builds" / "kept" / "current.json").exists()
    assert any((root / "movies" / "kept").iterdir())
    assert (result.files, result.bytes) == (footprint.files, footprint.bytes)
    assert [movie.id for movie in list_movies(store)] == ["kept"]


def test_clean_refuses_while_a_build_holds_the_lock_and_names_the_holder(store: StorageContext) -> None:
    root = Path(store.root)
    _build(store, "busy")
    before = sorted(p.relative_to(root) for p in root.rglob("*") if ".locks" not in p.parts)

    with movie_lock(store, "busy", command="tutopanda build run"), pytest.raises(LockHeldError) as caught:
        clean_movie(store, "busy")

    assert "tutopanda build run" in caught.value.message
    assert f"pid {os.getpid()}" in caught.value.message
    assert caught.value.hint is not None
    after = sorted(p.relative_to(root) for p in root.rglob("*") if ".locks" not in p.parts)
    assert after == before


def test_clean_of_an_unknown_or_invalid_id_is_a_usage_error(store: StorageContext, tmp_path: Path) -> None:
    init_movie(store, "real")
    with pytest.raises(UsageError) as caught:
        clean_movie(store, "nope")
    assert caught.value.exit_code == 2
    assert caught.value.hint is not None and "tutopanda movies list" in caught.value.hint

    (tmp_path / "outside").mkdir()
    for bad in ("../outside", "..", "a/b", ""):
        with pytest.raises(UsageError):
            clean_movie(store, bad)
    assert (tmp_path / "outside").is_dir()
    assert (Path(store.root) / "builds" / "real").is_dir()


def test_a_movie_with_only_published_files_can_still_be_cleaned(store: StorageContext) -> None:
    root = Path(store.root)
    published = root / "movies" / "orphan"
    published.mkdir(parents=True)
    (published / "Orphan.mp4").write_bytes(b"\0" * 10)

    result = clean_movie(store, "orphan")

    assert not published.exists()
    assert (result.files, result.bytes) == (1, 10)
    assert not (root / "builds" / "orphan").exists()


def test_list_and_clean_work_on_memory_storage() -> None:
    ctx = StorageContext.open(StorageConfig(f"memory://movies-{uuid.uuid4().hex}"))
    try:
        init_movie(ctx, "draft")
        init_movie(ctx, "other")
        assert [movie.id for movie in list_movies(ctx)] == ["draft", "other"]

        with movie_lock(ctx, "draft", command="tutopanda build run"), pytest.raises(LockHeldError):
            clean_movie(ctx, "draft")
        clean_movie(ctx, "draft")

        assert [movie.id for movie in list_movies(ctx)] == ["other"]
    finally:
        if ctx.fs.exists(ctx.root):
            ctx.fs.rm(ctx.root, recursive=True)
