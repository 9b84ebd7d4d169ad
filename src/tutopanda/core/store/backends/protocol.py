"""The storage backend seam: the few primitives the store needs, one implementation per kind of storage.

Why a seam: the store runs on a local disk (where ``os`` calls give real atomicity: ``O_APPEND`` plus
``flock``, ``fsync``, ``rename``, ``O_EXCL``), on any fsspec filesystem (``memory://`` in tests), and on
object stores shared by a fleet (no appends, no renames, no shared lock, but conditional writes). Those
differences used to be ``if ctx.is_local`` branches spread over the store; now a backend is chosen once
when the storage root is opened (``StorageContext.open``) and every difference lives in one file per
kind (``local_disk.py``, ``fsspec_store.py``, ``object_store.py``). A new backend implements this
protocol and touches nothing else.

Paths are plain POSIX strings in the backend's own namespace (absolute paths locally). Methods raise
``OSError`` for I/O failures (callers turn them into a :class:`StorageError` naming their action) and let
``FileNotFoundError`` through where a missing file is an answer, not a failure. Writes never follow a
link planted in the store (the local backend checks; elsewhere there are no links).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tutopanda.core.store.backends.held_folder import HeldFolders

__all__ = ["ByteWriter", "RandomAccessFile", "StepCallback", "StorageBackend", "Versioned", "WalkedFile"]

StepCallback = Callable[[str], None]
"""Called with the name of each step of an atomic write (``after-temp-write``, ``after-fsync``)."""

ByteWriter = Callable[[bytes | bytearray | memoryview], None]
"""Writes every byte it is given to a file being created (see :meth:`StorageBackend.create_new`)."""


@dataclass(frozen=True)
class Versioned:
    """A file's bytes and the tag a conditional replace must present (``None``/``None``: no file)."""

    data: bytes | None
    tag: str | None


@dataclass(frozen=True)
class WalkedFile:
    """One file found by :meth:`StorageBackend.walk`: full path, size, modification time (if known)."""

    path: str
    size: int
    mtime: float | None


class RandomAccessFile(Protocol):
    """A file opened for repair in place (see :meth:`StorageBackend.update_in_place`)."""

    def size(self) -> int: ...

    def read_at(self, offset: int, length: int) -> bytes: ...

    def write_at(self, offset: int, data: bytes) -> None: ...

    def truncate(self, length: int) -> None: ...


