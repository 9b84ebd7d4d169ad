"""``movies clean`` holds the movie's lock throughout, and no command works on a half-deleted movie.

The bug this guards against: ``clean`` deleted the movie folder in place — lock file included — so a
``build run`` started mid-clean took a fresh lock at once and built on a half-deleted movie (hundreds of
failed jobs, a store that no longer verified). Now the folder is renamed out of every command's reach
under the lock, then deleted; a command that was waiting for the lock sees its lock file gone.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import filelock
import pytest

import tutopanda.core.movie.catalogue as movies
from tests.badinput.clean_errors import CliResult, run_cli
from tutopanda.core.errors import LockHeldError
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.storage import StorageConfig, StorageContext

MOVIE = "doomed"
DEADLINE = 120.0


@pytest.fixture
def root(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    made = run_cli(
        "--root", str(store), "query", "Why?", "--movie", MOVIE, "--segments", "2", "--providers", "mock"
    )
    assert made.code == 0, made.stderr
    return store


def _in_thread(*argv: str) -> tuple[threading.Thread, list[CliResult]]:
    box: list[CliResult] = []
    thread = threading.Thread(target=lambda: box.append(run_cli(*argv)), daemon=True)
    thread.start()
    return thread, box


def test_commands_started_during_a_clean_never_touch_the_movie(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deleting, finish = threading.Event(), threading.Event()
    real_remove = movies._remove_tree

    def slow_remove(ctx: StorageContext, folder: str) -> None:
        deleting.set()
        assert finish.wait(DEADLINE)
        real_remove(ctx, folder)

    monkeypatch.setattr(movies, "_remove_tree", slow_remove)
    clean, cleaned = _in_thread("--root", str(root), "movies", "clean", MOVIE, "--yes")
    assert deleting.wait(DEADLINE)
    try:
        for argv in (
            ("build", "run", "--movie", MOVIE, "--providers", "mock"),
            ("edit", "--movie", MOVIE, "--yes"),
            ("gc", "--movie", MOVIE, "--no-dry-run"),
            ("verify", "--movie", MOVIE, "--repair", "--yes"),
        ):
            result = run_cli("--root", str(root), *argv)
            assert result.code in (1, 2), (argv, result.stdout[-1000:], result.stderr[-1000:])
            assert "Traceback" not in result.stderr
            assert "internal error" not in result.stderr
        assert not (root / "builds" / MOVIE / "current.json").exists()  # nothing re-created the movie
    finally:
        finish.set()
        clean.join(DEADLINE)
    assert not clean.is_alive()
    assert cleaned[0].code == 0, cleaned[0].stderr
    assert not (root / "builds" / MOVIE).exists() or not any((root / "builds" / MOVIE).rglob("*.json"))
    assert not [name for name in (root / "builds").iterdir() if name.name.startswith(".deleting-")]
    assert run_cli("--root", str(root), "verify", "--all").code == 0


def test_a_command_waiting_for_the_lock_stops_when_the_movie_was_deleted(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting = threading.Event()

    class ObservedLock(filelock.FileLock):
        def acquire(self, *args: Any, **kwargs: Any) -> Any:
            if self.timeout != 0:
                waiting.set()  # past makedirs: from here on the waiter polls the lock file
            return super().acquire(*args, **kwargs)

    monkeypatch.setattr(filelock, "FileLock", ObservedLock)
    ctx = StorageContext.open(StorageConfig(root=str(root)))
    holder = movie_lock(ctx, MOVIE, command="test holder")
    holder.acquire()
    errors: list[BaseException] = []

    def wait_for_lock() -> None:
        try:
            with movie_lock(ctx, MOVIE, timeout=DEADLINE, command="waiter"):
                pass
        except BaseException as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait_for_lock, daemon=True)
    waiter.start()
    assert waiting.wait(DEADLINE)
    # What clean does under its lock: the folder moves aside, then goes.
    doomed = movies._move_aside(ctx, MOVIE, ctx.movie_dir(MOVIE))
    movies._remove_tree(ctx, doomed)
    holder.release()
    waiter.join(DEADLINE)
    assert not waiter.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], LockHeldError)
    assert "was deleted while this command waited" in str(errors[0])


def test_clean_sweeps_what_an_interrupted_clean_left_aside(root: Path) -> None:
    remains = root / "builds" / ".deleting-old-0123456789ab"
    (remains / "blobs").mkdir(parents=True)
    (remains / "blobs" / "x.bin").write_bytes(b"x")
    assert run_cli("--root", str(root), "movies", "list").code == 0
    assert run_cli("--root", str(root), "movies", "clean", MOVIE, "--yes").code == 0
    assert not remains.exists()


def test_the_lock_holder_record_never_follows_a_planted_link(root: Path, tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    target.write_text("keep me\n", encoding="utf-8")
    locks = root / "builds" / MOVIE / ".locks"
    locks.mkdir(exist_ok=True)
    holder = locks / "build.holder.json"
    holder.unlink(missing_ok=True)
    holder.symlink_to(target)
    result = run_cli("--root", str(root), "build", "run", "--movie", MOVIE, "--providers", "mock")
    assert result.code == 0, result.stderr
    assert target.read_text(encoding="utf-8") == "keep me\n"
