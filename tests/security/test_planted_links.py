"""No write follows a link planted in the store (issue 16, point 4).

The store is a folder anyone with write access can plant things in. A ``runs/`` folder replaced by a link
to ``/tmp/elsewhere``, a dangling ``events/inputs.log.rejected`` link, a ``movies/<id>`` folder leading
out: each would let an ordinary command (a build, an edit, a repair) create or overwrite files outside the
storage root. For every writing command, links are planted where it writes, the command runs through the
real CLI, and nothing outside the root may change; a refusal is one clean error line.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.badinput.clean_errors import CliResult, assert_clean_error, run_cli
from tests.security.conftest import MOVIE, SECRET
from tutopanda.core.errors import StorageError
from tutopanda.core.store.atomic_file import write_atomic
from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.event_log import input_log
from tutopanda.core.store.events import InputEvent
from tutopanda.core.store.hashing import hash_value, sha256_hex
from tutopanda.core.store.movie_paths import init_movie
from tutopanda.core.store.plan_store import PlanStore
from tutopanda.core.store.storage import StorageConfig, StorageContext


def _movie(root: Path) -> Path:
    return root / "builds" / MOVIE


def _snapshot(folder: Path) -> dict[str, tuple[str, bytes]]:
    """Every entry under ``folder`` (links not followed): its kind and, for files, its bytes."""
    found: dict[str, tuple[str, bytes]] = {}
    for directory, subdirs, names in os.walk(folder):
        for name in subdirs + names:
            path = Path(directory) / name
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink():
                found[relative] = ("link", str(path.readlink()).encode())
            elif path.is_dir():
                found[relative] = ("dir", b"")
            else:
                found[relative] = ("file", path.read_bytes())
    return found


def _link_folder(folder: Path, outside: Path, name: str) -> Path:
    """Move ``folder`` to ``outside/<name>`` and leave a link to it in its place; return the target."""
    target = outside / name
    shutil.move(folder, target)
    folder.symlink_to(target, target_is_directory=True)
    return target


def _change_narration(root: Path) -> None:
    """Give the movie something to rebuild (the narration, so the title and published name stay)."""
    prompt = _movie(root) / "prompts" / "segment-001" / "NarrationScript.txt"
    prompt.write_text("A different narration, so that something is rebuilt.\n", encoding="utf-8")


EDIT = ["edit", "--movie", MOVIE, "--yes"]


def _edit_with_linked_folder(name: str) -> Callable[[Path, Path], list[str]]:
    """The case of an edit that rebuilds while the movie's folder ``name`` is a link out of the store."""

    def plant(root: Path, outside: Path) -> list[str]:
        _change_narration(root)
        _link_folder(_movie(root) / name, outside, name)
        return EDIT

    return plant


def _plant_runs_for_build(root: Path, outside: Path) -> list[str]:
    _link_folder(_movie(root) / "runs", outside, "runs")
    return ["build", "run", "--movie", MOVIE, "--force", "Producer:Script.ScriptWriter", "--yes"]


def _plant_blob_temp(root: Path, outside: Path) -> list[str]:
    _change_narration(root)
    blobs = _movie(root) / "blobs"
    (outside / "blob-temp").mkdir()
    if (blobs / ".tmp").exists():
        shutil.rmtree(blobs / ".tmp")
    (blobs / ".tmp").symlink_to(outside / "blob-temp", target_is_directory=True)
    return EDIT


def _plant_blob_shards(root: Path, outside: Path) -> list[str]:
    """Every shard a new blob could land in leads out of the store."""
    _change_narration(root)
    blobs = _movie(root) / "blobs"
    (outside / "shards").mkdir()
    for number in range(256):
        shard = blobs / f"{number:02x}"
        if shard.exists():
            _link_folder(shard, outside / "shards", shard.name)
        else:
            (outside / "shards" / shard.name).mkdir()
            shard.symlink_to(outside / "shards" / shard.name, target_is_directory=True)
    return EDIT


