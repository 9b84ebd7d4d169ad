"""Storage roots, movie ids and ``storage init``: nothing escapes the root; init is safe to repeat."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from tutopanda.core.errors import MovieNotInitialisedError, StorageError, UsageError
from tutopanda.core.store.movie_paths import CURRENT_STUB, init_movie, is_initialised, movie_paths
from tutopanda.core.store.storage import StorageConfig, StorageContext, storage_error, validate_movie_id

EXPECTED_LAYOUT = {
    "./",
    "manifests/",
    "events/",
    "runs/",
    "blobs/",
    "prompts/",
    "events/inputs.log",
    "events/artefacts.log",
    "current.json",
}


@pytest.mark.parametrize("movie_id", ["demo", "movie-1a2b3c4d", "A_b-9", "x" * 64, "7"])
def test_reasonable_movie_ids_are_accepted(movie_id: str) -> None:
    assert validate_movie_id(movie_id) == movie_id


@pytest.mark.parametrize(
    "movie_id",
    [
        "",
        "..",
        "../etc",
        "a/b",
        "a\\b",
        "demo.json",
        ".hidden",
        "-flag",
        "x" * 65,
        "has space",
        "é",
        "a\nb",
        "/abs",
    ],
)
def test_unsafe_movie_ids_are_refused_with_a_hint(ctx: StorageContext, movie_id: str) -> None:
    with pytest.raises(UsageError) as caught:
        ctx.movie_dir(movie_id)
    assert caught.value.hint is not None and "letters, digits" in caught.value.hint


@pytest.mark.parametrize("base_path", ["", "/abs", "../up", "a/../b", "a//b", ".hidden"])
def test_unsafe_base_paths_are_refused(storage_root: str, base_path: str) -> None:
    with pytest.raises(UsageError):
        StorageContext.open(StorageConfig(storage_root, base_path=base_path))


def test_movie_directory_is_under_root_and_base_path(storage_root: str) -> None:
    ctx = StorageContext.open(StorageConfig(storage_root, base_path="movies/v1"))
    assert ctx.movie_dir("demo") == f"{ctx.root}/movies/v1/demo"


def test_local_roots_are_resolved_to_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ctx = StorageContext.open(StorageConfig("relative/root"))
    assert ctx.is_local
    assert ctx.root == (tmp_path / "relative" / "root").as_posix()


def test_memory_roots_are_not_local() -> None:
    ctx = StorageContext.open(StorageConfig("memory://t-unused"))
    assert not ctx.is_local
    assert ctx.root == "/t-unused"


def test_prompt_paths_cannot_escape_the_prompts_directory(ctx: StorageContext) -> None:
    paths = movie_paths(ctx, "demo")
    assert paths.prompt("inquiry.txt").endswith("/demo/prompts/inquiry.txt")
    with pytest.raises(UsageError):
        paths.prompt("../current.json")


def test_init_creates_the_documented_layout(ctx: StorageContext) -> None:
    result = init_movie(ctx, "demo")
    paths = movie_paths(ctx, "demo")
    if ctx.is_object_store:  # no directories, and a log is a (still empty) set of segments
        assert result.created == ("current.json",)
        assert ctx.read_bytes(paths.current) == CURRENT_STUB
        return
    assert set(result.created) == EXPECTED_LAYOUT
    assert is_initialised(ctx, "demo")
    assert ctx.read_bytes(paths.current) == CURRENT_STUB
    assert ctx.read_bytes(paths.inputs_log) == b""
    assert ctx.read_bytes(paths.artefacts_log) == b""
    for directory in (paths.manifests_dir, paths.runs_dir, paths.blobs_dir, paths.prompts_dir):
        assert ctx.exists(directory)


def test_init_is_idempotent_and_never_overwrites(ctx: StorageContext) -> None:
    init_movie(ctx, "demo")
    paths = movie_paths(ctx, "demo")
    with ctx.fs.open(paths.inputs_log, "wb") as stream:
        stream.write(b'{"existing": true}\n')
    with ctx.fs.open(paths.current, "wb") as stream:
        stream.write(b"keep me")
    again = init_movie(ctx, "demo")
    assert again.created == ()
    assert again.already_initialised
    assert ctx.read_bytes(paths.inputs_log) == b'{"existing": true}\n'
    assert ctx.read_bytes(paths.current) == b"keep me"


def test_init_completes_a_partially_created_movie(ctx: StorageContext) -> None:
    paths = movie_paths(ctx, "demo")
    ctx.makedirs(paths.events_dir)
    result = init_movie(ctx, "demo")
    assert "events/" not in result.created
    assert "current.json" in result.created


def test_uninitialised_movie_is_reported_with_a_hint(ctx: StorageContext) -> None:
    from tutopanda.core.store.manifest_store import ManifestStore

    with pytest.raises(MovieNotInitialisedError) as caught:
        ManifestStore(ctx, "nope")
    assert caught.value.hint is not None and "storage init --movie nope" in caught.value.hint


def test_disk_full_becomes_a_storage_error_naming_the_path() -> None:
    error = storage_error(OSError(errno.ENOSPC, "No space left on device"), "writing", "/x/current.json")
    assert isinstance(error, StorageError)
    assert error.message == "disk full writing /x/current.json"
    assert error.hint is not None
