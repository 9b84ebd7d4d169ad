"""The blob store: content addressing, dedupe, streaming puts in bounded memory, verified reads."""

from __future__ import annotations

import errno
import hashlib
import io
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tutopanda.core.errors import BlobNotFoundError, CorruptDataError, StorageError, UsageError
from tutopanda.core.store import atomic_file
from tutopanda.core.store.blob_ref import BlobRef
from tutopanda.core.store.blob_store import BlobStore, hash_file
from tutopanda.core.store.movie_paths import init_movie, movie_paths
from tutopanda.core.store.storage import StorageConfig, StorageContext


def test_put_and_get_bytes(ctx: StorageContext, movie: str) -> None:
    store = BlobStore(ctx, movie)
    ref = store.put_bytes(b"narration", "audio/mpeg")
    assert ref == BlobRef(hash=hashlib.sha256(b"narration").hexdigest(), size=9, mime_type="audio/mpeg")
    path = store.path_of(ref)
    assert path == f"{movie_paths(ctx, movie).blobs_dir}/{ref.hash[:2]}/{ref.hash}.mp3"
    assert store.exists(ref) and store.exists(ref.hash)
    assert store.get_bytes(ref) == b"narration"
    assert store.get_bytes(ref.hash) == b"narration"


def test_same_bytes_are_written_once(
    ctx: StorageContext, movie: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BlobStore(ctx, movie)
    first = store.put_bytes(b"same", "text/plain")
    temp_files: list[str] = []
    real = atomic_file.temp_path_for

    def counting(*args: Any, **kwargs: Any) -> str:
        temp_files.append(real(*args, **kwargs))
        return temp_files[-1]

    monkeypatch.setattr("tutopanda.core.store.blob_store.temp_path_for", counting)
    assert store.put_bytes(b"same", "text/plain") == first
    assert store.put_stream(iter([b"sa", b"me"]), "text/plain") == first
    # the streaming put must hash before it knows; it then discards its temp copy (a local spool on S3)
    assert len(temp_files) == (0 if ctx.is_object_store else 1)
    shard = ctx.join(movie_paths(ctx, movie).blobs_dir, first.hash[:2])
    assert ctx.list_names(shard) == [f"{first.hash}.txt"]
    assert ctx.list_names(movie_paths(ctx, movie).blob_temp_dir) == []


def test_put_stream_from_an_iterator_and_from_a_file_object(ctx: StorageContext, movie: str) -> None:
    store = BlobStore(ctx, movie)
    chunks = [b"frame-%d;" % i for i in range(1000)]
    ref = store.put_stream(iter(chunks), "image/png")
    assert ref.hash == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert ref.size == len(b"".join(chunks))
    assert store.put_stream(io.BytesIO(b"".join(chunks)), "image/png") == ref
    with store.open(ref) as stream:
        assert stream.read(8) == b"frame-0;"
        assert stream.read() == b"".join(chunks)[8:]


def test_put_file(ctx: StorageContext, movie: str, tmp_path: Path) -> None:
    source = tmp_path / "voice.wav"
    source.write_bytes(b"RIFF" + bytes(range(256)) * 5000)
    store = BlobStore(ctx, movie)
    ref = store.put_file(source, "audio/wav")
    assert (ref.hash, ref.size) == hash_file(source)
    assert store.path_of(ref).endswith(".wav")
    assert store.get_bytes(ref) == source.read_bytes()
    assert store.put_file(source, "audio/wav") == ref
    with pytest.raises(StorageError, match="no such file"):
        store.put_file(tmp_path / "missing.wav", "audio/wav")


def test_missing_blobs_and_bad_hashes(ctx: StorageContext, movie: str) -> None:
    store = BlobStore(ctx, movie)
    ghost = BlobRef.for_bytes(b"never stored", "image/png")
    assert not store.exists(ghost)
    with pytest.raises(BlobNotFoundError) as caught:
        store.get_bytes(ghost)
    assert ghost.hash in caught.value.message and caught.value.hint is not None
    with pytest.raises(BlobNotFoundError), store.open(ghost.hash):
        pass
    with pytest.raises(UsageError):
        store.get_bytes("../../current.json")


def _corrupt(ctx: StorageContext, store: BlobStore, ref: BlobRef) -> None:
    with ctx.fs.open(store.path_of(ref), "wb") as stream:
        stream.write(b"bit rot!")


def test_verify_on_read_catches_corruption(ctx: StorageContext, movie: str) -> None:
    ref = BlobStore(ctx, movie).put_bytes(b"original", "text/plain")
    checked = BlobStore(ctx, movie, verify_on_read=True)
    assert checked.get_bytes(ref) == b"original"
    with checked.open(ref) as stream:
        assert stream.read() == b"original"
    _corrupt(ctx, checked, ref)
    with pytest.raises(CorruptDataError) as caught:
        checked.get_bytes(ref)
    assert ref.hash in caught.value.message
    with pytest.raises(CorruptDataError, match=ref.hash), checked.open(ref) as stream:
        stream.read()
    assert BlobStore(ctx, movie).get_bytes(ref) == b"bit rot!"  # unverified reads trust the store


def test_a_failing_stream_leaves_no_blob_and_no_temp_file(ctx: StorageContext, movie: str) -> None:
    def broken() -> Iterator[bytes]:
        yield b"partial"
        raise OSError(28, "No space left on device")

    store = BlobStore(ctx, movie)
    with pytest.raises(StorageError, match="disk full"):
        store.put_stream(broken(), "video/mp4")
    assert ctx.list_names(movie_paths(ctx, movie).blob_temp_dir) == []
    assert [n for n in ctx.list_names(movie_paths(ctx, movie).blobs_dir) if not n.startswith(".")] == []


_BIG_PUT = textwrap.dedent(
    """
    import resource, sys
    from tutopanda.core.store.blob_store import BlobStore
    from tutopanda.core.store.storage import StorageConfig, StorageContext
    ctx = StorageContext.open(StorageConfig(sys.argv[1]))
    chunk = bytes(range(256)) * 4096  # 1 MiB
    ref = BlobStore(ctx, "demo").put_stream((chunk for _ in range(1024)), "video/mp4")
    # VmHWM is this process's own peak RSS; ru_maxrss would also count the parent's RSS at fork, which
    # Linux carries across execve (a big pytest process made this test fail for the wrong reason).
    try:
        with open("/proc/self/status") as status:
            peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(ref.size, peak)
    """
)


@pytest.mark.slow
def test_a_one_gib_streaming_put_stays_under_100_mib_of_memory(tmp_path: Path) -> None:
    ctx = StorageContext.open(StorageConfig(str(tmp_path)))
    init_movie(ctx, "demo")
    try:
        result = subprocess.run(
            [sys.executable, "-c", _BIG_PUT, str(tmp_path)], capture_output=True, text=True, check=True
        )
        size, peak_kib = (int(field) for field in result.stdout.split())
        assert size == 1024 * 1024 * 1024
        assert peak_kib < 100 * 1024, f"peak RSS {peak_kib // 1024} MiB"
    finally:
        for blob in (tmp_path / "builds" / "demo" / "blobs").rglob("*.mp4"):
            blob.unlink()


def _folder_syncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every folder fsync the local backend makes, in order (counted, still done)."""
    from tutopanda.core.store.backends import local_disk

    synced: list[str] = []
    real = local_disk.fsync_directory

    def counting(directory: str) -> None:
        synced.append(directory)
        real(directory)

    monkeypatch.setattr(local_disk, "fsync_directory", counting)
    return synced


@pytest.mark.parametrize("backend", ["local"])  # folders are fsynced on local disk only
def test_a_deferred_block_fsyncs_each_blob_folder_once_when_it_ends(
    ctx: StorageContext, movie: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BlobStore(ctx, movie)
    blobs_dir = movie_paths(ctx, movie).blobs_dir
    store.put_bytes(b"first", "text/plain")  # its shard, and the temp folder, exist from here on
    payloads = [f"payload {index}".encode() for index in range(60)]
    synced = _folder_syncs(monkeypatch)
    with store.deferred_folder_sync() as later:
        refs = [store.put_bytes(data, "text/plain", sync_later=later) for data in payloads]
        shard_syncs_inside = [path for path in synced if path != blobs_dir]
    shards = {store.path_of(ref).rpartition("/")[0] for ref in refs}
    assert shard_syncs_inside == []  # new shards synced their parent's entry, nothing else
    after = [path for path in synced if path != blobs_dir]
    assert sorted(after) == sorted(shards)  # one fsync per folder, not per blob
    assert len(shards) < len(payloads)
    assert all(store.get_bytes(ref) == data for ref, data in zip(refs, payloads, strict=True))


@pytest.mark.parametrize("backend", ["local"])  # folders are fsynced on local disk only
@pytest.mark.parametrize("same_store", [True, False], ids=["same store", "another store"])
def test_a_put_finding_a_blob_whose_folder_sync_is_pending_syncs_that_folder_itself(
    ctx: StorageContext, movie: str, monkeypatch: pytest.MonkeyPatch, same_store: bool
) -> None:
    # Another job storing the same bytes may record them at once, so the rename must be durable first:
    # also from another store of the movie (a durable worker runs batches side by side, one store each).
    store = BlobStore(ctx, movie)
    other = store if same_store else BlobStore(ctx, movie)
    store.put_bytes(b"make the shard folders exist", "text/plain")
    synced = _folder_syncs(monkeypatch)
    with store.deferred_folder_sync() as later:
        ref = store.put_bytes(b"shared bytes", "text/plain", sync_later=later)
        folder = store.path_of(ref).rpartition("/")[0]
        synced.clear()
        assert other.put_bytes(b"shared bytes", "text/plain") == ref
        assert synced == [folder]
    synced.clear()
    other.put_bytes(b"shared bytes", "text/plain")  # block ended: its folders are synced already
    assert synced == []


@pytest.mark.parametrize("backend", ["local"])  # folders are fsynced on local disk only
def test_a_deferred_block_still_syncs_its_folders_when_it_raises(
    ctx: StorageContext, movie: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BlobStore(ctx, movie)
    store.put_bytes(b"make the shard folders exist", "text/plain")
    synced = _folder_syncs(monkeypatch)
    with pytest.raises(RuntimeError), store.deferred_folder_sync() as later:
        ref = store.put_bytes(b"stored before the failure", "text/plain", sync_later=later)
        raise RuntimeError("the next blob failed")
    assert store.path_of(ref).rpartition("/")[0] in synced


def test_deferred_puts_store_and_read_back_on_every_backend(ctx: StorageContext, movie: str) -> None:
    store = BlobStore(ctx, movie)
    with store.deferred_folder_sync() as later:
        refs = [
            store.put_stream(iter([f"part {i}".encode()]), "text/plain", sync_later=later) for i in range(5)
        ]
    assert [store.get_bytes(ref) for ref in refs] == [f"part {i}".encode() for i in range(5)]


@pytest.mark.parametrize("backend", ["local"])  # folders are fsynced on local disk only
def test_a_folder_whose_deferred_fsync_failed_is_fsynced_by_the_next_put_finding_its_blob(
    ctx: StorageContext, movie: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its entry may not survive a power cut: a later put of the same bytes (whose caller records the
    blob at once) must not trust it without a good fsync."""
    from tutopanda.core.store.backends import local_disk

    store = BlobStore(ctx, movie)
    store.put_bytes(b"make the shard folders exist", "text/plain")
    real = local_disk.fsync_directory

    def failing(directory: str) -> None:
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(StorageError), store.deferred_folder_sync() as later:
        ref = store.put_bytes(b"bytes in a folder not made durable", "text/plain", sync_later=later)
        monkeypatch.setattr(local_disk, "fsync_directory", failing)  # when the block ends
    assert store.lost_in(ref, later)
    monkeypatch.setattr(local_disk, "fsync_directory", real)
    synced = _folder_syncs(monkeypatch)
    assert store.put_bytes(b"bytes in a folder not made durable", "text/plain") == ref
    assert synced == [store.path_of(ref).rpartition("/")[0]]
    synced.clear()
    store.put_bytes(b"bytes in a folder not made durable", "text/plain")  # synced now: trusted again
    assert synced == []
