"""A folder held open by descriptor: the blob store's write path during a build.

Why: a path-based write first checks that the folder it lands in resolves inside the storage root (a
link planted in the store must never carry a write out of it). That check costs a ``stat`` per folder
up to the root, twice per blob (the temp file, then the rename), and every one of those system calls
hands the GIL to another thread: on a 1,000-segment build they were a fifth of the wall time. A build
instead opens the blob folder once, walking down from the storage root one folder at a time with
``O_NOFOLLOW`` (so what it holds is inside the root, with no window between a check and the open), and
reaches the folders directly below it — the shard folders and ``.tmp`` — *relative to that descriptor*,
again with ``O_NOFOLLOW|O_DIRECTORY``: a link in their place is never followed. Files are then created,
renamed (``renameat``), refreshed (``utimensat``) and their folders fsynced through descriptors.

:class:`HeldFolders` offers the same methods, with the same meaning, as the backend calls the blob
store makes on a write (``size``, ``open_read``, ``touch``, ``create_new``, ``commit``,
``sync_folder``, ``makedirs``, ``remove``), taking the same full paths. Anything it cannot do through
real folders — a path elsewhere, a folder below that is a link (even one leading inside the root), or a
call after :meth:`HeldFolders.close` — goes to the backend's path-checked method, which accepts or
refuses it exactly as every other command does. Only the held folder's descriptor lives long (closed
by the last operation in flight once the holder closes it); the sub-folders are opened per operation,
so a build holds one descriptor per store whatever the movie's size, and a folder removed or moved
meanwhile is found again by its name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
import time
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from tutopanda.core.store.regular_file import open_regular, write_fd_fully

if TYPE_CHECKING:
    from tutopanda.core.store.backends.local_disk import LocalDiskBackend
    from tutopanda.core.store.backends.protocol import ByteWriter

__all__ = ["HeldFolders", "open_below", "sync_folder_fd"]

_NO_FOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_FOLDER = os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_DIRECTORY", 0) | _NO_FOLLOW
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | _NO_FOLLOW
_NOT_A_REAL_FOLDER = (errno.ELOOP, errno.ENOTDIR)
"""``openat`` with ``O_NOFOLLOW|O_DIRECTORY`` on a link (or a file) in a folder's place."""
_NO_FOLDER_SYNC = {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF}
"""What ``fsync`` of a folder answers where folders cannot be fsynced (ignored); anything else, an
I/O error above all, is raised: the renames in that folder may not be durable."""
RECHECK_SECONDS = 1.0
"""How often the held folder is found again from the storage root and compared with what is held: a
folder moved out of the root during a run (by someone else) stops being written to within this time."""


def sync_folder_fd(fd: int) -> None:
    """``fsync`` an open folder; ignored only where folders cannot be fsynced."""
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _NO_FOLDER_SYNC:
            raise


