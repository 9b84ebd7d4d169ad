"""Where a movie's files live, and the few filesystem primitives the store needs.

Storage is addressed through fsspec so the same code runs on a local directory, on ``memory://`` in
tests and on object stores. What differs between them (``os`` calls with real atomicity on a local disk,
the best the fsspec API offers elsewhere, conditional writes on object stores) lives in one backend per
kind (:mod:`tutopanda.core.store.backends`), chosen once here when the root is opened: the rest of the store
calls ``ctx.backend`` (or the primitives below) and never asks which kind of storage it is on.

Everything below the storage root is reached through :meth:`StorageContext.movie_dir`, which validates the
movie id first, so a hostile id (``../../etc``) can never name a path outside the root.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import fsspec

from tutopanda.core.clock import Clock, SystemClock
from tutopanda.core.errors import UsageError
from tutopanda.core.logger import Logger, StdlibLogger
from tutopanda.core.store.backends import OBJECT_STORE_SCHEMES, StorageBackend, backend_for, storage_error
from tutopanda.core.store.regular_file import MAX_STORE_FILE_BYTES

__all__ = [
    "MOVIE_ID_MAX_LENGTH",
    "OBJECT_STORE_SCHEMES",
    "StorageConfig",
    "StorageContext",
    "storage_error",
    "validate_movie_id",
    "validate_relative_path",
]

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
    backend: StorageBackend = field(init=False, repr=False, compare=False)
    """How this kind of storage does each primitive (chosen once, from ``fs``)."""

    def __post_init__(self) -> None:
        self.backend = backend_for(self.fs, self.root)

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
        """True when paths are real local paths (``backend.local_paths``), for code outside the store
        (the CLI, the viewer) that hands paths to other programs. The store itself asks the backend."""
        return self.backend.local_paths

    @property
    def is_object_store(self) -> bool:
        """True for shared object stores (``backend.immutable_objects``); kept for code outside the store."""
        return self.backend.immutable_objects

    @property
    def url(self) -> str:
        """The root as another process would open it: a local path, or ``<protocol>://<root>``."""
        return self.display(self.root)

    def display(self, path: str) -> str:
        """``path`` as a user (or another process) names it: a local path, or ``<protocol>://<path>``."""
        return path if self.backend.local_paths else str(self.fs.unstrip_protocol(path))

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
            return self.backend.exists(path)
        except OSError as exc:
            raise storage_error(exc, "checking", path) from exc

    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is a folder (a prefix holding objects, on object stores)."""
        try:
            return self.backend.is_dir(path)
        except OSError as exc:
            raise storage_error(exc, "inspecting", path) from exc

    def makedirs(self, path: str) -> None:
        """Create ``path`` and its parents; no error if it already exists.

        Locally the folder must resolve inside the storage root (a planted link is refused).
        """
        try:
            self.backend.makedirs(path)
        except OSError as exc:
            raise storage_error(exc, "creating directory", path) from exc

    def read_bytes(self, path: str, limit: int = MAX_STORE_FILE_BYTES) -> bytes:
        """All bytes of the regular file at ``path``, at most ``limit`` of them.

        ``FileNotFoundError`` passes through for callers to map. A named pipe, directory, device or a file
        over ``limit`` is refused with a :class:`StorageError` without blocking or reading it (the store
        is untrusted input: :mod:`~tutopanda.core.store.regular_file`).
        """
        try:
            return self.backend.read_bytes(path, limit)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise storage_error(exc, "reading", path) from exc

    def size(self, path: str) -> int:
        """Size in bytes of the file at ``path`` (``FileNotFoundError`` passes through)."""
        try:
            return self.backend.size(path)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise storage_error(exc, "inspecting", path) from exc

    def modified_age(self, path: str) -> float | None:
        """Seconds since the file at ``path`` was last written (``None`` if unknown or gone)."""
        try:
            return self.backend.modified_age(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise storage_error(exc, "inspecting", path) from exc

    def list_names(self, path: str) -> list[str]:
        """Sorted base names of the entries directly inside ``path`` (empty if it does not exist)."""
        try:
            return self.backend.list_names(path)
        except OSError as exc:
            raise storage_error(exc, "listing", path) from exc

    def remove(self, path: str) -> None:
        """Delete the file at ``path``; no error if it is already gone."""
        try:
            self.backend.remove(path)
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
            stream = self.backend.open_read(path)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise storage_error(exc, "opening", path) from exc
        with stream:
            yield stream