class StorageBackend(Protocol):
    """The primitives of one kind of storage; see the module docstring for the contract."""

    fs: Any
    """The fsspec filesystem (also for the local disk: some callers stream through it)."""

    root: str
    """The storage root in the backend's namespace; local writes must land inside it."""

    local_paths: bool
    """Paths are operating-system paths: other programs (ffmpeg) may open them, and file locks work."""

    immutable_objects: bool
    """Objects are written whole, never appended to or renamed, and a fleet shares them without a
    common lock: event logs are folders of create-only segments, blobs are hashed before their single
    upload, the pointer moves by compare-and-swap, and there are no empty folders."""

    # -- reading ---------------------------------------------------------------------------------

    def exists(self, path: str) -> bool: ...

    def is_dir(self, path: str) -> bool: ...

    def is_link(self, path: str) -> bool:
        """Whether ``path`` is a symbolic link (never true where the store has no links)."""
        ...

    def is_special(self, path: str) -> bool:
        """Whether something other than a regular file (a folder, FIFO, device) sits at ``path``."""
        ...

    def read_bytes(self, path: str, limit: int) -> bytes:
        """All bytes of the regular file at ``path``; refused over ``limit`` or when not a regular file."""
        ...

    def open_read(self, path: str) -> IO[bytes]:
        """A streaming binary reader (locally: regular files only, opened without blocking)."""
        ...

    def size(self, path: str) -> int: ...

    def regular_size(self, path: str) -> int:
        """The size of the regular file at ``path``, not following a link; -1 for a link or anything
        else in its place (``FileNotFoundError`` when nothing is there). A blob put trusts no other."""
        ...

    def mtime(self, path: str) -> float | None:
        """Seconds since the epoch of the last write (``None`` when the backend cannot tell)."""
        ...

    def modified_age(self, path: str) -> float | None:
        """Seconds since the last write (``None`` if unknown); ``FileNotFoundError`` passes through."""
        ...

    def list_names(self, path: str) -> list[str]:
        """Sorted base names inside ``path`` (empty when it is not a folder)."""
        ...

    def list_sizes(self, path: str) -> list[tuple[str, int]]:
        """Base names and sizes of the entries inside ``path`` (empty when it is not a folder)."""
        ...

    def walk(self, root: str, *, skip_top: frozenset[str] = frozenset()) -> Iterator[WalkedFile]:
        """Every file under ``root`` (links not followed), except under top-level folders ``skip_top``."""
        ...

    def os_path(self, path: str) -> str | None:
        """``path`` as an operating-system path another program may open, or ``None`` (not local)."""
        ...

    def real_path(self, path: str) -> str:
        """``path`` with every link followed (``path`` itself on stores without links)."""
        ...

    def read_versioned(self, path: str) -> Versioned:
        """The bytes at ``path`` with the tag :meth:`put_if_match` checks, read together."""
        ...

    # -- writing ---------------------------------------------------------------------------------

    def makedirs(self, path: str) -> None: ...

    def write_atomic(self, path: str, data: bytes, temp: str, step: StepCallback) -> None:
        """Replace ``path`` with ``data`` so readers see the old or the new file, never a mix.

        ``temp`` is where a backend that renames writes first; ``step`` is told ``after-temp-write`` and
        ``after-fsync`` as they pass (tests crash there).
        """
        ...

    def create_if_absent(self, path: str, data: bytes, temp: str) -> bool:
        """Create ``path`` unless something is there; never overwrites. Atomic locally; elsewhere a
        check-then-write the caller serialises."""
        ...

    def put_if_absent(self, path: str, data: bytes, temp: str) -> bool:
        """Create ``path`` unless something is there, safely against concurrent writers of this kind
        of storage (an ``If-None-Match`` request on object stores); whether this call created it."""
        ...

    def put_if_match(self, path: str, data: bytes, tag: str, temp: str) -> bool:
        """Replace ``path`` only if its tag is still ``tag``; False when another writer moved it."""
        ...

    def append(
        self,
        path: str,
        data: bytes,
        *,
        fsync: bool,
        serialise: Callable[[], AbstractContextManager[object]],
        on_unterminated: Callable[[], None],
    ) -> None:
        """Append whole lines, one writer at a time; a failed write leaves no partial line.

        ``serialise()`` is the lock appenders share where the backend has none of its own;
        ``on_unterminated()`` is called when the file did not end with a newline (one is added first).
        Not offered by backends with :attr:`immutable_objects` (their logs are segments).
        """
        ...

    def update_in_place(
        self, path: str, serialise: Callable[[], AbstractContextManager[object]]
    ) -> AbstractContextManager[RandomAccessFile]:
        """Open the existing file ``path`` for changes in place, under the lock its appenders take
        (the file's ``flock`` locally, ``serialise()`` elsewhere); changes are durable on a clean exit.
        Where files cannot change in place, they are read whole and rewritten at once."""
        ...

    def create_new(self, temp: str) -> AbstractContextManager[ByteWriter]:
        """Create the file ``temp`` (it must not exist; a planted link is refused) and give a writer;
        on a clean exit the bytes are durable (``fsync``) before the file is closed."""
        ...

    def put_stream(self, path: str, source: IO[bytes]) -> None:
        """Write ``path`` from ``source`` so that it appears complete or not at all (an interrupted
        upload is discarded, never published as a prefix)."""
        ...

    def commit(self, temp: str, target: str, *, durable: bool = True) -> None:
        """Move a file made by :meth:`create_new` over ``target`` (atomic, durable locally).

        ``durable=False`` leaves the folder's fsync to a later :meth:`sync_folder` (a job storing a
        thousand blobs syncs each of its folders once, before any event names them).
        """
        ...

    def sync_folder(self, folder: str) -> None:
        """Make the renames into ``folder`` durable (a no-op where renames are not files in folders)."""
        ...

    def hold_folder(self, path: str) -> HeldFolders | None:
        """The folder ``path`` held open for a burst of writes in it and the folders directly below it
        (a build's blobs), or None where there is nothing to hold: no folders, or a ``path`` that is not
        made of real folders inside the storage root (writes then go by path, checked as usual).
        The caller closes what it gets; ``FileNotFoundError`` for a missing folder.
        """
        ...

    def move(self, source: str, target: str) -> None:
        """Rename ``source`` to ``target`` (a copy and a delete where there is no rename)."""
        ...

    def rename_folder(self, source: str, target: str) -> bool:
        """Rename the folder ``source`` to ``target`` in one atomic step; False (nothing done) where
        folders cannot be renamed atomically (object stores, ``memory://``)."""
        ...

    def touch(self, path: str) -> None:
        """Mark ``path`` as just written (best effort; a no-op where times cannot be set)."""
        ...

    def remove(self, path: str) -> None:
        """Delete the file at ``path``; no error when it is already gone."""
        ...

    def remove_tree(self, path: str) -> None:
        """Delete the folder ``path`` and everything in it (a link inside is removed, not followed)."""
        ...

    def remove_empty_dir(self, path: str) -> None:
        """Remove the folder ``path`` if it is empty (no-op where there are no folders)."""
        ...

    def copy_tree_to_local(
        self, source: str, target: Path, *, skip_top: frozenset[str], link_top: frozenset[str]
    ) -> None:
        """Copy the folder ``source`` to the local folder ``target`` (for private scratch copies),
        leaving out the top-level folders ``skip_top`` and hard-linking the files under the top-level
        folders ``link_top`` where possible (only files never changed in place may be linked)."""
        ...
