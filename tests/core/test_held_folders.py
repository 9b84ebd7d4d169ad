"""A build's blob puts through held folder descriptors: same results, same durability, no write through
a link planted in the store, and every descriptor closed when the block ends."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tutopanda.core.engine.runner import drain_then_close
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
def test_a_blob_folder_leading_out_of_the_store_is_not_held_and_refused_by_path(
    ctx: StorageContext, movie: str, tmp_path: Path
) -> None:
    store = BlobStore(ctx, movie)
    blobs = Path(movie_paths(ctx, movie).blobs_dir)
    elsewhere = tmp_path / "elsewhere"
    blobs.rename(elsewhere)
    blobs.symlink_to(elsewhere, target_is_directory=True)
    files_before = sorted(elsewhere.rglob("*"))
    with store.held_folders(), pytest.raises(StorageError, match="storage root"):
        store.put_bytes(b"never written", "text/plain")
    assert sorted(elsewhere.rglob("*")) == files_before


@pytest.mark.parametrize("backend", ["local"])
def test_a_shard_linked_to_a_folder_inside_the_store_is_accepted_as_by_path(
    ctx: StorageContext, movie: str
) -> None:
    # A build's held writes take the same decision as every other command's path-checked ones.
    store = BlobStore(ctx, movie)
    data = _in_shard("cd")[0]
    inside = Path(ctx.root) / "kept-inside"
    inside.mkdir()
    (Path(movie_paths(ctx, movie).blobs_dir) / "cd").symlink_to(inside, target_is_directory=True)
    with store.held_folders():
        ref = store.put_bytes(data, "text/plain")
    assert store.get_bytes(ref) == data and (inside / Path(store.path_of(ref)).name).is_file()


@pytest.mark.parametrize("backend", ["local"])
def test_a_build_keeps_no_more_folder_descriptors_than_its_budget(
    ctx: StorageContext, movie: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shard folders are remembered open only within a share of the open-file limit (a 256-file limit
    # ran a build out of descriptors); beyond it they are opened per operation, and all are closed.
    from tutopanda.core.store.backends import held_folder

    budget = held_folder._Budget()
    monkeypatch.setattr(held_folder, "_BUDGET", budget)
    monkeypatch.setattr(held_folder, "_descriptor_budget", lambda: 5)
    store = BlobStore(ctx, movie)
    blobs_dir = movie_paths(ctx, movie).blobs_dir
    before = _open_descriptors()
    with store.held_folders():
        refs = [store.put_bytes(f"segment {index}".encode(), "text/plain") for index in range(600)]
        held = [path for path in _open_descriptors() if path.startswith(blobs_dir)]
    assert len({ref.hash[:2] for ref in refs}) > 200
    assert blobs_dir in held and len(held) <= 1 + 5
    assert _open_descriptors() == before and budget.take()  # every one given back
    assert [store.get_bytes(ref) for ref in refs[:3]] == [b"segment 0", b"segment 1", b"segment 2"]


@pytest.mark.parametrize("backend", ["local"])
@pytest.mark.parametrize("change", ["removed", "made again", "renamed"])
def test_a_shard_removed_or_moved_during_a_run_is_found_again_by_its_name(
    ctx: StorageContext, movie: str, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As by path: a removed folder is made again at once (also when another writer made it again first:
    # gc may empty and remove a shard while a durable batch writes, without waiting for the
    # once-a-second check); a moved one is noticed within a second.
    if change == "renamed":
        monkeypatch.setattr("tutopanda.core.store.backends.held_folder.RECHECK_SECONDS", 0.0)
    store = BlobStore(ctx, movie)
    first, second = _in_shard("ef", 2)
    with store.held_folders():
        shard = Path(store.path_of(store.put_bytes(first, "text/plain"))).parent
        if change == "renamed":
            shard.rename(shard.with_name("ef.old"))
        else:
            for file in shard.iterdir():
                file.unlink()
            shard.rmdir()
            if change == "made again":
                shard.mkdir()
        ref = store.put_bytes(second, "text/plain")
    assert Path(store.path_of(ref)).read_bytes() == second


@pytest.mark.parametrize("backend", ["local"])
def test_a_ctrl_c_while_waiting_for_the_stores_lets_the_folders_go_only_after_them(
    ctx: StorageContext, movie: str
) -> None:
    # A second Ctrl-C can interrupt the run while it waits for its store threads: those finish their
    # puts through the held descriptors, which are closed (by the draining thread) only after them.
    store = BlobStore(ctx, movie)
    blobs_dir = movie_paths(ctx, movie).blobs_dir
    before = _open_descriptors()
    release, stored = threading.Event(), []
    pool = ThreadPoolExecutor(2)
    stack = contextlib.ExitStack()
    stack.enter_context(store.held_folders())
    store.put_bytes(b"the temp folder is remembered", "text/plain")

    def slow_put() -> None:
        assert release.wait(timeout=60)
        stored.append(store.put_bytes(b"paid for, still being stored", "text/plain"))

    pool.submit(slow_put)
    drained = drain_then_close(pool, stack)  # what the run does
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        drained.wait(timeout=60)  # the interrupted wait
    assert blobs_dir in _open_descriptors()  # still held: the put has not run yet
    release.set()
    assert drained.wait(timeout=60)
    assert _open_descriptors() == before
    assert store.get_bytes(stored[0]) == b"paid for, still being stored"
    assert store.put_bytes(b"after the block", "text/plain")  # by path from now on


@pytest.mark.parametrize("backend", ["local"])
def test_a_shard_that_may_be_written_but_not_listed_is_written_by_path(
    ctx: StorageContext, movie: str
) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any folder")
    store = BlobStore(ctx, movie)
    first, second = _in_shard("cd", 2)
    shard = Path(store.path_of(store.put_bytes(first, "text/plain"))).parent
    shard.chmod(0o333)
    try:
        with store.held_folders():
            ref = store.put_bytes(second, "text/plain")
    finally:
        shard.chmod(0o755)
    assert store.get_bytes(ref) == second


@pytest.mark.parametrize("backend", ["local"])
@pytest.mark.parametrize("verified", [True, False], ids=["verified store", "plain store"])
@pytest.mark.parametrize("held", [True, False], ids=["held", "by path"])
@pytest.mark.parametrize("target", ["fifo", "file"])
def test_a_link_whose_size_matches_is_not_taken_for_the_blob(
    ctx: StorageContext, movie: str, tmp_path: Path, verified: bool, held: bool, target: str
) -> None:
    store = BlobStore(ctx, movie, verify_on_read=verified)
    planted = tmp_path / f"a-{target}-outside"
    if target == "fifo":
        os.mkfifo(planted)
        data = b"n" * len(str(planted))  # a link's own size is the length of what it names
    else:
        data = b"the user's narration text"
        planted.write_bytes(b"S" * len(data))  # the target's size matches
    final = Path(store.path_of(store.put_bytes(data, "text/plain")))
    final.unlink()
    final.symlink_to(planted)
    with store.held_folders() if held else contextlib.nullcontext():
        store.put_bytes(data, "text/plain")
    assert not final.is_symlink() and final.read_bytes() == data
    assert target == "fifo" or planted.read_bytes() == b"S" * len(data)


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


@pytest.mark.parametrize("backend", ["local"])
def test_one_folder_failing_does_not_leave_the_others_of_a_deferred_block_unsynced(
    ctx: StorageContext, movie: str, fsynced: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The disk fills while the second blob's new shard is made: the first blob's folder is still made
    # durable (its event is appended), and the error is the disk-full one, not a missing folder.
    store = BlobStore(ctx, movie)
    first = _in_shard("f0")[0]
    store.put_bytes(_in_shard("f0", 2)[1], "text/plain")  # shard f0 exists
    real_mkdir = os.mkdir

    def full(path: str, mode: int = 0o777, *, dir_fd: int | None = None) -> None:
        if dir_fd is not None:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_mkdir(path, mode)

    monkeypatch.setattr(os, "mkdir", full)
    with store.held_folders():
        fsynced.clear()
        with pytest.raises(StorageError, match="disk full"), store.deferred_folder_sync() as later:
            kept = store.put_bytes(first, "text/plain", sync_later=later)
            store.put_bytes(_in_shard("0a")[0], "text/plain", sync_later=later)
    assert str(Path(store.path_of(kept)).parent) in fsynced


@pytest.mark.parametrize("backend", ["local"])
@pytest.mark.parametrize("held", [True, False], ids=["held", "by path"])
def test_a_fifo_planted_where_a_folder_to_sync_was_is_not_waited_for(
    ctx: StorageContext, movie: str, held: bool
) -> None:
    store = BlobStore(ctx, movie)
    ended = threading.Event()

    def put_then_plant() -> None:
        holding = store.held_folders() if held else contextlib.nullcontext()
        with holding, store.deferred_folder_sync() as later:
            shard = Path(store.path_of(store.put_bytes(b"x", "text/plain", sync_later=later))).parent
            shard.rename(shard.with_name(shard.name + ".moved"))
            os.mkfifo(shard)
        ended.set()

    worker = threading.Thread(target=put_then_plant, daemon=True)
    worker.start()
    assert ended.wait(timeout=60), "the folder sync waited for a writer of the FIFO"


@pytest.mark.parametrize("backend", ["local"])
def test_a_blob_folder_moved_out_of_the_store_during_a_run_stops_being_written_to(
    ctx: StorageContext, movie: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tutopanda.core.store.backends.held_folder.RECHECK_SECONDS", 0.0)
    store = BlobStore(ctx, movie)
    blobs = Path(movie_paths(ctx, movie).blobs_dir)
    elsewhere = tmp_path / "moved-out"
    with store.held_folders():
        store.put_bytes(b"before the move", "text/plain")
        blobs.rename(elsewhere)
        blobs.symlink_to(elsewhere, target_is_directory=True)
        with pytest.raises(StorageError, match="storage root"):
            store.put_bytes(b"after the move", "text/plain")
    assert not any(file.read_bytes() == b"after the move" for file in elsewhere.rglob("*.txt"))


@pytest.mark.parametrize("backend", ["local"])
@pytest.mark.parametrize("planted", ["file", "link out of the store"])
def test_making_a_shard_where_something_else_is_planted_is_refused_as_by_path(
    ctx: StorageContext, movie: str, tmp_path: Path, planted: str
) -> None:
    store = BlobStore(ctx, movie)
    store.put_bytes(b"make the temp folder exist", "text/plain")
    shard = Path(movie_paths(ctx, movie).blobs_dir) / "9f"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if planted == "file":
        shard.write_bytes(b"not a folder")
    else:
        shard.symlink_to(elsewhere, target_is_directory=True)
    with store.held_folders(), pytest.raises(StorageError):
        store.put_bytes(_in_shard("9f")[0], "text/plain")
    assert list(elsewhere.iterdir()) == []
