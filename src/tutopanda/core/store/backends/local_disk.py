"""The local-disk backend: ``os`` calls where they give real atomicity, and no write through a link.

Why plain ``os`` and not fsspec here: only the operating system offers what the store's guarantees rest
on — ``O_APPEND`` writes under ``flock`` (concurrent appenders never interleave), ``fsync`` of files and
folders, ``rename`` over a file (atomic replace), ``O_EXCL`` and hard links (create-only).

The store is untrusted input (``regular_file``): reads open regular files only, without blocking and with
size limits; writes create temp files with ``O_CREAT|O_EXCL|O_NOFOLLOW``, append with ``O_NOFOLLOW``, and
check that the folder a write lands in resolves inside the storage root, so a ``runs/`` folder replaced by
a link to ``/tmp/elsewhere`` never receives a file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any

import fsspec

from tutopanda.core.errors import StorageError
from tutopanda.core.store.backends.check_then_write import hashed_version, swap_if_match
from tutopanda.core.store.backends.held_folder import HeldFolders, open_below, sync_folder_fd
from tutopanda.core.store.backends.io_errors import storage_error
from tutopanda.core.store.backends.protocol import (
    ByteWriter,
    RandomAccessFile,
    StepCallback,
    Versioned,
    WalkedFile,
)
from tutopanda.core.store.regular_file import (
    check_inside,
    file_kind,
    open_for_append,
    open_regular,
    read_regular,
    write_fd_fully,
)

if sys.platform != "win32":  # POSIX: appenders lock the log file itself (one syscall)
    import fcntl

__all__ = ["LocalDiskBackend", "fsync_directory"]

_NO_FOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | _NO_FOLLOW
_swap_lock = threading.Lock()
"""Serialises the check-then-write of :meth:`LocalDiskBackend.put_if_match` between threads."""
_REMEMBERED_FOLDERS = 4096
"""How many folders :meth:`LocalDiskBackend._check_inside` remembers as inside the root."""
_DIR_FD_CALLS = {os.open, os.rename, os.stat, os.utime, os.mkdir, os.unlink}
"""What :class:`HeldFolders` calls relative to a folder descriptor."""
_LINK_HINT = "remove the link (the store's folders must be real folders inside the storage root)"


_FOLDER_FOR_SYNC = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | getattr(os, "O_DIRECTORY", 0)


def fsync_directory(directory: str) -> None:
    """Make a rename inside ``directory`` durable (where the platform can fsync a folder).

    A folder that is gone, or not a folder (a FIFO planted in its place is not waited for:
    ``O_NONBLOCK|O_DIRECTORY``), is skipped: its renames went elsewhere or failed already.
    """
    try:
        fd = os.open(directory, _FOLDER_FOR_SYNC)
    except OSError:
        return
    try:
        sync_folder_fd(fd)
    finally:
        os.close(fd)


class _DescriptorFile:
    """:class:`RandomAccessFile` over an open descriptor (positional reads and writes)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def read_at(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, length, offset)

    def write_at(self, offset: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, offset)
            view, offset = view[written:], offset + written

    def truncate(self, length: int) -> None:
        os.ftruncate(self._fd, length)


def _create_new_fd(path: str) -> int:
    """A descriptor on a new file at ``path``; a link planted there is refused, never followed."""
    try:
        return os.open(path, _NEW_FILE, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.EEXIST and Path(path).is_symlink()):
            raise StorageError(f"{path} is a link; refusing to write to it", _LINK_HINT) from exc
        raise


