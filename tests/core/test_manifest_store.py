"""Saving manifests: compare-and-swap on the pointer, immutability, and crash safety at every step."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tutopanda.core.errors import CorruptDataError, ManifestConflictError, UsageError
from tutopanda.core.store.atomic_file import is_temp_name
from tutopanda.core.store.blob_ref import BlobRef
from tutopanda.core.store.hashing import sha256_hex
from tutopanda.core.store.manifest import (
    Manifest,
    ManifestArtefact,
    ManifestInput,
    empty_manifest,
    manifest_bytes,
)
from tutopanda.core.store.manifest_store import SAVE_STEPS, ManifestStore
from tutopanda.core.store.movie_paths import init_movie, movie_paths
from tutopanda.core.store.storage import StorageConfig, StorageContext

WHEN = "2026-01-01T00:00:00.000Z"


class SimulatedCrash(BaseException):
    """Stands for the process dying: not an Exception, so no cleanup code treats it as an ordinary error."""


def _manifest(revision: str, base: str | None, prompt: str = "pandas") -> Manifest:
    blob = BlobRef.for_bytes(prompt.encode(), "text/plain")
    return Manifest(
        revision=revision,
        base_revision=base,
        created_at=WHEN,
        inputs={
            "Input:InquiryPrompt": ManifestInput(
                hash=sha256_hex(prompt.encode()), digest=prompt, created_at=WHEN
            )
        },
        artefacts={
            "Artifact:Script.Text": ManifestArtefact(
                hash=blob.hash,
                blob=blob,
                produced_by="Producer:Script.Producer",
                inputs_hash="a" * 64,
                provider="mock",
                created_at=WHEN,
            )
        },
    )


def test_before_the_first_save_the_current_manifest_is_the_empty_revision(
    ctx: StorageContext, movie: str
) -> None:
    store = ManifestStore(ctx, movie)
    snapshot = store.snapshot()
    assert snapshot.manifest == empty_manifest()
    assert snapshot.pointer_hash is None
    assert store.list_revisions() == []
    assert store.next_revision() == "rev-0001"


def test_save_then_load(ctx: StorageContext, movie: str) -> None:
    store = ManifestStore(ctx, movie)
    first = _manifest("rev-0001", None)
    pointer = store.save(first, None)
    assert pointer.revision == "rev-0001"
    assert pointer.manifest_path == "manifests/rev-0001.json"
    paths = movie_paths(ctx, movie)
    assert pointer.hash == sha256_hex(ctx.read_bytes(paths.manifest("rev-0001")))
    assert ctx.read_bytes(paths.manifest("rev-0001")) == manifest_bytes(first)
    assert pointer.updated_at is not None and pointer.updated_at.endswith("Z")

    second = _manifest("rev-0002", "rev-0001", "koalas")
    store.save(second, pointer.hash)
    fresh = ManifestStore(ctx, movie)
    assert fresh.load_current() == second
    assert fresh.load_revision("rev-0001") == first
    assert fresh.load_revision("rev-0000") == empty_manifest()
    assert fresh.list_revisions() == ["rev-0001", "rev-0002"]
    assert fresh.next_revision() == "rev-0003"


def test_a_stale_pointer_hash_loses_the_compare_and_swap(ctx: StorageContext, movie: str) -> None:
    store = ManifestStore(ctx, movie)
    start = store.snapshot()
    store.save(_manifest("rev-0001", None, "first writer"), start.pointer_hash)
    with pytest.raises(ManifestConflictError) as caught:
        store.save(_manifest("rev-0001", None, "second writer"), start.pointer_hash)
    assert caught.value.hint is not None and "reload" in caught.value.hint
    assert store.load_current().inputs["Input:InquiryPrompt"].digest == "first writer"


def test_manifests_are_immutable(ctx: StorageContext, movie: str) -> None:
    store = ManifestStore(ctx, movie)
    pointer = store.save(_manifest("rev-0001", None), None)
    paths = movie_paths(ctx, movie)
    orphan = manifest_bytes(_manifest("rev-0002", "rev-0001", "orphan"))
    with ctx.fs.open(paths.manifest("rev-0002"), "wb") as stream:
        stream.write(orphan)
    with pytest.raises(ManifestConflictError, match="already exists with different content") as caught:
        store.save(_manifest("rev-0002", "rev-0001", "different"), pointer.hash)
    assert caught.value.hint is not None and "rev-0003" in caught.value.hint
    assert ctx.read_bytes(paths.manifest("rev-0002")) == orphan
    assert store.load_current().revision == "rev-0001"


def test_revisions_must_move_forward_from_the_current_one(ctx: StorageContext, movie: str) -> None:
    store = ManifestStore(ctx, movie)
    pointer = store.save(_manifest("rev-0001", None), None)
    with pytest.raises(UsageError, match="based on"):
        store.save(_manifest("rev-0002", None), pointer.hash)
    with pytest.raises(UsageError):
        store.save(empty_manifest(), pointer.hash)


def test_a_tampered_manifest_is_detected_through_the_pointer_hash(ctx: StorageContext, movie: str) -> None:
    store = ManifestStore(ctx, movie)
    store.save(_manifest("rev-0001", None), None)
    path = movie_paths(ctx, movie).manifest("rev-0001")
    edited = ctx.read_bytes(path).replace(b'"digest":"pandas"', b'"digest":"edited"')
    with ctx.fs.open(path, "wb") as stream:
        stream.write(edited)
    with pytest.raises(CorruptDataError) as caught:
        ManifestStore(ctx, movie).load_current()
    assert "does not match the hash recorded in current.json" in caught.value.message
    assert caught.value.hint is not None


def test_a_missing_current_manifest_is_corrupt_data(ctx: StorageContext, movie: str) -> None:
    store = ManifestStore(ctx, movie)
    store.save(_manifest("rev-0001", None), None)
    ctx.remove(movie_paths(ctx, movie).manifest("rev-0001"))
    with pytest.raises(CorruptDataError, match="missing"):
        store.load_current()


def test_a_garbled_pointer_is_corrupt_data(ctx: StorageContext, movie: str) -> None:
    with ctx.fs.open(movie_paths(ctx, movie).current, "wb") as stream:
        stream.write(b'{"revision": "rev-0001", "manifestPath": "../../etc/passwd", "hash": null}')
    with pytest.raises(CorruptDataError, match="current-manifest pointer"):
        ManifestStore(ctx, movie).load_current()


def test_loading_an_unknown_revision_lists_the_saved_ones(ctx: StorageContext, movie: str) -> None:
    store = ManifestStore(ctx, movie)
    store.save(_manifest("rev-0001", None), None)
    with pytest.raises(UsageError) as caught:
        store.load_revision("rev-0042")
    assert caught.value.hint == "saved revisions: rev-0001"


def _temp_files(ctx: StorageContext, movie: str) -> list[str]:
    paths = movie_paths(ctx, movie)
    return [
        name
        for directory in (paths.root, paths.manifests_dir)
        for name in ctx.list_names(directory)
        if is_temp_name(name)
    ]


@pytest.mark.parametrize("step", SAVE_STEPS)
def test_a_crash_at_any_step_of_a_save_leaves_the_old_or_the_new_manifest(
    ctx: StorageContext, movie: str, step: str
) -> None:
    old = _manifest("rev-0001", None, "old")
    new = _manifest("rev-0002", "rev-0001", "new")
    old_pointer = ManifestStore(ctx, movie).save(old, None)

    def crash(current: str, _path: str) -> None:
        if current == step:
            raise SimulatedCrash(step)

    with pytest.raises(SimulatedCrash):
        ManifestStore(ctx, movie, hook=crash).save(new, old_pointer.hash)

    fresh = ManifestStore(ctx, movie)
    current = fresh.load_current()
    assert current == (new if step == "pointer:after-rename" else old)

    # the movie is still usable: the next save works and sweeps away any leftover temp files
    snapshot = fresh.snapshot()
    following = fresh.next_revision()
    latest = _manifest(following, snapshot.manifest.revision, "after the crash")
    fresh.save(latest, snapshot.pointer_hash)
    assert ManifestStore(ctx, movie).load_current() == latest
    assert _temp_files(ctx, movie) == []


def test_every_save_step_is_observable(ctx: StorageContext, movie: str) -> None:
    seen: list[str] = []
    ManifestStore(ctx, movie, hook=lambda step, _path: seen.append(step)).save(
        _manifest("rev-0001", None), None
    )
    assert tuple(seen) == SAVE_STEPS


_DYING_SAVER = textwrap.dedent(
    """
    import os, sys
    from tutopanda.core.store.manifest import parse_manifest
    from tutopanda.core.store.manifest_store import ManifestStore
    from tutopanda.core.store.storage import StorageConfig, StorageContext
    root, step, manifest_file = sys.argv[1], sys.argv[2], sys.argv[3]
    ctx = StorageContext.open(StorageConfig(root))
    def die(current, _path):
        if current == step:
            os._exit(9)
    store = ManifestStore(ctx, "demo", hook=die)
    with open(manifest_file, "rb") as stream:
        manifest = parse_manifest(stream.read(), manifest_file)
    store.save(manifest, store.snapshot().pointer_hash)
    """
)


@pytest.mark.parametrize("step", SAVE_STEPS)
def test_a_process_killed_mid_save_leaves_a_loadable_movie(tmp_path: Path, step: str) -> None:
    ctx = StorageContext.open(StorageConfig(str(tmp_path / "store")))
    init_movie(ctx, "demo")
    old = _manifest("rev-0001", None, "old")
    new = _manifest("rev-0002", "rev-0001", "new")
    ManifestStore(ctx, "demo").save(old, None)
    manifest_file = tmp_path / "new.json"
    manifest_file.write_bytes(manifest_bytes(new))
    result = subprocess.run(
        [sys.executable, "-c", _DYING_SAVER, str(tmp_path / "store"), step, str(manifest_file)], check=False
    )
    assert result.returncode == 9
    store = ManifestStore(ctx, "demo")
    assert store.load_current() == (new if step == "pointer:after-rename" else old)
    snapshot = store.snapshot()
    store.save(_manifest(store.next_revision(), snapshot.manifest.revision, "later"), snapshot.pointer_hash)
    assert _temp_files(ctx, "demo") == []
