"""The generic fsspec backend (``memory://`` in tests, and any filesystem fsspec can open).

Why a separate backend: such filesystems have neither ``flock`` nor durable renames, and many are private
to one process (``memory://``), so the store gets the best the fsspec API offers: whole-content writes
(``pipe_file``), appends through ``open("ab")`` (or a rewrite where appending is not possible) under the
lock the caller passes, and create-only writes as check-then-write under an in-process lock. None of this
is a lock between machines: shared object stores have their own backend (``object_store.py``).
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tutopanda.core.errors import StorageError
from tutopanda.core.store.backends.check_then_write import hashed_version, swap_if_match
from tutopanda.core.store.backends.protocol import (
    ByteWriter,
    RandomAccessFile,
    StepCallback,
    Versioned,
    WalkedFile,
)

__all__ = ["FsspecBackend", "info_mtime"]

_CHUNK = 1024 * 1024

_local_lock = threading.Lock()
"""Serialises check-then-write on backends without server-side conditions (one process only)."""


def info_mtime(info: dict[str, Any]) -> float | None:
    """The modification time in an fsspec ``info`` mapping, whatever the backend calls it."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
    return None


class _BufferFile:
    """:class:`RandomAccessFile` over a file's bytes held in memory."""

    def __init__(self, data: bytearray) -> None:
        self.data = data
        self.changed = False

    def size(self) -> int:
        return len(self.data)

    def read_at(self, offset: int, length: int) -> bytes:
        return bytes(self.data[offset : offset + length])

    def write_at(self, offset: int, data: bytes) -> None:
        self.data[offset : offset + len(data)] = data
        self.changed = True

    def truncate(self, length: int) -> None:
        del self.data[length:]
        self.changed = True


