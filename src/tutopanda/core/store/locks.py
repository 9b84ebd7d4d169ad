"""Named per-movie locks that work across processes, and say who holds them.

Two kinds of use, each with its own lock *name* so they never deadlock each other:

* ``build`` — held for a whole build ("one build per movie at a time"). Taken without waiting by
  default; if another process has it, :class:`LockHeldError` names the holder (pid, host, command, since).
* short internal locks — ``pointer`` (the compare-and-swap of ``current.json``) and one per event log
  (appends) — taken for microseconds, so callers wait up to a timeout.

Local storage uses :mod:`filelock` (an OS advisory lock: it is released by the kernel when the holder
dies, so a crashed build never leaves a stale lock). The lock files live in ``<movie>/.locks/``; the
holder's details are written beside the lock as ``<name>.holder.json`` purely for the error message.
Other backends (``memory://`` and object stores) get an in-process lock: ``memory://`` is private to the
process anyway; for shared object stores this is a documented limitation.

A command whose steps each take the ``build`` lock (``edit``: check the edits, record them, build) holds
it for all of them with :func:`holding_movie_lock`: the steps' own ``movie_lock`` calls in the same
context join the held lock instead of being refused by it, and no other process gets in between.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

import filelock

from tutopanda.core.errors import LockHeldError, StorageError
from tutopanda.core.store.movie_paths import LOCKS_DIR
from tutopanda.core.store.regular_file import read_regular, write_no_follow
from tutopanda.core.store.storage import StorageContext, storage_error, validate_relative_path

__all__ = ["LOCKS_DIR", "LockHolder", "MovieLock", "holding_movie_lock", "movie_lock"]


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock: enough for a user to find (and judge) the other process."""

    pid: int
    host: str
    command: str
    since: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} ({self.command}) since {self.since}"


