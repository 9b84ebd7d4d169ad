"""Whole-file writes that readers see as all-or-nothing.

A reader (or a process started after a crash) must see either the old file or the new one, never a
half-written mix: ``current.json`` and manifests depend on it. On the local filesystem we write a temp
file next to the target, ``fsync`` it, ``rename`` it over the target (atomic on POSIX) and ``fsync`` the
directory so the rename itself survives a power cut. Other fsspec backends get one whole-content write
(``pipe_file``): object stores make a single ``PUT`` visible atomically, and have no cheap rename.

Temp files are named ``.<name>.tmp-<pid>-<random>``: hidden, recognisable (:func:`is_temp_name`) and
never mistaken for data, so leftovers from a crash are ignored by readers and removed by
:func:`clean_temp_files`.

A *step hook* may be passed to observe (or, in tests, crash at) each step: ``before-temp-write``,
``after-temp-write`` (before fsync), ``after-fsync`` (before rename) and ``after-rename``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from tutopanda.core.errors import StorageError
from tutopanda.core.storage import StorageContext, storage_error

__all__ = [
    "WRITE_STEPS",
    "StepHook",
    "clean_temp_files",
    "create_exclusive",
    "fsync_directory",
    "is_temp_name",
    "temp_path_for",
    "write_atomic",
    "write_fd_fully",
]

StepHook = Callable[[str, str], None]
"""Called as ``hook(step, target_path)`` at each step of a write."""

WRITE_STEPS = ("before-temp-write", "after-temp-write", "after-fsync", "after-rename")
"""The steps of :func:`write_atomic`, in order, as passed to a :data:`StepHook`."""

_TEMP_MARKER = ".tmp-"


def is_temp_name(name: str) -> bool:
    """Whether a base name is one of our temp files (hidden and carrying the temp marker)."""
    return name.startswith(".") and _TEMP_MARKER in name


def temp_path_for(ctx: StorageContext, path: str, temp_dir: str | None = None) -> str:
    """A fresh temp path for writing ``path``: in ``temp_dir`` if given, else beside the target."""
    directory, _, name = path.rpartition("/")
    unique = f"{os.getpid()}-{secrets.token_hex(4)}"
    return ctx.join(temp_dir or directory, f".{name}{_TEMP_MARKER}{unique}")


def write_fd_fully(fd: int, data: bytes | bytearray | memoryview) -> None:
    """``os.write`` until every byte is written (a single write may be short)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_directory(directory: str) -> None:
    """Make a rename inside ``directory`` durable (best effort: not every platform can fsync a dir)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _step(hook: StepHook | None, step: str, path: str) -> None:
    if hook is not None:
        hook(step, path)


def write_atomic(
    ctx: StorageContext, path: str, data: bytes, *, hook: StepHook | None = None, temp_dir: str | None = None
) -> None:
    """Replace (or create) ``path`` with exactly ``data``, atomically.

    On failure the target is untouched and the temp file removed; an ``OSError`` becomes a
    :class:`StorageError` (``disk full writing <path>`` for ``ENOSPC``). An interrupt (Ctrl-C, or SIGTERM,
    which the CLI turns into one) removes the temp file too; any other :class:`BaseException` (a
    simulated crash in tests) leaves it behind, as a real crash would.
    """
    tmp = temp_path_for(ctx, path, temp_dir)
    try:
        _step(hook, "before-temp-write", path)
        if ctx.is_local:
            _write_local(tmp, path, data, hook)
        else:  # one PUT: other backends (object stores above all) make a whole write visible at once
            _step(hook, "after-temp-write", path)
            _step(hook, "after-fsync", path)
            ctx.fs.pipe_file(path, bytes(data))
    except OSError as exc:
        _discard(ctx, tmp)
        raise storage_error(exc, "writing", path) from exc
    except (Exception, KeyboardInterrupt):  # Ctrl-C and SIGTERM unwind in order: leave nothing behind
        _discard(ctx, tmp)
        raise
    _step(hook, "after-rename", path)


def _write_local(tmp: str, path: str, data: bytes, hook: StepHook | None) -> None:
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        write_fd_fully(fd, data)
        _step(hook, "after-temp-write", path)
        os.fsync(fd)
    finally:
        os.close(fd)
    _step(hook, "after-fsync", path)
    Path(tmp).replace(path)
    fsync_directory(str(Path(path).parent))


def _discard(ctx: StorageContext, tmp: str) -> None:
    with contextlib.suppress(OSError, StorageError):
        ctx.remove(tmp)


def create_exclusive(ctx: StorageContext, path: str, data: bytes) -> bool:
    """Create ``path`` holding ``data`` only if nothing exists there; return whether we created it.

    Never overwrites. Locally the file appears complete or not at all (temp file + ``link``, which
    fails if the target exists); elsewhere it is check-then-write, so callers serialise with a lock.
    """
    if not ctx.is_local:
        if ctx.exists(path):
            return False
        write_atomic(ctx, path, data)
        return True
    tmp = temp_path_for(ctx, path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            write_fd_fully(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            Path(path).hardlink_to(tmp)
        except FileExistsError:
            return False
        except OSError as exc:  # no hard links on this filesystem: fall back to an exclusive create
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise
            return _create_exclusive_direct(path, data)
        fsync_directory(str(Path(path).parent))
        return True
    except OSError as exc:
        raise storage_error(exc, "creating", path) from exc
    finally:
        _discard(ctx, tmp)


def _create_exclusive_direct(path: str, data: bytes) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        return False
    try:
        write_fd_fully(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def clean_temp_files(ctx: StorageContext, directory: str, *, older_than: float | None = None) -> list[str]:
    """Remove our leftover temp files directly inside ``directory``; return the paths removed.

    Only call this while holding the lock that serialises writers of that directory, or pass
    ``older_than`` (seconds) so a temp file another writer is filling right now is left alone.
    """
    removed: list[str] = []
    for name in ctx.list_names(directory):
        if not is_temp_name(name):
            continue
        path = ctx.join(directory, name)
        if older_than is not None:
            age = ctx.modified_age(path)
            if age is None or age < older_than:  # gone, too young, or of unknown age: leave it
                continue
        ctx.remove(path)
        removed.append(path)
    return removed