def _plant_prompts(root: Path, outside: Path) -> list[str]:
    _link_folder(_movie(root) / "prompts", outside, "prompts")
    return ["inspect", "--movie", MOVIE, "--force"]


def _plant_published_folder(root: Path, outside: Path) -> list[str]:
    _change_narration(root)
    _link_folder(root / "movies" / MOVIE, outside, "published")
    return EDIT


def _plant_published_video(root: Path, outside: Path) -> list[str]:
    _change_narration(root)
    [video] = (root / "movies" / MOVIE).glob("*.mp4")
    (outside / "video.mp4").write_text(SECRET + "\n", encoding="utf-8")
    video.unlink()
    video.symlink_to(outside / "video.mp4")
    return EDIT


def _plant_new_movie_folder(root: Path, outside: Path) -> list[str]:
    (outside / "fresh").mkdir()
    (root / "builds" / "fresh").symlink_to(outside / "fresh", target_is_directory=True)
    return ["query", "How?", "--movie", "fresh", "--segments", "1", "--providers", "mock"]


def _plant_gc_shard(root: Path, outside: Path) -> list[str]:
    """An old, unreferenced "blob" in a shard that is a link: gc must not delete through it."""
    shard = outside / "shard-ee"
    shard.mkdir()
    blob = shard / ("ee" + "0" * 62 + ".bin")
    blob.write_text(SECRET, encoding="utf-8")
    old = time.time() - 10 * 24 * 3600
    os.utime(blob, (old, old))
    blobs = _movie(root) / "blobs"
    if (blobs / "ee").exists():
        shutil.rmtree(blobs / "ee")
    (blobs / "ee").symlink_to(shard, target_is_directory=True)
    return ["gc", "--movie", MOVIE, "--no-dry-run"]


def _plant_rejected_log(root: Path, outside: Path) -> list[str]:
    """A torn log whose ``.rejected`` file is a link out: the repair must not append through it."""
    events = _movie(root) / "events"
    with (events / "inputs.log").open("ab") as log:
        log.write(b'{"torn": ')
    (events / "inputs.log.rejected").symlink_to(outside / "secret.txt")
    return ["verify", "--movie", MOVIE, "--repair"]


def _plant_clean(root: Path, outside: Path) -> list[str]:
    """Links inside the movie's folders: deleting the movie removes the links, never their targets."""
    _link_folder(_movie(root) / "runs", outside, "runs")
    (root / "movies" / MOVIE / "extra").symlink_to(outside / "secret.txt")
    return ["movies", "clean", MOVIE, "--yes"]


def _plant_lock_file(root: Path, outside: Path) -> list[str]:
    """The build lock file is a link out: taking the lock must not truncate or create its target."""
    lock = _movie(root) / ".locks" / "build.lock"
    lock.unlink(missing_ok=True)
    lock.symlink_to(outside / "secret.txt")
    return ["gc", "--movie", MOVIE, "--no-dry-run"]


def _plant_locks_folder(root: Path, outside: Path) -> list[str]:
    _link_folder(_movie(root) / ".locks", outside, "locks")
    return ["gc", "--movie", MOVIE, "--no-dry-run"]


PLANTS: dict[str, Callable[[Path, Path], list[str]]] = {
    "edit/events-folder": _edit_with_linked_folder("events"),
    "edit/manifests-folder": _edit_with_linked_folder("manifests"),
    "edit/runs-folder": _edit_with_linked_folder("runs"),
    "edit/blob-temp-folder": _plant_blob_temp,
    "edit/blob-shards": _plant_blob_shards,
    "edit/published-folder": _plant_published_folder,
    "edit/published-video": _plant_published_video,
    "build-run/runs-folder": _plant_runs_for_build,
    "inspect/prompts-folder": _plant_prompts,
    "query/new-movie-folder": _plant_new_movie_folder,
    "gc/shard": _plant_gc_shard,
    "gc/lock-file": _plant_lock_file,
    "gc/locks-folder": _plant_locks_folder,
    "verify-repair/rejected-log": _plant_rejected_log,
    "movies-clean/links-inside": _plant_clean,
}

