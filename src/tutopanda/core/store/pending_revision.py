"""The revision the next change of a movie belongs to: one rule for builds, edits and hand-made manifests.

A revision number is never reused: the pending revision is one past every saved manifest, the current
pointer and every run that finished (a run that failed before committing still used its number). Input
and artefact events appended between builds are stamped with it, so they land in the revision the next
build commits.
"""

from __future__ import annotations

from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.movie_paths import MoviePaths
from tutopanda.core.store.revisions import format_revision, parse_revision
from tutopanda.core.store.run_record import run_revisions
from tutopanda.core.store.storage import StorageContext

__all__ = ["pending_revision"]


def pending_revision(ctx: StorageContext, movie_id: str, *, paths: MoviePaths | None = None) -> str:
    """``rev-NNNN`` for the movie's next change (``paths``: from an opened movie, already checked)."""
    numbers = [parse_revision(ManifestStore(ctx, movie_id, paths=paths).next_revision()) - 1]
    numbers += [parse_revision(revision) for revision in run_revisions(ctx, movie_id, paths=paths)]
    return format_revision(max(numbers) + 1)
