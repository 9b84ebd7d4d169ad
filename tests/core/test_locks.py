"""One build per movie: a second taker gets a clear error naming the holder; the lock frees on exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from tutopanda.core.errors import LockHeldError
from tutopanda.core.store.locks import holding_movie_lock, movie_lock
from tutopanda.core.store.storage import StorageConfig, StorageContext


def test_second_taker_is_refused_with_the_holder_named(ctx: StorageContext, movie: str) -> None:
    with movie_lock(ctx, movie, command="tutopanda build"), pytest.raises(LockHeldError) as caught:
        movie_lock(ctx, movie, command="tutopanda edit").acquire()
    message = caught.value.message
    assert f"pid {os.getpid()}" in message
    assert socket.gethostname() in message
    assert "tutopanda build" in message
    assert "since 2026-01-01T" in message
    assert caught.value.hint is not None


def test_lock_can_be_taken_again_after_release(ctx: StorageContext, movie: str) -> None:
    with movie_lock(ctx, movie):
        pass
    lock = movie_lock(ctx, movie).acquire()
    assert lock.is_held
    lock.release()
    assert not lock.is_held


def test_differently_named_locks_do_not_block_each_other(ctx: StorageContext, movie: str) -> None:
    with movie_lock(ctx, movie, "build"), movie_lock(ctx, movie, "pointer"):
        pass


def test_locks_of_different_movies_are_independent(ctx: StorageContext) -> None:
    with movie_lock(ctx, "one"), movie_lock(ctx, "two"):
        pass


def test_a_lock_held_for_a_commands_steps_is_joined_by_them_and_refuses_everyone_else(
    ctx: StorageContext, movie: str
) -> None:
    """``edit`` holds the build lock while it records and builds; the build's own lock joins it."""
    refused: list[str] = []

    def other_taker() -> None:  # another thread starts with its own context: not one of the steps
        try:
            movie_lock(ctx, movie, command="tutopanda build").acquire().release()
        except LockHeldError as exc:
            refused.append(exc.message)

    with holding_movie_lock(ctx, movie, command="tutopanda edit") as held:
        with movie_lock(ctx, movie, command="tutopanda build run") as step:
            assert step.is_held
        assert held.is_held  # the step's release left the command's lock alone
        thread = threading.Thread(target=other_taker)
        thread.start()
        thread.join()
    assert len(refused) == 1 and "(tutopanda edit)" in refused[0]
    with movie_lock(ctx, movie), pytest.raises(LockHeldError):  # free again, and no longer joinable
        movie_lock(ctx, movie).acquire()


_HOLDER = textwrap.dedent(
    """
    import sys
    from tutopanda.core.store.locks import holding_movie_lock, movie_lock
    from tutopanda.core.store.storage import StorageConfig, StorageContext
    ctx = StorageContext.open(StorageConfig(sys.argv[1]))
    with movie_lock(ctx, "demo", command="tutopanda build demo"):
        print("locked", flush=True)
        sys.stdin.readline()
    """
)


def test_lock_is_held_across_processes_and_freed_when_the_holder_exits(tmp_path: Path) -> None:
    ctx = StorageContext.open(StorageConfig(str(tmp_path)))
    with subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "locked"
            with pytest.raises(LockHeldError) as caught:
                movie_lock(ctx, "demo").acquire()
            assert f"pid {child.pid}" in caught.value.message
            assert "tutopanda build demo" in caught.value.message
        finally:
            child.kill()  # no clean release: the OS must free the lock
            child.wait()
    with movie_lock(ctx, "demo"):
        pass