MUST_REFUSE = {
    "edit/events-folder",
    "edit/manifests-folder",
    "edit/runs-folder",
    "edit/blob-temp-folder",
    "edit/blob-shards",
    "edit/published-folder",
    "build-run/runs-folder",
    "inspect/prompts-folder",
    "query/new-movie-folder",
    "verify-repair/rejected-log",
    "gc/lock-file",
    "gc/locks-folder",
}
"""Cases where the write has nowhere safe to go: a clean refusal. In the others the command may succeed
(a link at the published file's name is replaced by the new file; gc and clean never descend links)."""


def _run(root: Path, argv: list[str]) -> CliResult:
    return run_cli("--root", str(root), *argv)


@pytest.mark.parametrize("case", sorted(PLANTS))
def test_no_command_writes_through_a_planted_link(root: Path, outside: Path, case: str) -> None:
    argv = PLANTS[case](root, outside)
    before = _snapshot(outside)
    result = _run(root, argv)
    assert _snapshot(outside) == before, f"{case}: something outside the storage root changed"
    assert (outside / "secret.txt").read_text(encoding="utf-8") == SECRET + "\n"
    # MUST_REFUSE: refused by the write itself, or earlier (the preview's private copy has no links).
    if case in MUST_REFUSE or result.code != 0:
        assert_clean_error(result)


def test_a_published_video_link_is_replaced_by_the_movie_not_followed(root: Path, outside: Path) -> None:
    argv = _plant_published_video(root, outside)
    result = _run(root, argv)
    assert result.code == 0, result.stderr
    [video] = (root / "movies" / MOVIE).glob("*.mp4")
    assert not video.is_symlink() and video.stat().st_size > 1000
    assert (outside / "video.mp4").read_text(encoding="utf-8") == SECRET + "\n"


# -- the store itself (local disk): every kind of write refuses a folder that leads out ---------------


@pytest.fixture
def store(tmp_path: Path) -> StorageContext:
    ctx = StorageContext.open(StorageConfig(tmp_path / "store"))
    init_movie(ctx, MOVIE)
    return ctx


def _lead_out(ctx: StorageContext, relative: str, outside: Path) -> None:
    folder = Path(ctx.movie_dir(MOVIE)) / relative
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    target = outside / relative.replace("/", "-")
    target.mkdir()
    folder.symlink_to(target, target_is_directory=True)


WRITES: dict[str, tuple[str, Callable[[StorageContext], object]]] = {
    "plan": ("runs", lambda ctx: PlanStore(ctx, MOVIE).save("rev-0001", {"revision": "rev-0001"})),
    "event": ("events", lambda ctx: input_log(ctx, MOVIE).append(_input_event(ctx))),
    "blob-temp": ("blobs/.tmp", lambda ctx: BlobStore(ctx, MOVIE).put_bytes(b"payload", "text/plain")),
    "blob-shard": (
        f"blobs/{sha256_hex(b'payload')[:2]}",
        lambda ctx: BlobStore(ctx, MOVIE).put_bytes(b"payload", "text/plain"),
    ),
    "manifest": (
        "manifests",
        lambda ctx: write_atomic(ctx, ctx.join(ctx.movie_dir(MOVIE), "manifests/x"), b"x"),
    ),
    "prompt-index": ("prompts", lambda ctx: ctx.makedirs(ctx.join(ctx.movie_dir(MOVIE), "prompts/a"))),
}


def _input_event(ctx: StorageContext) -> InputEvent:
    hashed = hash_value("text")
    return InputEvent(
        id="Input:Prompt",
        revision="rev-0001",
        hash=hashed.hash,
        digest=hashed.digest,
        payload="text",
        edited_by="user",
        created_at=ctx.clock.timestamp(),
    )


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_store_write_into_a_folder_leading_out_is_refused(
    store: StorageContext, outside: Path, write: str
) -> None:
    relative, action = WRITES[write]
    _lead_out(store, relative, outside)
    before = _snapshot(outside)
    with pytest.raises(StorageError, match=r"link|leads out"):
        action(store)
    assert _snapshot(outside) == before