class FsspecBackend:
    """A storage root on an fsspec filesystem without links, locks or reliable renames."""

    local_paths = False
    immutable_objects = False

    def __init__(self, fs: Any, root: str) -> None:
        self.fs = fs
        self.root = root

    # -- reading ---------------------------------------------------------------------------------

    def exists(self, path: str) -> bool:
        return bool(self.fs.exists(path))

    def is_dir(self, path: str) -> bool:
        return bool(self.fs.isdir(path))

    def is_link(self, path: str) -> bool:
        return False

    def is_special(self, path: str) -> bool:
        return False  # no pipes or devices; a prefix where a file should be reads as missing

    def read_bytes(self, path: str, limit: int) -> bytes:
        size = self.fs.size(path)
        if size is not None and int(size) > limit:
            raise StorageError(
                f"{path} is {int(size):,} bytes, more than the {limit:,} bytes such a file may have",
                "remove or replace it",
            )
        return bytes(self.fs.cat_file(path))

    def open_read(self, path: str) -> IO[bytes]:
        stream: IO[bytes] = self.fs.open(path, "rb")
        return stream

    def size(self, path: str) -> int:
        return int(self.fs.size(path))

    def regular_size(self, path: str) -> int:
        return self.size(path)  # no links or special files here

    def mtime(self, path: str) -> float | None:
        return info_mtime(self.fs.info(path))

    def modified_age(self, path: str) -> float | None:
        info = self.fs.info(path)
        stamp = info.get("LastModified") or info.get("mtime") or info.get("created")
        if isinstance(stamp, datetime):
            when = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
            return (datetime.now(UTC) - when).total_seconds()
        if isinstance(stamp, int | float):
            return time.time() - float(stamp)
        return None

    def list_names(self, path: str) -> list[str]:
        if not self.fs.isdir(path):
            return []
        return sorted(entry.rstrip("/").rsplit("/", 1)[-1] for entry in self.fs.ls(path, detail=False))

    def list_sizes(self, path: str) -> list[tuple[str, int]]:
        try:
            entries = self.fs.ls(path, detail=True) if self.fs.isdir(path) else []
        except FileNotFoundError:
            return []
        return [
            (str(entry["name"]).rstrip("/").rsplit("/", 1)[-1], int(entry.get("size") or 0))
            for entry in entries
        ]

    def walk(self, root: str, *, skip_top: frozenset[str] = frozenset()) -> Iterator[WalkedFile]:
        if not self.fs.exists(root):
            return
        prefix = root.rstrip("/") + "/"
        for path, info in sorted(self.fs.find(root, detail=True).items()):
            full = "/" + path.lstrip("/") if root.startswith("/") else path
            relative = full[len(prefix) :] if full.startswith(prefix) else full
            if relative.split("/", 1)[0] in skip_top and "/" in relative:
                continue
            yield WalkedFile(full, int(info.get("size") or 0), info_mtime(info))

    def os_path(self, path: str) -> str | None:
        return None

    def real_path(self, path: str) -> str:
        return path

    def read_versioned(self, path: str) -> Versioned:
        return hashed_version(self.read_bytes, path)

    # -- writing ---------------------------------------------------------------------------------

    def makedirs(self, path: str) -> None:
        self.fs.makedirs(path, exist_ok=True)

    def write_atomic(self, path: str, data: bytes, temp: str, step: StepCallback) -> None:
        """One whole-content write: these filesystems make it visible at once, and have no cheap rename."""
        step("after-temp-write")
        step("after-fsync")
        self.fs.pipe_file(path, bytes(data))

    def create_if_absent(self, path: str, data: bytes, temp: str) -> bool:
        if self.exists(path):
            return False
        self.write_atomic(path, data, temp, lambda step: None)
        return True

    def put_if_absent(self, path: str, data: bytes, temp: str) -> bool:
        with _local_lock:
            return self.create_if_absent(path, data, temp)

    def put_if_match(self, path: str, data: bytes, tag: str, temp: str) -> bool:
        return swap_if_match(self, _local_lock, path, data, tag, temp)

    def append(
        self,
        path: str,
        data: bytes,
        *,
        fsync: bool,
        serialise: Callable[[], AbstractContextManager[object]],
        on_unterminated: Callable[[], None],
    ) -> None:
        """Under the caller's lock: ``open("ab")``, or a read-modify-rewrite where appends are refused."""
        fs = self.fs
        with serialise():
            size = int(fs.size(path)) if fs.exists(path) else 0
            if size and bytes(fs.cat_file(path, start=size - 1, end=size)) != b"\n":
                on_unterminated()
                data = b"\n" + data
            try:
                with fs.open(path, "ab") as stream:
                    stream.write(data)
            except (NotImplementedError, ValueError):  # backend cannot append: rewrite the whole file
                existing = bytes(fs.cat_file(path)) if size else b""
                self.write_atomic(path, existing + data, path, lambda step: None)

    @contextlib.contextmanager
    def update_in_place(
        self, path: str, serialise: Callable[[], AbstractContextManager[object]]
    ) -> Iterator[RandomAccessFile]:
        """Read whole under the caller's lock, rewritten at once if anything changed."""
        from tutopanda.core.store.regular_file import MAX_STORE_FILE_BYTES

        with serialise():
            buffer = _BufferFile(bytearray(self.read_bytes(path, MAX_STORE_FILE_BYTES)))
            yield buffer
            if buffer.changed:
                self.write_atomic(path, bytes(buffer.data), path, lambda step: None)

    @contextlib.contextmanager
    def create_new(self, temp: str) -> Iterator[ByteWriter]:
        with self.fs.open(temp, "wb") as stream:
            yield stream.write

    def put_stream(self, path: str, source: IO[bytes]) -> None:
        with self.fs.open(path, "wb") as stream:
            shutil.copyfileobj(source, stream, _CHUNK)

    def commit(self, temp: str, target: str, *, durable: bool = True) -> None:
        self.fs.mv(temp, target)

    def sync_folder(self, folder: str) -> None:
        return

    def hold_folder(self, path: str) -> None:
        return None  # no descriptors to hold: every write goes by path

    def move(self, source: str, target: str) -> None:
        self.fs.mv(source, target)

    def rename_folder(self, source: str, target: str) -> bool:
        return False  # no atomic rename of a prefix: callers delete in place

    def touch(self, path: str) -> None:
        return

    def remove(self, path: str) -> None:
        if self.fs.exists(path):
            self.fs.rm_file(path)

    def remove_tree(self, path: str) -> None:
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def remove_empty_dir(self, path: str) -> None:
        return  # object stores have no directories to leave behind; memory:// ones cost nothing

    def copy_tree_to_local(
        self, source: str, target: Path, *, skip_top: frozenset[str], link_top: frozenset[str]
    ) -> None:
        for path in self.fs.find(source):
            relative = path[len(source) :].lstrip("/")
            if relative.split("/", 1)[0] in skip_top:
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            with self.fs.open(path, "rb") as src, destination.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        for relative in ("manifests", "events", "runs", "blobs", "prompts"):
            (target / relative).mkdir(parents=True, exist_ok=True)
