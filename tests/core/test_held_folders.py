"""A build's blob puts through held folder descriptors: same results, same durability, no write through
a link planted in the store, and every descriptor closed when the block ends."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tutopanda.core.errors import StorageError
from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.movie_paths import movie_paths
from tutopanda.core.store.storage import StorageContext

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc/self/fd")


def _open_descriptors() -> set[str]:
    """What this process has open now (the targets of its descriptors)."""
    found = set()
    for entry in Path("/proc/self/fd").iterdir():
        try:
            found.add(str(entry.readlink()))
        except OSError:
            continue  # the listing's own descriptor, closed already
    return found


@pytest.fixture
def fsynced(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What every ``os.fsync`` made durable, by path, in order (counted, still done)."""
    synced: list[str] = []
    real = os.fsync

    def counting(fd: int) -> None:
        synced.append(str(Path(f"/proc/self/fd/{fd}").readlink()))
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    yield synced


def _in_shard(prefix: str, count: int = 1) -> list[bytes]:
    """``count`` payloads whose blobs land in shard ``prefix``."""
    found = []
    for index in range(1_000_000):
        data = f"payload {index}".encode()
        if hashlib.sha256(data).hexdigest().startswith(prefix):
            found.append(data)
            if len(found) == count:
                return found
    raise AssertionError(f"no payloads for shard {prefix}")


@pytest.mark.parametrize("backend", ["local"])
def test_puts_in_a_held_block_store_the_same_blobs_and_close_every_descriptor(
    ctx: StorageContext, movie: str
) -> None:
    plain, held = BlobStore(ctx, movie), BlobStore(ctx, movie, verify_on_read=True)
    blobs_dir = movie_paths(ctx, movie).blobs_dir
    before = _open_descriptors()
    payloads = [f"narration {index}".encode() for index in range(40)]
    with held.held_folders():
        refs = [held.put_bytes(data, "text/plain") for data in payloads]
        refs.append(held.put_stream(iter([b"a ", b"stream"]), "text/plain"))
        assert held.put_bytes(payloads[0], "text/plain") == refs[0]  # stored already: only hashed
        assert any(path.startswith(blobs_dir) for path in _open_descriptors() - before)
    assert _open_descriptors() == before
    assert [plain.get_bytes(ref) for ref in refs] == [*payloads, b"a stream"]
    assert all(Path(plain.path_of(ref)).is_file() for ref in refs)
    assert list(Path(movie_paths(ctx, movie).blob_temp_dir).iterdir()) == []


@pytest.mark.parametrize("backend", ["local"])
def test_a_held_put_makes_the_file_then_its_folder_durable_before_it_returns(
    ctx: StorageContext, movie: str, fsynced: list[str]
) -> None:
    store = BlobStore(ctx, movie)
    temp_dir = movie_paths(ctx, movie).blob_temp_dir
    with store.held_folders():
        ref = store.put_bytes(b"the first blob of its shard", "text/plain")
        shard = store.path_of(ref).rpartition("/")[0]
        blobs_dir = shard.rpartition("/")[0]
        # the temp file's bytes, the new shard's entry in blobs/, then the rename in the shard
        assert [path.rpartition("/")[0] for path in fsynced[:1]] == [temp_dir]
        assert fsynced[1:] == [blobs_dir, shard]
        fsynced.clear()
        with store.deferred_folder_sync() as later:
            more = [
                store.put_bytes(data, "text/plain", sync_later=later) for data in _in_shard(ref.hash[:2], 3)
            ]
            assert shard not in fsynced  # deferred to the end of the block
        assert fsynced.count(shard) == 1  # once for the three renames
    assert [store.get_bytes(blob) for blob in more] == _in_shard(ref.hash[:2], 3)


@pytest.mark.parametrize("backend", ["local"])
@pytest.mark.parametrize("planted", ["shard", "temp folder"])
def test_a_folder_replaced_by_a_link_out_of_the_store_is_refused(
    ctx: StorageContext, movie: str, tmp_path: Path, planted: str
) -> None:
    store = BlobStore(ctx, movie)
    store.put_bytes(b"make the temp folder exist", "text/plain")
    paths = movie_paths(ctx, movie)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    data = _in_shard("ab")[0]
    victim = Path(paths.blobs_dir) / "ab" if planted == "shard" else Path(paths.blob_temp_dir)
    if victim.exists():
        victim.rmdir()
    victim.symlink_to(elsewhere, target_is_directory=True)
    with store.held_folders(), pytest.raises(StorageError, match="link"):
        store.put_bytes(data, "text/plain")
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("backend", ["local"])
def test_a_link_planted_at_a_blobs_name_is_replaced_not_followed(
    ctx: StorageContext, movie: str, tmp_path: Path
) -> None:
    store = BlobStore(ctx, movie)
    data = b"the real narration"
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"x" * len(data))  # same size: a size check through the link would match
    final = Path(store.path_of(store.put_bytes(data, "text/plain")))
    final.unlink()
    final.symlink_to(outside)
    with store.held_folders():
        ref = store.put_bytes(data, "text/plain")
    assert not final.is_symlink() and final.read_bytes() == data
    assert outside.read_bytes() == b"x" * len(data)
    assert store.get_bytes(ref) == data


@pytest.mark.parametrize("backend", ["local"])
def test_a_blob_folder_leading_out_of_the_store_is_refused_when_held(
    ctx: StorageContext, movie: str, tmp_path: Path
) -> None:
    store = BlobStore(ctx, movie)
    blobs = Path(movie_paths(ctx, movie).blobs_dir)
    elsewhere = tmp_path / "elsewhere"
    blobs.rename(elsewhere)
    blobs.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(StorageError, match="storage root"), store.held_folders():
        pass


@pytest.mark.parametrize("backend", ["local"])
def test_a_corrupt_blob_is_written_again_through_held_folders(ctx: StorageContext, movie: str) -> None:
    store = BlobStore(ctx, movie, verify_on_read=True)
    data = b"the picture prompt"
    path = Path(store.path_of(store.put_bytes(data, "text/plain")))
    path.write_bytes(b"X" * len(data))  # same size, other bytes
    with store.held_folders():
        ref = store.put_bytes(data, "text/plain")
    assert path.read_bytes() == data and store.get_bytes(ref) == data


@pytest.mark.parametrize("backend", ["memory"])
def test_held_folders_change_nothing_where_there_are_no_folders_to_hold(
    ctx: StorageContext, movie: str
) -> None:
    store = BlobStore(ctx, movie)
    with store.held_folders(), store.held_folders():  # nested blocks reuse the outer one
        ref = store.put_bytes(b"in memory", "text/plain")
    assert store.get_bytes(ref) == b"in memory"
