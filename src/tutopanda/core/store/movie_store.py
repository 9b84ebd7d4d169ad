"""One movie, opened once: its paths, blobs, manifests, plans, event logs, run records and lock.

Why a handle: each store class and path helper made from ``(ctx, movie_id)`` checks on its own that the
movie exists (``current.json``), so one no-op ``build run`` asked 26 times — a request each on an object
store — and every layer re-derived the same paths. A command opens the movie once with
:meth:`MovieStore.open` (the id validated, its existence checked) and hands the handle down; the parts
are made on first use from the checked paths and shared for the rest of the command.

The handle caches *objects*, never *contents*: the pointer, the logs and the manifests are read from the
store each time they are asked for, so a long-lived holder (the viewer, the MCP server) sees what other
processes write. (A movie removed by ``movies clean`` makes later reads fail with the store's own error.)
"""

from __future__ import annotations

from functools import cached_property

from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.event_log import EventLog, artefact_log, input_log
from tutopanda.core.store.events import ArtefactEvent, InputEvent
from tutopanda.core.store.locks import MovieLock, movie_lock
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.movie_paths import MoviePaths, ensure_initialised
from tutopanda.core.store.pending_revision import pending_revision
from tutopanda.core.store.plan_store import PlanStore
from tutopanda.core.store.run_record import save_run_record
from tutopanda.core.store.storage import StorageContext
from tutopanda.core.store.store_scan import BlobPresence

__all__ = ["MovieStore"]


class MovieStore:
    """An opened, existing movie of a storage root (make one with :meth:`open`)."""

    def __init__(self, ctx: StorageContext, movie_id: str, paths: MoviePaths) -> None:
        self.ctx = ctx
        self.movie_id = movie_id
        self.paths = paths

    @classmethod
    def open(cls, ctx: StorageContext, movie_id: str) -> MovieStore:
        """The movie ``movie_id``; :class:`~tutopanda.core.errors.MovieNotInitialisedError` (with the
        command that creates it) when it does not exist, a usage error for an invalid id."""
        return cls(ctx, movie_id, ensure_initialised(ctx, movie_id))

    @cached_property
    def blobs(self) -> BlobStore:
        """The movie's blobs (reads are not re-hashed; see :meth:`checked_blobs`)."""
        return BlobStore(self.ctx, self.movie_id, paths=self.paths)

    def checked_blobs(self) -> BlobStore:
        """The movie's blobs, every read verified against its hash (what jobs consume)."""
        return BlobStore(self.ctx, self.movie_id, verify_on_read=True, paths=self.paths)

    @cached_property
    def manifests(self) -> ManifestStore:
        return ManifestStore(self.ctx, self.movie_id, paths=self.paths)

    @cached_property
    def plans(self) -> PlanStore:
        return PlanStore(self.ctx, self.movie_id, paths=self.paths)

    @cached_property
    def inputs(self) -> EventLog[InputEvent]:
        """``events/inputs.log`` (appends durable before they return)."""
        return input_log(self.ctx, self.movie_id, paths=self.paths)

    @cached_property
    def artefacts(self) -> EventLog[ArtefactEvent]:
        """``events/artefacts.log`` (appends durable before they return)."""
        return artefact_log(self.ctx, self.movie_id, paths=self.paths)

    def blob_presence(self) -> BlobPresence:
        """A fresh "is this blob stored?" answerer for one plan (it lists the blob folder once)."""
        return BlobPresence(self.ctx, self.movie_id)

    def pending_revision(self) -> str:
        """``rev-NNNN`` of the movie's next change (read now: another process may have committed)."""
        return pending_revision(self.ctx, self.movie_id, paths=self.paths)

    def save_run_record(self, record: dict[str, object]) -> str:
        """Write a run record; return its path."""
        return save_run_record(self.ctx, self.movie_id, dict(record), paths=self.paths)

    def lock(self, name: str = "build", *, timeout: float = 0.0, command: str | None = None) -> MovieLock:
        """The movie's lock ``name``, not yet acquired (see :func:`.locks.movie_lock`)."""
        return movie_lock(self.ctx, self.movie_id, name, timeout=timeout, command=command)
