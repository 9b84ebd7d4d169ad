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


class _Child:
    """A folder directly below the held one, open while remembered (and while an operation uses it)."""

    __slots__ = ("budgeted", "fd", "forgotten", "identity", "in_use")

    def __init__(self, fd: int, identity: tuple[int, int]) -> None:
        self.fd = fd
        self.identity = identity
        self.in_use = 1
        self.forgotten = False
        self.budgeted = False

    def close(self) -> None:
        os.close(self.fd)
        if self.budgeted:
            _BUDGET.give()


class _Budget:
    """How many sub-folder descriptors every held folder of the process may still keep open: a quarter
    of the open-file limit (256 of a default 1,024), so a build never runs its process out of
    descriptors (a 256-file limit, the macOS default, keeps 64: the rest are opened per operation)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._left: int | None = None

    def take(self) -> bool:
        with self._lock:
            if self._left is None:
                self._left = _descriptor_budget()
            if self._left <= 0:
                return False
            self._left -= 1
            return True

    def give(self) -> None:
        with self._lock:
            if self._left is not None:
                self._left += 1


def _descriptor_budget() -> int:
    try:
        import resource  # POSIX only, as are folder descriptors

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 64
    if soft == resource.RLIM_INFINITY:
        return 4096
    return max(0, soft // 4)


_BUDGET = _Budget()


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
        self._children: dict[str, _Child] = {}
        self._root, self._relative = root, relative
        self._checked_at = time.monotonic()

    # -- descriptors -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _folder(self, folder: str) -> Iterator[int | None]:
        """A descriptor on ``folder`` for one operation: the held one, or a folder directly below it
        (opened without following a link, and remembered while the descriptor budget allows); None (go
        by path) for anything else, or after :meth:`close`.

        ``FileNotFoundError`` passes through for a missing folder below (as it would by path).
        """
        name = None
        if folder != self.path:
            parent, _, name = folder.rpartition("/")
            if parent != self.path or name in ("", ".", ".."):
                yield None
                return
        with self._lock:
            self._recheck()
            if self._closed:
                held, child = None, None
            else:
                self._in_use += 1
                held = self._fd
                child = self._children.get(name) if name is not None else None
                if child is not None:
                    child.in_use += 1
        if held is None:
            yield None
            return
        try:
            if name is None:
                yield held
                return
            if child is None:
                try:
                    fd = os.open(name, _FOLDER, dir_fd=held)
                except OSError as exc:
                    if exc.errno not in _NOT_A_REAL_FOLDER:
                        raise
                    yield None  # a link (maybe to a folder inside the root) or a file: the backend decides
                    return
                child = self._keep(name, fd)
            try:
                yield child.fd
            finally:
                self._done_with(child)
        finally:
            self._release()

    def _keep(self, name: str, fd: int) -> _Child:
        """Remember the folder ``name`` just opened as ``fd`` (in use once), if the budget allows; else
        (or when another thread remembered it meanwhile) it is closed after this operation."""
        identity = os.fstat(fd)
        child = _Child(fd, (identity.st_dev, identity.st_ino))
        with self._lock:
            if not self._closed and name not in self._children and _BUDGET.take():
                child.budgeted = True
                self._children[name] = child
            else:
                child.forgotten = True
        return child

    def _done_with(self, child: _Child) -> None:
        with self._lock:
            child.in_use -= 1
            close = child.forgotten and child.in_use == 0
        if close:
            child.close()

    def _forget(self, name: str) -> None:
        """Stop remembering the folder ``name`` (closed now, or by its last operation); under the lock."""
        child = self._children.pop(name, None)
        if child is not None:
            child.forgotten = True
            if child.in_use == 0:
                child.close()

    def _recheck(self) -> None:
        """At most every :data:`RECHECK_SECONDS` (under the lock): let the held folder go if it is no
        longer the one at its path below the storage root, and forget any remembered folder that is no
        longer the one by its name (removed, moved, replaced) — someone else changed the store."""
        now = time.monotonic()
        if self._closed or not self._root or now - self._checked_at < RECHECK_SECONDS:
            return
        self._checked_at = now
        if not self._still_there():
            for name in list(self._children):
                self._forget(name)
            self._closed = True  # by path from now on (closed when no longer in use)
            if self._in_use == 0:
                os.close(self._fd)
            return
        for name, child in list(self._children.items()):
            try:
                info = os.stat(name, dir_fd=self._fd, follow_symlinks=False)
            except OSError:
                self._forget(name)
                continue
            if not stat.S_ISDIR(info.st_mode) or (info.st_dev, info.st_ino) != child.identity:
                self._forget(name)

    def _still_there(self) -> bool:
        """Whether the folder held is still the one at its path below the storage root."""
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

    def _release(self) -> None:
        with self._lock:
            self._in_use -= 1
            last = self._closed and self._in_use == 0
        if last:
            os.close(self._fd)

    def close(self) -> None:
        """Stop holding the folder: operations from now on go by path; each descriptor is closed now,
        or by the last operation still using it (a store thread an interrupted run could not wait for)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for name in list(self._children):
                self._forget(name)
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
                        with self._lock:  # a new folder: one remembered by that name was removed
                            self._forget(child)
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