def open_below(root: str, relative: str) -> int | None:
    """A descriptor on the folder ``root/relative``, opened one folder at a time without following a
    link; None if any part of it is a link or not a folder (the caller then goes by path)."""
    fd = os.open(root, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_DIRECTORY", 0))
    try:
        for part in (part for part in relative.split("/") if part and part != "."):
            if part == "..":
                return None
            try:
                below = os.open(part, _FOLDER, dir_fd=fd)
            except OSError as exc:
                if exc.errno in _NOT_A_REAL_FOLDER:
                    return None
                raise
            os.close(fd)
            fd = below
        held, fd = fd, -1
        return held
    finally:
        if fd >= 0:
            os.close(fd)


class HeldFolders:
    """A descriptor on ``path`` (inside the storage root) and the backend calls routed through it."""

    def __init__(
        self, backend: LocalDiskBackend, path: str, fd: int, *, root: str = "", relative: str = ""
    ) -> None:
        """``root``/``relative``: how ``fd`` was opened (:func:`open_below`), to find it again."""
        self._backend = backend
        self.path = path.rstrip("/")
        self._fd = fd
        self._lock = threading.Lock()
        self._in_use = 0
        self._closed = False
        self._root, self._relative = root, relative
        self._checked_at = time.monotonic()

    def _still_there(self) -> bool:
        """Whether the folder held is still the one at its path below the storage root (checked at
        most every :data:`RECHECK_SECONDS`); called under the lock."""
        now = time.monotonic()
        if not self._root or now - self._checked_at < RECHECK_SECONDS:
            return True
        self._checked_at = now
        try:
            found = open_below(self._root, self._relative)
        except OSError:
            return False
        if found is None:
            return False
        try:
            again, held = os.fstat(found), os.fstat(self._fd)
        finally:
            os.close(found)
        return (again.st_dev, again.st_ino) == (held.st_dev, held.st_ino)

    # -- descriptors -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _folder(self, folder: str) -> Iterator[int | None]:
        """A descriptor on ``folder`` for one operation: the held one, or a folder directly below it
        opened without following a link; None (go by path) for anything else or after :meth:`close`.

        ``FileNotFoundError`` passes through for a missing folder below (as it would by path).
        """
        child = None
        if folder != self.path:
            parent, _, child = folder.rpartition("/")
            if parent != self.path or child in ("", ".", ".."):
                yield None
                return
        with self._lock:
            if not self._closed and not self._still_there():
                self._closed = True  # moved away: by path from now on (closed when no longer in use)
                if self._in_use == 0:
                    os.close(self._fd)
            if self._closed:
                held = None
            else:
                self._in_use += 1
                held = self._fd
        if held is None:
            yield None
            return
        try:
            if child is None:
                yield held
                return
            try:
                fd = os.open(child, _FOLDER, dir_fd=held)
            except OSError as exc:
                if exc.errno not in _NOT_A_REAL_FOLDER:
                    raise
                yield None  # a link (maybe to a folder inside the root) or a file: the backend decides
                return
            try:
                yield fd
            finally:
                os.close(fd)
        finally:
            self._release()

    def _release(self) -> None:
        with self._lock:
            self._in_use -= 1
            last = self._closed and self._in_use == 0
        if last:
            os.close(self._fd)

    def close(self) -> None:
        """Stop holding the folder: operations from now on go by path; the descriptor is closed now, or
        by the last operation still in flight (a store thread an interrupted run could not wait for)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            last = self._in_use == 0
        if last:
            os.close(self._fd)

    # -- the backend's write-path methods --------------------------------------------------------

    def regular_size(self, path: str) -> int:
        """The size of the regular file at ``path``; -1 (never a blob's size) for a link or anything else
        in its place, so a put replaces it rather than trusting what it leads to."""
        folder, _, name = path.rpartition("/")
        with self._folder(folder) as fd:
            if fd is None:
                return self._backend.regular_size(path)
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        return info.st_size if stat.S_ISREG(info.st_mode) else -1

    def open_read(self, path: str) -> IO[bytes]:
        """A reader for the regular file at ``path``; a link there is not followed (``ELOOP``)."""
        folder, _, name = path.rpartition("/")
        with self._folder(folder) as fd:
            if fd is not None:
                return open_regular(name, dir_fd=fd, shown_as=path, follow=False)
        return self._backend.open_read(path)

    def touch(self, path: str) -> None:
        if not self._backend.refresh_times:
            return
        folder, _, name = path.rpartition("/")
        with contextlib.suppress(FileNotFoundError), self._folder(folder) as fd:  # best effort
            if fd is None:
                self._backend.touch(path)
                return
            with contextlib.suppress(OSError):
                os.utime(name, dir_fd=fd, follow_symlinks=False)

    @contextlib.contextmanager
    def create_new(self, temp: str) -> Iterator[ByteWriter]:
        folder, _, name = temp.rpartition("/")
        with self._folder(folder) as folder_fd:
            if folder_fd is None:
                created = None
            else:
                try:
                    created = os.open(name, _NEW_FILE, 0o644, dir_fd=folder_fd)
                except OSError as exc:
                    if exc.errno not in (errno.ELOOP, errno.EEXIST):
                        raise
                    created = None  # something planted at the temp name: the backend names it
        if created is None:
            with self._backend.create_new(temp) as write:
                yield write
            return
        try:
            yield lambda chunk: write_fd_fully(created, chunk)
            os.fsync(created)
        finally:
            os.close(created)

    def commit(self, temp: str, target: str, *, durable: bool = True) -> None:
        temp_folder, _, temp_name = temp.rpartition("/")
        target_folder, _, target_name = target.rpartition("/")
        with self._folder(temp_folder) as source, self._folder(target_folder) as destination:
            if source is not None and destination is not None:
                os.rename(temp_name, target_name, src_dir_fd=source, dst_dir_fd=destination)
                if durable:
                    sync_folder_fd(destination)
                return
        self._backend.commit(temp, target, durable=durable)

    def sync_folder(self, folder: str) -> None:
        try:
            with self._folder(folder.rstrip("/")) as fd:
                if fd is not None:
                    sync_folder_fd(fd)
                    return
        except FileNotFoundError:
            return  # gone: as by path, nothing renamed into it is there to make durable
        self._backend.sync_folder(folder)

    def makedirs(self, path: str) -> None:
        folder = path.rstrip("/")
        parent, _, child = folder.rpartition("/")
        if parent == self.path and child not in ("", ".", ".."):
            with self._folder(self.path) as fd:
                if fd is not None:
                    try:
                        os.mkdir(child, 0o777, dir_fd=fd)
                        return
                    except FileExistsError:
                        info = os.stat(child, dir_fd=fd, follow_symlinks=False)
                        if stat.S_ISDIR(info.st_mode):
                            return
                    # a link or a file in its place: the backend accepts or refuses it by path
        self._backend.makedirs(path)

    def remove(self, path: str) -> None:
        folder, _, name = path.rpartition("/")
        try:
            with self._folder(folder) as fd:
                if fd is not None:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(name, dir_fd=fd)
                    return
        except FileNotFoundError:
            return  # its folder is gone, so is the file
        self._backend.remove(path)
