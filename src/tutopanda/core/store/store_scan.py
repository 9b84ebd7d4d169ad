"""A walk over one movie's directory: its blob files (hash, size, age) and leftover temp files.

``verify`` re-hashes every blob file it finds, ``gc`` weighs each one against what the movie's history
references, and the planner asks whether the blob of an artefact is still there (:class:`BlobPresence`):
a blob that is gone makes its artefact missing, so the next build produces it again instead of failing
on it.

A blob file is ``blobs/<h[0:2]>/<sha256>.<ext>``; anything else under ``blobs/`` (other than the
``.tmp/`` directory of puts in progress) is not a blob and is left alone. Temp files are the hidden
``.<name>.tmp-<pid>-<random>`` files of :mod:`~tutopanda.core.store.atomic_file` and the files in
``blobs/.tmp/``. Ages come from file modification times (``created`` on backends without one); a file
whose age cannot be told is treated as brand new, so nothing relying on age ever removes it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from tutopanda.core.store.atomic_file import is_temp_name
from tutopanda.core.store.blob_ref import validate_blob_hash
from tutopanda.core.store.locks import LOCKS_DIR
from tutopanda.core.store.movie_paths import movie_paths
from tutopanda.core.store.storage import StorageContext, storage_error

__all__ = ["GRACE_SECONDS", "BlobPresence", "MovieScan", "StoreFile", "blob_hashes", "scan_movie"]

GRACE_SECONDS = 3600.0
"""Files younger than this may belong to a write in progress: ``verify`` and ``gc`` never remove them."""

_BLOB_NAME = re.compile(r"([0-9a-f]{64})\.[A-Za-z0-9_][A-Za-z0-9_.-]*")
_SHARD = re.compile(r"[0-9a-f]{2}")


@dataclass(frozen=True)
class StoreFile:
    """One file of a movie: its path (filesystem namespace), path relative to the movie, size and mtime.

    ``hash`` is the blob hash for blob files and None for anything else.
    """

    path: str
    relative: str
    size: int
    mtime: float | None
    hash: str | None = None

    def age(self, now: float | None = None) -> float:
        """Seconds since the file was last modified (0 when unknown: an unknown age counts as new)."""
        if self.mtime is None:
            return 0.0
        return max(0.0, (time.time() if now is None else now) - self.mtime)


@dataclass
class MovieScan:
    """What :func:`scan_movie` found."""

    blobs: list[StoreFile] = field(default_factory=list)
    temps: list[StoreFile] = field(default_factory=list)

    def blob_hashes(self) -> set[str]:
        return {blob.hash for blob in self.blobs if blob.hash is not None}


def _walk(ctx: StorageContext, root: str) -> Iterator[StoreFile]:
    """Every file under ``root`` except lock files, with size and mtime."""
    prefix = root.rstrip("/") + "/"
    try:
        for found in ctx.backend.walk(root, skip_top=frozenset({LOCKS_DIR})):
            full = found.path
            relative = full[len(prefix) :] if full.startswith(prefix) else full
            yield StoreFile(full, relative, found.size, found.mtime)
    except OSError as exc:
        raise storage_error(exc, "listing", root) from exc


def scan_movie(ctx: StorageContext, movie_id: str) -> MovieScan:
    """The blob files and temp files of ``movie_id`` (the movie need not be initialised)."""
    paths = movie_paths(ctx, movie_id)
    scan = MovieScan()
    for item in _walk(ctx, paths.root):
        parts = item.relative.split("/")
        name = parts[-1]
        if parts[0] == "blobs" and len(parts) == 3 and parts[1] == ".tmp":
            scan.temps.append(item)
            continue
        if is_temp_name(name):
            scan.temps.append(item)
            continue
        if parts[0] == "blobs" and len(parts) == 3 and _SHARD.fullmatch(parts[1]):
            match = _BLOB_NAME.fullmatch(name)
            if match and match.group(1)[:2] == parts[1]:
                scan.blobs.append(
                    StoreFile(item.path, item.relative, item.size, item.mtime, hash=match.group(1))
                )
    scan.blobs.sort(key=lambda blob: blob.relative)
    scan.temps.sort(key=lambda temp: temp.relative)
    return scan


def blob_hashes(ctx: StorageContext, movie_id: str) -> set[str]:
    """The hashes of every blob file of ``movie_id`` (names only: nothing is read or stat'ed)."""
    blobs_dir = movie_paths(ctx, movie_id).blobs_dir
    found: set[str] = set()
    for shard in ctx.list_names(blobs_dir):
        if not _SHARD.fullmatch(shard):
            continue
        for name in ctx.list_names(ctx.join(blobs_dir, shard)):
            match = _BLOB_NAME.fullmatch(name)
            if match and match.group(1)[:2] == shard:
                found.add(match.group(1))
    return found


class BlobPresence:
    """``presence(hash)``: whether a blob of that hash is stored, for the planner.

    The blob directory is listed once, on the first question; a hash not found then is looked up again
    in its shard (cheap, and rare), so a blob stored after the listing is still seen.
    """

    def __init__(self, ctx: StorageContext, movie_id: str) -> None:
        self._ctx = ctx
        self._movie_id = movie_id
        self._known: set[str] | None = None

    def __call__(self, blob_hash: str) -> bool:
        if self._known is None:
            self._known = blob_hashes(self._ctx, self._movie_id)
        if blob_hash in self._known:
            return True
        validate_blob_hash(blob_hash)
        shard = self._ctx.join(movie_paths(self._ctx, self._movie_id).blobs_dir, blob_hash[:2])
        if any(name.startswith(blob_hash + ".") for name in self._ctx.list_names(shard)):
            self._known.add(blob_hash)
            return True
        return False
