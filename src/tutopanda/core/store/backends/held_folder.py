"""A folder held open by descriptor, and the folders directly below it: the blob store's write path
during a build.

Why: a path-based write first checks that the folder it lands in resolves inside the storage root (a
link planted in the store must never carry a write out of it). That check costs a ``stat`` per folder
up to the root, twice per blob (the temp file, then the rename), and every one of those system calls
hands the GIL to another thread: on a 1,000-segment build they were a fifth of the wall time. A build
instead checks the blob folder once, opens it, and reaches its shard folders and its temp folder
*relative to that descriptor* with ``O_NOFOLLOW|O_DIRECTORY``: a link in their place is refused by the
kernel itself, with no window between a check and the write (stronger than the path check, which can
only check before it writes). Files are then created, renamed (``renameat``), refreshed
(``utimensat``) and their folders fsynced through the held descriptors, with no ``open`` per folder
sync either.

:class:`HeldFolders` offers the same methods, with the same meaning, as the backend calls the blob
store makes on a write (``size``, ``open_read``, ``touch``, ``create_new``, ``commit``,
``sync_folder``, ``makedirs``, ``remove``), taking the same full paths: a path in the held folder or
one level below goes through the descriptors, any other path to the backend. Descriptors are opened on
first use and closed by :meth:`HeldFolders.close`; the holder (a build, holding the movie's lock) keeps
them for its duration only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from tutopanda.core.errors import StorageError
from tutopanda.core.store.regular_file import open_regular, write_fd_fully

if TYPE_CHECKING:
    from tutopanda.core.store.backends.local_disk import LocalDiskBackend
    from tutopanda.core.store.backends.protocol import ByteWriter

__all__ = ["HeldFolders"]

_NO_FOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_FOLDER = os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_DIRECTORY", 0) | _NO_FOLLOW
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | _NO_FOLLOW
_LINK_HINT = "remove the link (the store's folders must be real folders inside the storage root)"


class HeldFolders:
    """Descriptors on ``path`` (checked inside the storage root by the backend) and its sub-folders."""

    def __init__(self, backend: LocalDiskBackend, path: str, fd: int) -> None:
        self._backend = backend
        self.path = path.rstrip("/")
        self._fd = fd
        self._children: dict[str, int] = {}
        self._lock = threading.Lock()
        self._closed = False

    # -- locating --------------------------------------------------------------------------------

    def _child_fd(self, name: str) -> int:
        """The descriptor of sub-folder ``name``, opened (never through a link) on first use.

        ``FileNotFoundError`` passes through while it does not exist (nothing is remembered then).
        """
        fd = self._children.get(name)
        if fd is not None:
            return fd
        with self._lock:
            if self._closed:
                raise StorageError(f"{self.path} is no longer held open", "this is a bug; please report it")
            fd = self._children.get(name)
            if fd is None:
                try:
                    fd = os.open(name, _FOLDER, dir_fd=self._fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise StorageError(
                            f"{self.path}/{name} is a link or not a folder; refusing to write there",
                            _LINK_HINT,
                        ) from exc
                    raise
                self._children[name] = fd
            return fd

    def _place(self, path: str) -> tuple[int, str] | None:
        """(descriptor of the folder ``path`` is in, ``path``'s name), or None when not held here."""
        folder, _, name = path.rpartition("/")
        if not name:
            return None
        if folder == self.path:
            return self._fd, name
        parent, _, child = folder.rpartition("/")
        if parent == self.path and child and child not in (".", ".."):
            return self._child_fd(child), name
        return None

    def _folder_fd(self, folder: str) -> int | None:
        folder = folder.rstrip("/")
        if folder == self.path:
            return self._fd
        parent, _, child = folder.rpartition("/")
        if parent == self.path and child and child not in (".", ".."):
            return self._child_fd(child)
        return None

    # -- the backend's write-path methods --------------------------------------------------------

    def size(self, path: str) -> int:
        """The size of the file at ``path`` (a link is not followed: its own size never matches a blob)."""
        place = self._place(path)
        if place is None:
            return self._backend.size(path)
        fd, name = place
        return os.stat(name, dir_fd=fd, follow_symlinks=False).st_size

    def open_read(self, path: str) -> IO[bytes]:
        place = self._place(path)
        if place is None:
            return self._backend.open_read(path)
        fd, name = place
        return open_regular(name, dir_fd=fd, shown_as=path)

    def touch(self, path: str) -> None:
        if not self._backend.refresh_times:
            return
        place = self._place(path)
        if place is None:
            self._backend.touch(path)
            return
        fd, name = place
        with contextlib.suppress(OSError):
            os.utime(name, dir_fd=fd, follow_symlinks=False)

    @contextlib.contextmanager
    def create_new(self, temp: str) -> Iterator[ByteWriter]:
        place = self._place(temp)
        if place is None:
            with self._backend.create_new(temp) as write:
                yield write
            return
        folder_fd, name = place
        try:
            fd = os.open(name, _NEW_FILE, 0o644, dir_fd=folder_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise StorageError(f"{temp} is a link; refusing to write to it", _LINK_HINT) from exc
            raise
        try:
            yield lambda chunk: write_fd_fully(fd, chunk)
            os.fsync(fd)
        finally:
            os.close(fd)

    def commit(self, temp: str, target: str, *, durable: bool = True) -> None:
        source, destination = self._place(temp), self._place(target)
        if source is None or destination is None:
            self._backend.commit(temp, target, durable=durable)
            return
        os.rename(source[1], destination[1], src_dir_fd=source[0], dst_dir_fd=destination[0])
        if durable:
            _sync(destination[0])

    def sync_folder(self, folder: str) -> None:
        fd = self._folder_fd(folder)
        if fd is None:
            self._backend.sync_folder(folder)
        else:
            _sync(fd)

    def makedirs(self, path: str) -> None:
        folder = path.rstrip("/")
        parent, _, child = folder.rpartition("/")
        if parent != self.path or not child or child in (".", ".."):
            self._backend.makedirs(path)
            return
        with contextlib.suppress(FileExistsError):
            os.mkdir(child, 0o777, dir_fd=self._fd)
        self._child_fd(child)  # refuses a link or a file in its place now, not at the first write

    def remove(self, path: str) -> None:
        place = self._place(path)
        if place is None:
            self._backend.remove(path)
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(place[1], dir_fd=place[0])

    # -- lifetime --------------------------------------------------------------------------------

    def close(self) -> None:
        """Close every descriptor (callers stop using this object first)."""
        with self._lock:
            self._closed = True
            descriptors = [*self._children.values(), self._fd]
            self._children.clear()
        for fd in descriptors:
            with contextlib.suppress(OSError):
                os.close(fd)


def _sync(fd: int) -> None:
    """fsync a folder (best effort, as ``fsync_directory``: not every platform can fsync a folder)."""
    with contextlib.suppress(OSError):
        os.fsync(fd)