class LocalDiskBackend:
    """A storage root on the local filesystem."""

    local_paths = True
    immutable_objects = False

    def __init__(self, root: str) -> None:
        self.root = root
        self._real_root = os.path.realpath(root)
        self._real_root_slash = self._real_root.rstrip("/") + "/"
        self._inside: set[tuple[int, ...]] = set()
        self.refresh_times = True
        """Whether :meth:`touch` refreshes a file's time. A dry run's scratch copy shares the real
        movie's blob files through hard links (one inode): touching its copy would touch the real one."""
        self.fs: Any = fsspec.filesystem("file")

    # -- reading ---------------------------------------------------------------------------------

    def exists(self, path: str) -> bool:
        return Path(path).exists()

    def is_dir(self, path: str) -> bool:
        return Path(path).is_dir()

    def is_link(self, path: str) -> bool:
        return Path(path).is_symlink()

    def is_special(self, path: str) -> bool:
        candidate = Path(path)
        return candidate.exists() and not candidate.is_file()

    def read_bytes(self, path: str, limit: int) -> bytes:
        return read_regular(path, limit)

    def open_read(self, path: str) -> IO[bytes]:
        return open_regular(path)

    def size(self, path: str) -> int:
        return Path(path).stat().st_size

    def regular_size(self, path: str) -> int:
        info = os.lstat(path)
        return info.st_size if stat.S_ISREG(info.st_mode) else -1

    def mtime(self, path: str) -> float | None:
        return Path(path).stat().st_mtime

    def modified_age(self, path: str) -> float | None:
        return time.time() - Path(path).stat().st_mtime

    def list_names(self, path: str) -> list[str]:
        try:  # one listdir, no stat per entry: the planner lists every blob shard on every plan
            with os.scandir(path) as entries:
                return sorted(entry.name for entry in entries)
        except (FileNotFoundError, NotADirectoryError):
            return []

    def list_sizes(self, path: str) -> list[tuple[str, int]]:
        directory = Path(path)
        if not directory.is_dir():
            return []
        return [(p.name, p.lstat().st_size) for p in sorted(directory.iterdir())]

    def walk(self, root: str, *, skip_top: frozenset[str] = frozenset()) -> Iterator[WalkedFile]:
        for directory, subdirs, names in os.walk(root):
            if directory == root and skip_top:
                subdirs[:] = [name for name in subdirs if name not in skip_top]
            for name in names:
                path = Path(directory) / name
                try:
                    stat = path.lstat()
                except FileNotFoundError:
                    continue  # removed while we walked
                yield WalkedFile(path.as_posix(), stat.st_size, stat.st_mtime)

    def os_path(self, path: str) -> str | None:
        return path

    def real_path(self, path: str) -> str:
        return os.path.realpath(path)

    def read_versioned(self, path: str) -> Versioned:
        try:
            return hashed_version(read_regular, path)
        except OSError as exc:  # other than a missing file, which is an answer (no version)
            raise storage_error(exc, "reading", path) from exc

    # -- writing ---------------------------------------------------------------------------------

    def _check_inside(self, path: str) -> None:
        """The folder ``path`` lands in, links resolved, must be inside the storage root.

        Hot (every append, every blob), so a folder once found inside is remembered by its identity and
        by the identity *and ctime* of every folder above it up to the root: a few ``stat`` calls then
        answer. Moving any of them away (a whole movie folder included), deleting one (so its inode
        number could be reused) or planting a link in its place changes an entry of the folder above,
        so that folder's ctime; a link followed leads the ``stat`` calls to other folders. Either way
        the full check runs again. (Not the folder's own ctime: it changes with every file created or
        renamed in it, so a blob shard or the temp folder never matched and each blob paid for a full
        ``realpath``.) The full :func:`~tutopanda.core.store.regular_file.check_inside` (and its
        message) runs only on a refusal.
        """
        folder = path.rpartition("/")[0] or "/"
        key = self._folder_key(folder)
        if key is not None and key in self._inside:
            return
        real = os.path.realpath(folder)
        if real != self._real_root and not real.startswith(self._real_root_slash):
            check_inside(self.root, path)  # raises, naming the folder
        if key is not None:
            if len(self._inside) > _REMEMBERED_FOLDERS:
                self._inside.clear()
            self._inside.add(key)

    def _folder_key(self, folder: str) -> tuple[int, ...] | None:
        """``folder``'s (device, inode), then (device, inode, ctime) of each folder above it up to the
        root; None for a folder that is missing or not spelled under the root (never remembered)."""
        root = self.root.rstrip("/") or "/"
        if folder != root and not folder.startswith(root.rstrip("/") + "/"):
            return None
        stat = os.stat  # plain strings: a Path per folder cost more than the realpath it saves
        try:
            info = stat(folder)
            key = [info.st_dev, info.st_ino]
            above = folder
            while above != root:
                above = above.rpartition("/")[0] or "/"
                info = stat(above)
                key += (info.st_dev, info.st_ino, info.st_ctime_ns)
        except OSError:  # not there yet: the realpath decides
            return None
        return tuple(key)

    def makedirs(self, path: str) -> None:
        self._check_inside(path.rstrip("/") + "/x")  # the folder itself, links resolved, is in the root
        Path(path).mkdir(parents=True, exist_ok=True)

    def write_atomic(self, path: str, data: bytes, temp: str, step: StepCallback) -> None:
        self._check_inside(path)
        self._check_inside(temp)
        fd = _create_new_fd(temp)
        try:
            write_fd_fully(fd, data)
            step("after-temp-write")
            os.fsync(fd)
        finally:
            os.close(fd)
        step("after-fsync")
        Path(temp).replace(path)
        fsync_directory(str(Path(path).parent))

    def create_if_absent(self, path: str, data: bytes, temp: str) -> bool:
        """Temp file + ``link`` (which fails if the target exists): the file appears complete or not."""
        self._check_inside(path)
        self._check_inside(temp)
        try:
            _write_durably(_create_new_fd(temp), data)
            try:
                Path(path).hardlink_to(temp)
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
            with contextlib.suppress(OSError):
                Path(temp).unlink(missing_ok=True)

    def put_if_absent(self, path: str, data: bytes, temp: str) -> bool:
        return self.create_if_absent(path, data, temp)

    def put_if_match(self, path: str, data: bytes, tag: str, temp: str) -> bool:
        """Check-then-write: local writers of the pointer also hold the movie's ``pointer`` file lock."""
        return swap_if_match(self, _swap_lock, path, data, tag, temp)

    def append(
        self,
        path: str,
        data: bytes,
        *,
        fsync: bool,
        serialise: Callable[[], AbstractContextManager[object]],
        on_unterminated: Callable[[], None],
    ) -> None:
        # POSIX: the log file's own flock serialises appenders; elsewhere the caller's lock file does.
        lock = serialise() if sys.platform == "win32" else contextlib.nullcontext()
        with lock:
            self._append(path, data, fsync, on_unterminated)

    def _append(self, path: str, data: bytes, fsync: bool, on_unterminated: Callable[[], None]) -> None:
        self._check_inside(path)
        try:
            fd = open_for_append(path)
        except OSError as exc:
            raise storage_error(exc, "opening", path) from exc
        try:
            if sys.platform != "win32":
                fcntl.flock(fd, fcntl.LOCK_EX)  # serialises appenders; released by close (or by death)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                on_unterminated()
                data = b"\n" + data
            try:
                write_fd_fully(fd, data)
                if fsync:
                    os.fsync(fd)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)  # we hold the lock: nobody appended after `size`
                raise storage_error(exc, "writing", path) from exc
        except OSError as exc:
            raise storage_error(exc, "appending to", path) from exc
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def update_in_place(
        self, path: str, serialise: Callable[[], AbstractContextManager[object]]
    ) -> Iterator[RandomAccessFile]:
        self._check_inside(path)
        lock = serialise() if sys.platform == "win32" else contextlib.nullcontext()
        with lock:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | _NO_FOLLOW | os.O_NONBLOCK)
            try:
                mode = os.fstat(fd).st_mode
                if not stat.S_ISREG(mode):
                    raise StorageError(f"{path} is {file_kind(mode)}; refusing to change it", _LINK_HINT)
                os.set_blocking(fd, True)
                if sys.platform != "win32":
                    fcntl.flock(fd, fcntl.LOCK_EX)  # the appenders' lock: no append interleaves
                yield _DescriptorFile(fd)
                os.fsync(fd)
            finally:
                os.close(fd)

    @contextlib.contextmanager
    def create_new(self, temp: str) -> Iterator[ByteWriter]:
        self._check_inside(temp)
        fd = _create_new_fd(temp)
        try:
            yield lambda chunk: write_fd_fully(fd, chunk)
            os.fsync(fd)
        finally:
            os.close(fd)

    def put_stream(self, path: str, source: IO[bytes]) -> None:
        temp = f"{path}.tmp-{os.getpid()}-{id(source):x}"
        temp = str(Path(temp).with_name("." + Path(temp).name))
        try:
            with self.create_new(temp) as write:
                for chunk in iter(lambda: source.read(1024 * 1024), b""):
                    write(chunk)
            self.commit(temp, path)
        finally:
            with contextlib.suppress(OSError):
                Path(temp).unlink(missing_ok=True)

    def commit(self, temp: str, target: str, *, durable: bool = True) -> None:
        self._check_inside(target)
        Path(temp).replace(target)
        if durable:
            fsync_directory(str(Path(target).parent))

    def sync_folder(self, folder: str) -> None:
        self._check_inside(folder.rstrip("/") + "/x")
        fsync_directory(folder)

    def hold_folder(self, path: str) -> HeldFolders | None:
        root = self.root.rstrip("/")
        if not _DIR_FD_CALLS.issubset(os.supports_dir_fd) or not path.startswith(root + "/"):
            return None  # Windows, or a folder spelled outside the root: every write goes by path
        relative = path[len(root) + 1 :]
        fd = open_below(self._real_root, relative)
        return None if fd is None else HeldFolders(self, path, fd, root=self._real_root, relative=relative)

    def move(self, source: str, target: str) -> None:
        self._check_inside(target)
        Path(source).rename(target)

    def rename_folder(self, source: str, target: str) -> bool:
        self._check_inside(target)
        Path(source).rename(target)
        return True

    def touch(self, path: str) -> None:
        if not self.refresh_times:
            return
        with contextlib.suppress(OSError):
            os.utime(path, follow_symlinks=False)

    def remove(self, path: str) -> None:
        Path(path).unlink(missing_ok=True)

    def remove_tree(self, path: str) -> None:
        shutil.rmtree(path)

    def remove_empty_dir(self, path: str) -> None:
        with contextlib.suppress(OSError):
            Path(path).rmdir()  # only succeeds when empty

    def copy_tree_to_local(
        self, source: str, target: Path, *, skip_top: frozenset[str], link_top: frozenset[str]
    ) -> None:
        root = Path(source)
        for directory, subdirs, files in os.walk(root):
            relative = Path(directory).relative_to(root)
            if not relative.parts:
                subdirs[:] = [name for name in subdirs if name not in skip_top]
            (target / relative).mkdir(parents=True, exist_ok=True)
            for name in files:
                src, dst = Path(directory) / name, target / relative / name
                if relative.parts[:1] and relative.parts[0] in link_top:
                    with contextlib.suppress(OSError):
                        os.link(src, dst)
                        continue
                shutil.copy2(src, dst)


def _create_exclusive_direct(path: str, data: bytes) -> bool:
    try:
        fd = os.open(path, _NEW_FILE, 0o644)
    except FileExistsError:
        return False
    _write_durably(fd, data)
    return True


def _write_durably(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the new file ``fd``, ``fsync`` it, and close ``fd`` (also on a failure)."""
    try:
        write_fd_fully(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