class _MemoryLock:
    """A process-local lock with a recorded holder (for backends without OS file locks)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holder: LockHolder | None = None


_memory_locks: dict[str, _MemoryLock] = {}
_memory_locks_guard = threading.Lock()


def _memory_lock_for(key: str) -> _MemoryLock:
    with _memory_locks_guard:
        return _memory_locks.setdefault(key, _MemoryLock())


_held_for_steps: ContextVar[frozenset[str]] = ContextVar("tutopanda_held_locks", default=frozenset())
"""Keys of the locks :func:`holding_movie_lock` holds in this context (joined by nested takers)."""


class MovieLock:
    """A named lock on one movie; use as a context manager (``with movie_lock(ctx, "demo"): ...``)."""

    def __init__(
        self,
        ctx: StorageContext,
        movie_id: str,
        name: str = "build",
        *,
        timeout: float = 0.0,
        command: str | None = None,
    ) -> None:
        self._ctx = ctx
        self.movie_id = movie_id
        self.name = validate_relative_path(name, what="lock name")
        self.timeout = timeout
        self.command = command or Path(sys.argv[0]).name or "python"
        self._dir = ctx.join(ctx.movie_dir(movie_id), LOCKS_DIR)
        self._lock_path = ctx.join(self._dir, f"{self.name}.lock")
        self._holder_path = ctx.join(self._dir, f"{self.name}.holder.json")
        self._file_lock: filelock.BaseFileLock | None = None
        self._memory: _MemoryLock | None = None
        self._joined = False

    @property
    def key(self) -> str:
        """Identifies the lock across :class:`MovieLock` objects (storage root and lock file)."""
        return f"{self._ctx.key}|{self._lock_path}"

    def acquire(self) -> MovieLock:
        """Take the lock, waiting at most :attr:`timeout` seconds; raise :class:`LockHeldError` if not.

        Inside :func:`holding_movie_lock` for the same lock, join it instead (release is then a no-op).
        """
        if self.key in _held_for_steps.get():
            self._joined = True
            return self
        holder = LockHolder(os.getpid(), socket.gethostname(), self.command, self._ctx.clock.timestamp())
        if self._ctx.backend.local_paths:  # an OS file lock, released by the kernel if we die
            pointer = Path(self._dir).parent / "current.json"
            had_movie = pointer.exists()
            self._ctx.makedirs(self._dir)
            lock = filelock.FileLock(self._lock_path, timeout=self.timeout)
            try:
                lock.acquire(blocking=self.timeout != 0)
            except filelock.Timeout:
                raise self._held_error(self._read_holder()) from None
            except FileNotFoundError:  # the lock's folder went away while we waited: `movies clean`
                raise self._deleted_error() from None
            except OSError as exc:
                raise storage_error(exc, "locking", self._lock_path) from exc
            self._file_lock = lock
            if had_movie and not pointer.exists():  # `movies clean` moved it away while we waited
                self.release()
                raise self._deleted_error()
            with contextlib.suppress(OSError, StorageError):  # the holder file is informational only
                write_no_follow(self._holder_path, json.dumps(asdict(holder)).encode("utf-8"))
        else:
            memory = _memory_lock_for(f"{self._ctx.key}|{self._lock_path}")
            if self.timeout == 0:
                acquired = memory.lock.acquire(blocking=False)
            else:
                acquired = memory.lock.acquire(timeout=self.timeout if self.timeout > 0 else -1)
            if not acquired:
                raise self._held_error(memory.holder)
            memory.holder = holder
            self._memory = memory
        if self.name == "build":
            self._refuse_during_a_durable_build()
        return self

    def _refuse_during_a_durable_build(self) -> None:
        """A durable (DBOS) build holds the movie through a record in the store, not this lock, since
        it outlives every process that works on it (:mod:`tutopanda.core.store.durable_lock`)."""
        from tutopanda.core.store.durable_lock import check_durable_hold

        try:
            check_durable_hold(self._ctx, self.movie_id, self.name)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Release the lock (no-op if not held by this object)."""
        self._joined = False
        if self._file_lock is not None:
            with contextlib.suppress(OSError):
                Path(self._holder_path).unlink(missing_ok=True)
            self._file_lock.release()
            self._file_lock = None
        if self._memory is not None:
            self._memory.holder = None
            self._memory.lock.release()
            self._memory = None

    @property
    def is_held(self) -> bool:
        return self._joined or self._file_lock is not None or self._memory is not None

    def _read_holder(self) -> LockHolder | None:
        try:
            data = json.loads(read_regular(self._holder_path, _HOLDER_LIMIT).decode("utf-8"))
            return LockHolder(int(data["pid"]), str(data["host"]), str(data["command"]), str(data["since"]))
        except (OSError, ValueError, KeyError, TypeError, StorageError):
            return None  # a planted pipe or giant file is no holder: say "another process"

    def _deleted_error(self) -> LockHeldError:
        return LockHeldError(
            f"movie '{self.movie_id}' was deleted while this command waited for it",
            "run 'tutopanda movies list' to see the movies there are",
        )

    def _held_error(self, holder: LockHolder | None) -> StorageError:
        who = holder.describe() if holder else "another process"
        return LockHeldError(
            f"movie '{self.movie_id}' is locked ({self.name}) by {who}",
            "wait for that command to finish; the lock is freed automatically when its process exits",
        )

    def __enter__(self) -> MovieLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


_HOLDER_LIMIT = 64 * 1024
"""A holder file is a short JSON line; anything bigger was not written by us."""


def movie_lock(
    ctx: StorageContext,
    movie_id: str,
    name: str = "build",
    *,
    timeout: float = 0.0,
    command: str | None = None,
) -> MovieLock:
    """A :class:`MovieLock` (not yet acquired). ``timeout`` 0 = fail at once, < 0 = wait forever."""
    return MovieLock(ctx, movie_id, name, timeout=timeout, command=command)


@contextlib.contextmanager
def holding_movie_lock(
    ctx: StorageContext,
    movie_id: str,
    name: str = "build",
    *,
    timeout: float = 0.0,
    command: str | None = None,
) -> Iterator[MovieLock]:
    """Hold a lock for several steps of one command: nested takers of it in this context join it.

    Raises :class:`LockHeldError` like :func:`movie_lock` when another process (or another holder in
    this process) has it.
    """
    with movie_lock(ctx, movie_id, name, timeout=timeout, command=command) as lock:
        token = _held_for_steps.set(_held_for_steps.get() | {lock.key})
        try:
            yield lock
        finally:
            _held_for_steps.reset(token)
