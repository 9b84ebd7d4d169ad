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
call after the held folder was let go — goes to the backend's path-checked method, which accepts or
refuses it exactly as every other command does. The sub-folders' descriptors are remembered within a
share of the process's open-file limit (beyond it they are opened per operation), and checked by name
once a second: a folder removed, moved or replaced during the run (by someone else) is found again by
its name, and the held folder itself is let go if it was moved away.
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

    def give(self, count: int) -> None:
        with self._lock:
            if self._left is not None:
                self._left += count


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
    """A descriptor on ``path`` (inside the storage root) and the backend calls routed through it.

    No lock on the way of an operation (a build makes ~30,000 of them, from a dozen threads): the
    descriptors of the folders below are remembered in a dict read without locking, and no descriptor
    is closed before :meth:`close`, which the holder calls once no operation runs any more. A folder
    forgotten meanwhile (moved, removed) keeps its descriptor open until then, unused.
    """

    def __init__(
        self, backend: LocalDiskBackend, path: str, fd: int, *, root: str = "", relative: str = ""
    ) -> None:
        """``root``/``relative``: how ``fd`` was opened (:func:`open_below`), to find it again."""
        self._backend = backend
        self.path = path.rstrip("/")
        self._fd = fd
        self._children: dict[str, tuple[int, tuple[int, int]]] = {}
        """Folder name -> (descriptor, (device, inode)) of the folders below, remembered open."""
        self._retired: list[int] = []
        """Descriptors of folders forgotten (moved or removed meanwhile): closed by :meth:`close`."""
        self._budgeted = 0
        self._lock = threading.Lock()  # remembering and forgetting only
        self._let_go = False
        """Set when the held folder is no longer at its path (moved away): every call goes by path."""
        self._closed = False
        self._root, self._relative = root, relative
        self._checked_at = time.monotonic()

    # -- descriptors -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _folder(self, folder: str) -> Iterator[int | None]:
        """A descriptor on ``folder`` for one operation: the held one, or a folder directly below it
        (opened without following a link, and remembered while the descriptor budget allows); None (go
        by path) for anything else, or once the held folder was let go.

        ``FileNotFoundError`` passes through for a missing folder below (as it would by path).
        """
        if time.monotonic() - self._checked_at >= RECHECK_SECONDS:
            self._recheck()
        if self._let_go or self._closed:
            yield None
            return
        if folder == self.path:
            yield self._fd
            return
        parent, _, name = folder.rpartition("/")
        if parent != self.path or name in ("", ".", ".."):
            yield None
            return
        known = self._children.get(name)
        if known is not None:
            yield known[0]
            return
        try:
            fd = os.open(name, _FOLDER, dir_fd=self._fd)
        except OSError as exc:
            if exc.errno not in _NOT_A_REAL_FOLDER and exc.errno not in (errno.EACCES, errno.EPERM):
                raise
            # a link (maybe to a folder inside the root), a file, or a folder that may be written but
            # not listed: the backend decides, by path
            yield None
            return
        if self._remember(name, fd):
            yield fd
            return
        try:
            yield fd
        finally:
            os.close(fd)

    def _remember(self, name: str, fd: int) -> bool:
        """Keep ``fd`` open as folder ``name`` if the budget allows (and no other thread did first)."""
        info = os.fstat(fd)
        with self._lock:
            if self._closed or name in self._children or not _BUDGET.take():
                return False
            self._budgeted += 1
            self._children[name] = (fd, (info.st_dev, info.st_ino))
            return True

    def _forget(self, name: str, *, unless: tuple[int, int] | None = None) -> None:
        """Stop using the remembered folder ``name`` (its descriptor is closed by :meth:`close`), unless
        it is the folder of identity ``unless`` (device, inode)."""
        with self._lock:
            known = self._children.get(name)
            if known is not None and known[1] != unless:
                del self._children[name]
                self._retired.append(known[0])

    def _recheck(self) -> None:
        """At most every :data:`RECHECK_SECONDS`: let the held folder go if it is no longer the one at
        its path below the storage root, and forget any remembered folder that is no longer the one by
        its name (removed, moved, replaced): someone else changed the store during the run."""
        if not self._lock.acquire(blocking=False):
            return  # another thread is checking
        try:
            if time.monotonic() - self._checked_at < RECHECK_SECONDS or self._let_go or self._closed:
                return
            if self._root and not self._still_there():
                self._let_go = True
                return
            changed = []
            for name, (_, identity) in list(self._children.items()):
                try:
                    info = os.stat(name, dir_fd=self._fd, follow_symlinks=False)
                except OSError:
                    changed.append(name)
                    continue
                if not stat.S_ISDIR(info.st_mode) or (info.st_dev, info.st_ino) != identity:
                    changed.append(name)
            for name in changed:
                self._retired.append(self._children.pop(name)[0])
        finally:
            self._checked_at = time.monotonic()
            self._lock.release()

    def _still_there(self) -> bool:
        """Whether the folder held is still the one at its path below the storage root."""
        try:
            found = open_below(self._root, self._relative)
        except OSError as exc:  # gone, or just no descriptor free now (try again at the next check)
            return exc.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)
        if found is None:
            return False
        try:
            again, held = os.fstat(found), os.fstat(self._fd)
        finally:
            os.close(found)
        return (again.st_dev, again.st_ino) == (held.st_dev, held.st_ino)

    def close(self) -> None:
        """Close every descriptor. Only once no operation runs any more (the runner waits for its
        store threads, or hands the close to a thread that does): calls from now on go by path."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            descriptors = [fd for fd, _ in self._children.values()] + self._retired + [self._fd]
            self._children.clear()
            self._retired = []
            budgeted, self._budgeted = self._budgeted, 0
        for fd in descriptors:
            with contextlib.suppress(OSError):
                os.close(fd)
        _BUDGET.give(budgeted)

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
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(child, 0o777, dir_fd=fd)
                    info = os.stat(child, dir_fd=fd, follow_symlinks=False)
                    if stat.S_ISDIR(info.st_mode):
                        # made again (by us or someone else) after a removal: the folder remembered by
                        # that name, if any, is another one now
                        self._forget(child, unless=(info.st_dev, info.st_ino))
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
