"""Where a movie's files live, and the few filesystem primitives the store needs.

Storage is addressed through fsspec so the same code runs on a local directory, on ``memory://`` in
tests and (later) on object stores. The local filesystem is special-cased with plain ``os`` calls where
that buys true atomicity or speed (``O_APPEND`` appends, ``fsync``, ``rename``); every other backend gets
the best the fsspec API offers.

Everything below the storage root is reached through :meth:`StorageContext.movie_dir`, which validates the
movie id first, so a hostile id (``../../etc``) can never name a path outside the root.
"""

from __future__ import annotations

import errno
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import fsspec

from tutopanda.core.clock import Clock, SystemClock
from tutopanda.core.errors import StorageError, UsageError
from tutopanda.core.logger import Logger, StdlibLogger
from tutopanda.core.regular_file import MAX_STORE_FILE_BYTES, open_regular, read_regular

__all__ = [
    "MOVIE_ID_MAX_LENGTH",
    "OBJECT_STORE_SCHEMES",
    "StorageConfig",
    "StorageContext",
    "storage_error",
    "validate_movie_id",
    "validate_relative_path",
]

OBJECT_STORE_SCHEMES = frozenset({"s3", "s3a"})
"""URL schemes of object stores with server-side conditional writes (``If-None-Match``/``If-Match``)."""

MOVIE_ID_MAX_LENGTH = 64
"""Longest accepted movie id (it becomes a directory name, so keep it short and portable)."""

_MOVIE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_MOVIE_ID_HINT = (
    "use letters, digits, '-' and '_' only (starting with a letter or digit, at most "
    f"{MOVIE_ID_MAX_LENGTH} characters), e.g. 'demo' or 'movie-1a2b3c4d'"
)


def validate_movie_id(movie_id: str) -> str:
    """Return ``movie_id`` if it is safe to use as a directory name, else raise :class:`UsageError`.

    Dots and slashes are refused outright, so an id can never climb out of (or hide inside) the root.
    """
    if not isinstance(movie_id, str) or not movie_id:
        raise UsageError("movie id is empty", _MOVIE_ID_HINT)
    if len(movie_id) > MOVIE_ID_MAX_LENGTH:
        raise UsageError(
            f"movie id '{movie_id[:20]}…' is longer than {MOVIE_ID_MAX_LENGTH} characters", _MOVIE_ID_HINT
        )
    if not _MOVIE_ID.fullmatch(movie_id):
        raise UsageError(f"invalid movie id {movie_id!r}", _MOVIE_ID_HINT)
    return movie_id


def validate_relative_path(relative: str, *, what: str = "path") -> str:
    """Return ``relative`` if it is a plain relative POSIX path (no ``..``, no hidden or empty segments)."""
    segments = relative.split("/")
    if not relative or relative.startswith("/") or not all(_SEGMENT.fullmatch(s) for s in segments):
        raise UsageError(
            f"invalid {what} {relative!r}",
            "use a relative path of segments made of letters, digits, '-', '_' and '.', with no '..'",
        )
    return relative


