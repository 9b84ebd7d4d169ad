"""Whole-file writes that readers see as all-or-nothing.

A reader (or a process started after a crash) must see either the old file or the new one, never a
half-written mix: ``current.json`` and manifests depend on it. How is the backend's business
(:mod:`tutopanda.core.store.backends`): on the local filesystem a temp file next to the target (created with
``O_EXCL|O_NOFOLLOW``, inside the storage root), ``fsync``, ``rename`` over the target (atomic on POSIX)
and ``fsync`` of the directory so the rename itself survives a power cut; other fsspec backends get one
whole-content write (``pipe_file``): object stores make a single ``PUT`` visible atomically, and have no
cheap rename. This module names the temp files, runs the step hook and maps failures.

Temp files are named ``.<name>.tmp-<pid>-<random>``: hidden, recognisable (:func:`is_temp_name`) and
never mistaken for data, so leftovers from a crash are ignored by readers and removed by
:func:`clean_temp_files`.

A *step hook* may be passed to observe (or, in tests, crash at) each step: ``before-temp-write``,
``after-temp-write`` (before fsync), ``after-fsync`` (before rename) and ``after-rename``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable

from tutopanda.core.errors import StorageError
from tutopanda.core.store.backends.local_disk import fsync_directory
from tutopanda.core.store.regular_file import write_fd_fully
from tutopanda.core.store.storage import StorageContext, storage_error

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
        ctx.backend.write_atomic(path, bytes(data), tmp, lambda step: _step(hook, step, path))
    except OSError as exc:
        _discard(ctx, tmp)
        raise storage_error(exc, "writing", path) from exc
    except (Exception, KeyboardInterrupt):  # Ctrl-C and SIGTERM unwind in order: leave nothing behind
        _discard(ctx, tmp)
        raise
    _step(hook, "after-rename", path)


def _discard(ctx: StorageContext, tmp: str) -> None:
    with contextlib.suppress(OSError, StorageError):
        ctx.remove(tmp)


def create_exclusive(ctx: StorageContext, path: str, data: bytes) -> bool:
    """Create ``path`` holding ``data`` only if nothing exists there; return whether we created it.

    Never overwrites. Locally the file appears complete or not at all (temp file + ``link``, which
    fails if the target exists); elsewhere it is check-then-write, so callers serialise with a lock.
    """
    try:
        return ctx.backend.create_if_absent(path, data, temp_path_for(ctx, path))
    except OSError as exc:
        raise storage_error(exc, "creating", path) from exc


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