def test_a_new_movie_folder_leading_out_is_refused(tmp_path: Path, outside: Path) -> None:
    ctx = StorageContext.open(StorageConfig(tmp_path / "store"))
    Path(ctx.builds_dir()).mkdir(parents=True)
    Path(ctx.movie_dir("fresh")).symlink_to(outside, target_is_directory=True)
    with pytest.raises(StorageError, match="leads out"):
        init_movie(ctx, "fresh")
    assert sorted(path.name for path in outside.iterdir()) == ["secret.txt"]


def test_an_append_never_follows_a_log_that_is_a_link(store: StorageContext, outside: Path) -> None:
    log = Path(store.movie_dir(MOVIE)) / "events" / "inputs.log"
    log.unlink()
    log.symlink_to(outside / "secret.txt")
    with pytest.raises(StorageError, match="link"):
        input_log(store, MOVIE).append(_input_event(store))
    assert (outside / "secret.txt").read_text(encoding="utf-8") == SECRET + "\n"


def test_a_folder_replaced_by_a_link_after_earlier_writes_is_refused(
    store: StorageContext, outside: Path
) -> None:
    """The local backend remembers folders it found inside the root; a link planted later is not one."""
    log = input_log(store, MOVIE)
    log.append(_input_event(store))  # events/ checked (and remembered) once
    _link_folder(Path(store.movie_dir(MOVIE)) / "events", outside, "events")
    before = _snapshot(outside)
    with pytest.raises(StorageError, match=r"leads out"):
        log.append(_input_event(store))
    assert _snapshot(outside) == before


def test_a_blob_shard_replaced_by_a_link_after_earlier_blobs_is_refused(
    store: StorageContext, outside: Path
) -> None:
    """Blob shards and the temp folder change with every blob, so they are remembered by their parent's
    state: moving a remembered shard out and linking to it is still caught (and nothing lands outside)."""
    blobs = BlobStore(store, MOVIE)
    first = blobs.put_bytes(b"first blob", "text/plain")
    shard = Path(blobs.path_of(first)).parent
    second = next(  # another payload whose blob lands in the same (now remembered) shard
        data for data in (f"blob {n}".encode() for n in range(10_000)) if sha256_hex(data)[:2] == shard.name
    )
    blobs.put_bytes(second[::-1] + second, "text/plain")  # more writes through the remembered folders
    _link_folder(shard, outside, "shard")
    before = _snapshot(outside)
    with pytest.raises(StorageError, match=r"leads out"):
        blobs.put_bytes(second, "text/plain")
    assert _snapshot(outside) == before


def test_a_movie_folder_moved_out_and_linked_after_earlier_blobs_is_refused(
    store: StorageContext, outside: Path
) -> None:
    """A rename keeps every inode below it, and neither a shard nor ``blobs/`` changes: the folders
    above them up to the root are part of what is remembered, so the move is still caught."""
    blobs = BlobStore(store, MOVIE)
    first = blobs.put_bytes(b"first blob", "text/plain")
    shard = Path(blobs.path_of(first)).parent.name
    same_shard = [d for d in (f"blob {n}".encode() for n in range(20_000)) if sha256_hex(d)[:2] == shard][:2]
    blobs.put_bytes(same_shard[0], "text/plain")  # the shard and the temp folder remembered
    _link_folder(Path(store.movie_dir(MOVIE)), outside, MOVIE)
    before = _snapshot(outside)
    with pytest.raises(StorageError, match=r"leads out"):
        blobs.put_bytes(same_shard[1], "text/plain")
    assert _snapshot(outside) == before


def test_the_builds_folder_moved_out_and_linked_after_earlier_appends_is_refused(
    store: StorageContext, outside: Path
) -> None:
    log = input_log(store, MOVIE)
    log.append(_input_event(store))  # events/ remembered
    _link_folder(Path(store.builds_dir()), outside, "builds")
    before = _snapshot(outside)
    with pytest.raises(StorageError, match=r"leads out"):
        log.append(_input_event(store))
    assert _snapshot(outside) == before