def storage_error(exc: OSError, action: str, path: str) -> StorageError:
    """Translate an ``OSError`` raised while doing ``action`` ("writing", "reading"…) on ``path``."""
    if exc.errno == errno.ENOSPC:
        return StorageError(
            f"disk full {action} {path}", "free some disk space (or move the storage root) and retry"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StorageError(
            f"permission denied {action} {path}",
            "check the permissions of the storage root, or choose another root",
        )
    reason = exc.strerror or str(exc)
    return StorageError(
        f"could not finish {action} {path}: {reason}", "check the storage root is reachable and retry"
    )


@dataclass(frozen=True)
class StorageConfig:
    """Where storage lives: ``root`` is a local path or an fsspec URL (``memory://x``, ``s3://b/p``)."""

    root: str | Path
    base_path: str = "builds"


@dataclass
class StorageContext:
    """An opened storage root: the fsspec filesystem, resolved paths, and the injected clock and logger.

    Paths handed around the storage layer are plain POSIX strings in the filesystem's own namespace
    (absolute paths for the local filesystem). Build one with :meth:`open`.
    """

    fs: Any
    root: str
    base_path: str = "builds"
    clock: Clock = field(default_factory=SystemClock)
    logger: Logger = field(default_factory=StdlibLogger)

    @classmethod
    def open(
        cls, config: StorageConfig, *, clock: Clock | None = None, logger: Logger | None = None
    ) -> StorageContext:
        """Resolve ``config`` to a filesystem (local paths become absolute) and validate the base path."""
        root = config.root
        validate_relative_path(config.base_path, what="base path")
        if isinstance(root, Path) or "://" not in root:
            fs = fsspec.filesystem("file")
            resolved = Path(root).expanduser().resolve().as_posix()
        else:
            scheme = root.split("://", 1)[0].lower()
            # Object stores: never answer from a stale listing cache (other workers write the same bucket).
            options: dict[str, Any] = {"use_listings_cache": False} if scheme in OBJECT_STORE_SCHEMES else {}
            try:
                fs, resolved = fsspec.core.url_to_fs(root, **options)
            except (ImportError, ValueError) as exc:
                raise UsageError(
                    f"unsupported storage root {root!r}: {exc}",
                    "use a local path, memory://name, or install the fsspec backend for that URL scheme",
                ) from exc
            resolved = resolved.rstrip("/") or "/"
        return cls(
            fs=fs,
            root=resolved,
            base_path=config.base_path,
            clock=clock or SystemClock(),
            logger=logger or StdlibLogger(),
        )

    @property
    def is_local(self) -> bool:
        """True when paths are real local paths, so ``os``-level calls may be used."""
        protocol = self.fs.protocol
        protocols = (protocol,) if isinstance(protocol, str) else tuple(protocol)
        return "file" in protocols

    @property
    def is_object_store(self) -> bool:
        """True for shared object stores (S3 and compatibles): no appends, no renames, no shared locks.

        The store then keeps event logs as immutable segments and moves the pointer by conditional
        writes (see ``event_log`` and ``conditional_write``).
        """
        protocol = self.fs.protocol
        protocols = (protocol,) if isinstance(protocol, str) else tuple(protocol)
        return any(p in OBJECT_STORE_SCHEMES for p in protocols)

    @property
    def url(self) -> str:
        """The root as another process would open it: a local path, or ``<protocol>://<root>``."""
        if self.is_local:
            return self.root
        return str(self.fs.unstrip_protocol(self.root))

    @property
    def key(self) -> str:
        """A string naming this root across contexts (used to key in-process locks)."""
        protocol = self.fs.protocol
        name = protocol if isinstance(protocol, str) else protocol[0]
        return f"{name}://{self.root}"

    def join(self, *parts: str) -> str:
        """Join path parts with ``/`` (no validation; callers validate user-supplied parts)."""
        base = parts[0].rstrip("/") if parts[0] != "/" else ""
        return "/".join([base, *(p.strip("/") for p in parts[1:])])

    def builds_dir(self) -> str:
        """``<root>/<base_path>``: the directory holding one sub-directory per movie."""
        return self.join(self.root, self.base_path)

    def movie_dir(self, movie_id: str) -> str:
        """``<root>/<base_path>/<movie-id>`` after validating the id."""
        return self.join(self.builds_dir(), validate_movie_id(movie_id))

    # -- filesystem primitives -------------------------------------------------------------------

    def exists(self, path: str) -> bool:
        """Whether a file or directory exists at ``path``."""
        try:
            if self.is_local:
                return Path(path).exists()
            return bool(self.fs.exists(path))
        except OSError as exc:
            raise storage_error(exc, "checking", path) from exc

    def makedirs(self, path: str) -> None:
        """Create ``path`` and its parents; no error if it already exists."""
        try:
            if self.is_local:
                Path(path).mkdir(parents=True, exist_ok=True)
            else:
                self.fs.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise storage_error(exc, "creating directory", path) from exc

    def read_bytes(self, path: str, limit: int = MAX_STORE_FILE_BYTES) -> bytes:
        """All bytes of the regular file at ``path``, at most ``limit`` of them.

        ``FileNotFoundError`` passes through for callers to map. A named pipe, directory, device or a file
        over ``limit`` is refused with a :class:`StorageError` without blocking or reading it (the store
        is untrusted input: :mod:`~tutopanda.core.regular_file`).
        """
        try:
            if self.is_local:
                return read_regular(path, limit)
            size = self.fs.size(path)
            if size is not None and int(size) > limit:
                raise StorageError(
                    f"{path} is {int(size):,} bytes, more than the {limit:,} bytes such a file may have",
                    "remove or replace it",
                )
            return bytes(self.fs.cat_file(path))
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise storage_error(exc, "reading", path) from exc

    def size(self, path: str) -> int:
        """Size in bytes of the file at ``path`` (``FileNotFoundError`` passes through)."""
        try:
            if self.is_local:
                return Path(path).stat().st_size
            return int(self.fs.size(path))
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise storage_error(exc, "inspecting", path) from exc

    def modified_age(self, path: str) -> float | None:
        """Seconds since the file at ``path`` was last written (``None`` if unknown or gone)."""
        try:
            if self.is_local:
                return time.time() - Path(path).stat().st_mtime
            info = self.fs.info(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise storage_error(exc, "inspecting", path) from exc
        stamp = info.get("LastModified") or info.get("mtime") or info.get("created")
        if isinstance(stamp, datetime):
            when = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
            return (datetime.now(UTC) - when).total_seconds()
        if isinstance(stamp, int | float):
            return time.time() - float(stamp)
        return None

    def list_names(self, path: str) -> list[str]:
        """Sorted base names of the entries directly inside ``path`` (empty if it does not exist)."""
        try:
            if self.is_local:
                directory = Path(path)
                return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
            if not self.fs.isdir(path):
                return []
            return sorted(entry.rstrip("/").rsplit("/", 1)[-1] for entry in self.fs.ls(path, detail=False))
        except OSError as exc:
            raise storage_error(exc, "listing", path) from exc

    def remove(self, path: str) -> None:
        """Delete the file at ``path``; no error if it is already gone."""
        try:
            if self.is_local:
                Path(path).unlink(missing_ok=True)
            elif self.fs.exists(path):
                self.fs.rm_file(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise storage_error(exc, "removing", path) from exc

    @contextmanager
    def open_read(self, path: str) -> Iterator[IO[bytes]]:
        """A binary reader for the regular file at ``path`` (``FileNotFoundError`` passes through).

        Locally opened without blocking; anything but a regular file is a :class:`StorageError`.
        """
        try:
            stream: IO[bytes] = open_regular(path) if self.is_local else self.fs.open(path, "rb")
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise storage_error(exc, "opening", path) from exc
        with stream:
            yield stream
