"""Throw-away copies of a movie, for dry runs that must leave the real movie byte-for-byte unchanged.

Both copies live in a temporary local directory and are made under the movie's build lock (a build in
progress is never copied half-way). Lock files are not copied, nor the ``prompts/`` folder: those files
are the user's editable view, read by the front end before a change and never by recording or planning —
and on a 1,000-segment movie they are 2,000 files in 1,000 folders, most of a dry run's time to copy.

- :func:`scratch_copy` is a whole movie a dry *build* can run in: its jobs read their inputs' blobs, so
  blobs are hard-linked when the source is on local disk (blob files are never modified in place, so
  sharing them is safe) and copied otherwise. The copy never "touches" a blob it finds already stored
  (as a store does for ``gc``'s grace period): through the shared inode that would refresh the real
  file's modification time.
- :func:`planning_copy` is a movie a change can be recorded and *planned* in (``edit --dry-run``, the
  preview of every change). Planning reads no blob, it only asks which blobs exist, so the copy leaves
  ``blobs/`` out: on a 1,000-segment movie linking its 4,000 blobs into 256 new shard folders was a third
  of an edit's dry run. The real movie's blob names are listed once, under the lock with the rest of the
  copy, and a blob counts as stored when it is in that list or was written to the copy since (the blobs
  the change records, such as an edited text, go to the copy's own empty ``blobs/``). Nothing is ever
  written to, linked from or touched in the real movie's blob folder.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tutopanda.core.movie.document import PROMPTS_DIR
from tutopanda.core.store.backends.local_disk import LocalDiskBackend
from tutopanda.core.store.locks import LOCKS_DIR, movie_lock
from tutopanda.core.store.movie_paths import MoviePaths, ensure_initialised
from tutopanda.core.store.movie_store import MovieStore
from tutopanda.core.store.storage import StorageConfig, StorageContext, storage_error
from tutopanda.core.store.store_scan import BlobPresence, blob_hashes

__all__ = ["PlanningCopy", "planning_copy", "scratch_copy"]

_BLOBS_DIR = "blobs"
"""The top-level folder of a movie's blobs (``MoviePaths.blobs_dir``), linked or left out."""

_WRITTEN_ONCE = frozenset({"manifests", "runs"})
"""Folders whose files are only ever created whole (renamed into place) or deleted, never changed in
place: hard-linked into a copy, not copied. A 1,000-segment movie adds ~7 MB of manifest, plan and run
record per revision, which every dry run copied again. (Event logs are appended to: always copied.)"""


@contextlib.contextmanager
def scratch_copy(ctx: StorageContext, movie_id: str) -> Iterator[StorageContext]:
    """A storage context whose ``movie_id`` is a private copy of the real one; deleted on exit."""
    with _copied(ctx, movie_id, with_blobs=True) as (scratch, _):
        yield scratch


@dataclass(frozen=True)
class PlanningCopy:
    """A private copy of a movie without its blobs, and the blob hashes the real movie had then.

    Record the change in ``ctx`` and plan the movie :meth:`open` returns: its blob presence sees both
    the real movie's blobs (as listed when the copy was made) and the ones written to the copy since.
    Blob *reads* in the copy find only the latter: take a snapshot of the movie (which reads its texts)
    from the real store, not from here.
    """

    ctx: StorageContext
    movie_id: str
    real_blobs: frozenset[str]

    def open(self) -> MovieStore:
        """The copied movie, opened, for planning (:class:`MovieStore` whose blob presence is shared)."""
        paths = ensure_initialised(self.ctx, self.movie_id)
        return _PlanningStore(self.ctx, self.movie_id, paths, self.real_blobs)


@contextlib.contextmanager
def planning_copy(ctx: StorageContext, movie_id: str) -> Iterator[PlanningCopy]:
    """A :class:`PlanningCopy` of ``movie_id`` (everything but blobs, prompts and locks); deleted on exit."""
    with _copied(ctx, movie_id, with_blobs=False) as (scratch, real_blobs):
        yield PlanningCopy(scratch, movie_id, real_blobs)


class _PlanningStore(MovieStore):
    """A copied movie whose blob presence also counts the real movie's blobs (see :func:`planning_copy`)."""

    def __init__(
        self, ctx: StorageContext, movie_id: str, paths: MoviePaths, real_blobs: frozenset[str]
    ) -> None:
        super().__init__(ctx, movie_id, paths)
        self._real_blobs = real_blobs

    def blob_presence(self) -> BlobPresence:
        return _SharedPresence(self.ctx, self.movie_id, self._real_blobs)


class _SharedPresence(BlobPresence):
    """Stored in the real movie when the copy was made, or in the copy (listed lazily, as usual)."""

    def __init__(self, ctx: StorageContext, movie_id: str, real_blobs: frozenset[str]) -> None:
        super().__init__(ctx, movie_id)
        self._real_blobs = real_blobs

    def __call__(self, blob_hash: str) -> bool:
        return blob_hash in self._real_blobs or super().__call__(blob_hash)


@contextlib.contextmanager
def _copied(
    ctx: StorageContext, movie_id: str, *, with_blobs: bool
) -> Iterator[tuple[StorageContext, frozenset[str]]]:
    """The copy in a temporary folder, and (``with_blobs`` false) the real movie's blob hashes."""
    source = ensure_initialised(ctx, movie_id).root
    with tempfile.TemporaryDirectory(prefix="tutopanda-dry-run-") as temp:
        scratch = StorageContext.open(
            StorageConfig(root=temp, base_path=ctx.base_path), clock=ctx.clock, logger=ctx.logger
        )
        if isinstance(scratch.backend, LocalDiskBackend):  # always (a local temp folder); for mypy
            scratch.backend.refresh_times = False  # its blobs are the real movie's inodes
        target = Path(scratch.movie_dir(movie_id))
        real_blobs: frozenset[str] = frozenset()
        with movie_lock(ctx, movie_id, "build", timeout=0.0, command="tutopanda build run --dry-run"):
            skipped = frozenset({LOCKS_DIR, PROMPTS_DIR} | (set() if with_blobs else {_BLOBS_DIR}))
            try:
                linked = _WRITTEN_ONCE | ({_BLOBS_DIR} if with_blobs else set())
                ctx.backend.copy_tree_to_local(source, target, skip_top=skipped, link_top=linked)
            except OSError as exc:
                raise storage_error(exc, "copying", source) from exc
            if not with_blobs:
                real_blobs = frozenset(blob_hashes(ctx, movie_id))
        if not with_blobs:
            # The layout init_movie makes: the copy's own blobs (the change's texts, files) go there.
            (target / _BLOBS_DIR).mkdir(exist_ok=True)
        yield scratch, real_blobs
