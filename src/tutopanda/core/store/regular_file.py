"""Opening files of the store as untrusted input: regular files only, never blocking, never unbounded.

Why this exists: the store is a folder anyone with write access can plant things in. A named pipe where
``current.json`` should be makes a plain ``open()`` wait forever for a writer; a symlink to ``/dev/zero``
makes ``read()`` fill memory; a directory or a 10 GB file where a manifest should be makes every command
that lists movies hang or die. Every local read of a store file therefore goes through
:func:`open_regular`, which opens with ``O_NONBLOCK`` (a FIFO opens at once instead of waiting for a
writer), checks with ``fstat`` on the *opened* descriptor that it is a regular file (no race between a
check and the open), and refuses anything else with one clean :class:`StorageError`.
:func:`read_regular` adds a size limit checked before reading, and :func:`bounded_lines` reads a log
line by line without ever holding more than the line limit in memory.

Writes have the mirror rule (:func:`open_for_append`, :func:`check_inside`): no write follows a link
planted in the store to a file outside the storage root.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, BinaryIO

from tutopanda.core.errors import StorageError

__all__ = [
    "MAX_LOG_LINE_BYTES",
    "MAX_STORE_FILE_BYTES",
    "bounded_lines",
    "check_inside",
    "file_kind",
    "open_for_append",
    "open_regular",
    "read_regular",
    "write_fd_fully",
    "write_no_follow",
]

MAX_STORE_FILE_BYTES = 256 * 1024 * 1024
"""Largest store file read whole into memory (a manifest, plan, record or settings file). A
1,000-segment movie's manifest is a few MB; this bounds what a planted giant file can cost."""

MAX_LOG_LINE_BYTES = 4 * 1024 * 1024
"""Longest event-log line read; a longer one is skipped with a warning (a real event is a few KB)."""

_CHUNK = 1024 * 1024
_HINT = "remove or replace it (run 'tutopanda verify --repair' to restore what can be restored)"


def file_kind(mode: int) -> str:
    """A person's word for what ``mode`` (an ``st_mode``) is: "a named pipe", "a directory"…"""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(
    path: str | Path,
    *,
    buffering: int = -1,
    dir_fd: int | None = None,
    shown_as: str | None = None,
    follow: bool = True,
) -> BinaryIO:
    """A binary reader for the regular file at ``path``, opened without blocking.

    ``FileNotFoundError`` passes through (callers map a missing file to their own message); anything
    that is not a regular file raises :class:`StorageError` naming what it is. ``dir_fd``: ``path`` is
    relative to that open folder (:mod:`~tutopanda.core.store.backends.held_folder`), and messages
    name the file as ``shown_as``. ``follow=False``: a link at ``path`` is not followed (``OSError``
    with ``ELOOP``).
    """
    shown = shown_as or path
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, dir_fd=dir_fd)
    except FileNotFoundError:
        raise
    except IsADirectoryError as exc:
        raise StorageError(f"{shown} is a directory, not a file", _HINT) from exc
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket (or a FIFO on some systems) cannot be opened this way
            raise StorageError(f"{shown} is not a regular file", _HINT) from exc
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise StorageError(f"{shown} is {file_kind(mode)}, not a regular file", _HINT)
        os.set_blocking(fd, True)  # regular files never block; later reads behave as usual
        # An explicit buffer size: the default (-1) asks the file whether it is a terminal, an ioctl
        # that can only fail here (it is a regular file) — once per blob a job reads.
        return os.fdopen(fd, "rb", buffering=io.DEFAULT_BUFFER_SIZE if buffering < 0 else buffering)
    except BaseException:
        os.close(fd)
        raise


def write_fd_fully(fd: int, data: bytes | bytearray | memoryview) -> None:
    """``os.write`` until every byte is written (a single write may be short)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_regular(path: str | Path, limit: int = MAX_STORE_FILE_BYTES) -> bytes:
    """All bytes of the regular file at ``path``, refused (before reading) when larger than ``limit``."""
    with open_regular(path) as stream:
        size = os.fstat(stream.fileno()).st_size
        if size > limit:
            raise StorageError(
                f"{path} is {size:,} bytes, more than the {limit:,} bytes such a file may have", _HINT
            )
        # Ask for what fstat saw (plus one byte, to notice growth): read(n) allocates n bytes up front,
        # so asking for the limit itself would cost the limit in memory for every small file.
        data = stream.read(size + 1)
        if len(data) > size:  # it grew since fstat: read on, never past the limit
            data += stream.read(limit + 1 - len(data))
    if len(data) > limit:
        raise StorageError(f"{path} is more than the {limit:,} bytes such a file may have", _HINT)
    return data


def bounded_lines(
    stream: IO[bytes], limit: int = MAX_LOG_LINE_BYTES, on_overlong: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The lines of ``stream`` (each ending with ``b"\\n"`` but a final unfinished one), none over ``limit``.

    A longer line is consumed in chunks and skipped: ``on_overlong(size_so_far)`` is called for it, and
    nothing of it is yielded, so memory stays bounded by ``limit`` whatever the file holds.
    """
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit:
            yield line
            continue
        skipped = len(line)
        while not line.endswith(b"\n"):
            line = stream.readline(_CHUNK)
            if not line:
                break
            skipped += len(line)
        if on_overlong is not None:
            on_overlong(skipped)


def _open_for_writing(path: str | Path, flags: int) -> int:
    """``os.open`` with ``O_NOFOLLOW | O_NONBLOCK``, accepting only a regular file (blocking again)."""
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
            message = f"{path} is a link or not a regular file; refusing to write to it"
            raise StorageError(message, _HINT) from exc
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise StorageError(f"{path} is {file_kind(mode)}; refusing to write to it", _HINT)
    os.set_blocking(fd, True)
    return fd


def open_for_append(path: str | Path) -> int:
    """A read-write descriptor appending to ``path`` (created if missing), refusing a link or a non-file.

    ``O_NOFOLLOW`` makes the open fail on a symlink planted at ``path`` instead of appending to whatever
    it points at (outside the store, perhaps); ``O_NONBLOCK`` keeps a planted FIFO from hanging us.
    """
    return _open_for_writing(path, os.O_RDWR | os.O_APPEND)


def write_no_follow(path: str | Path, data: bytes) -> None:
    """Replace the contents of the small file at ``path``, refusing a planted link or non-regular file.

    For informational files rewritten in place (a lock's holder record): ``O_NOFOLLOW`` keeps the write
    from landing wherever a link planted at ``path`` points.
    """
    fd = _open_for_writing(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, 0)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def check_inside(root: str | Path, path: str | Path) -> None:
    """Raise :class:`StorageError` unless ``path``'s folder, links resolved, is inside ``root``.

    For writes that create or replace a file by name: a folder of the store replaced by a link to
    elsewhere would otherwise carry the write out of the storage root.
    """
    real_root = Path(root).resolve()
    parent = Path(path).parent
    if not parent.resolve().is_relative_to(real_root):
        raise StorageError(
            f"{parent} leads out of the storage root {root} (a link?); refusing to write there",
            _HINT,
        )
