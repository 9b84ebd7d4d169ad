"""The movies of a storage root: listing them with a one-line summary each, and deleting one.

A *movie* is an initialised folder ``<root>/<base_path>/<movie-id>/`` (it has a ``current.json``); its
published files live in ``<root>/movies/<movie-id>/`` (see :mod:`tutopanda.core.movie.publish`).

:func:`list_movies` never fails because of one movie: a movie whose files cannot be read is listed with
what could be read and an ``error``. :func:`clean_movie` deletes both folders, but only while it holds
the movie's build lock, so it can never pull files from under a running build.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutopanda.core.errors import LockHeldError, TutopandaError, UsageError
from tutopanda.core.movie.publish import MOVIES_DIR, movie_title
from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.manifest import Manifest
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.movie_paths import is_initialised
from tutopanda.core.store.run_record import list_run_records
from tutopanda.core.store.storage import StorageContext, storage_error, validate_movie_id

__all__ = [
    "TIMELINE_ARTEFACT",
    "CleanResult",
    "MovieFootprint",
    "MovieSummary",
    "clean_movie",
    "list_movies",
    "movie_footprint",
]

TIMELINE_ARTEFACT = "Artifact:Timeline.Timeline"
"""The timeline document whose ``duration`` is the length of the final video."""

_LIST_HINT = "run 'tutopanda movies list' to see the movies in this storage root (or check --root)"


@dataclass(frozen=True)
class MovieSummary:
    """One row of ``movies list``. Fields that are unknown (never built, or unreadable) are None.

    ``error`` is set when part of the movie could not be read; the other fields hold what could be.
    """

    id: str
    title: str | None = None
    revision: str | None = None
    duration: float | None = None
    cost: float | None = None
    updated: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``movies list --json``)."""
        return {
            "id": self.id,
            "title": self.title,
            "revision": self.revision,
            "durationSeconds": self.duration,
            "cost": self.cost,
            "updatedAt": self.updated,
            "error": self.error,
        }


@dataclass(frozen=True)
class MovieFootprint:
    """The folders of one movie that exist, and the files and bytes they hold."""

    movie_id: str
    folders: tuple[str, ...]
    files: int
    bytes: int


@dataclass(frozen=True)
class CleanResult:
    """What :func:`clean_movie` deleted."""

    movie_id: str
    removed: tuple[str, ...]
    files: int
    bytes: int


# -- listing -------------------------------------------------------------------------------------


def list_movies(ctx: StorageContext) -> list[MovieSummary]:
    """A summary of every initialised movie under the storage root, by id.

    Folders whose name is not a valid movie id, or which have no ``current.json``, are skipped.
    """
    summaries: list[MovieSummary] = []
    for name in ctx.list_names(ctx.builds_dir()):
        try:
            validate_movie_id(name)
        except UsageError:
            continue
        if is_initialised(ctx, name):
            summaries.append(_summary(ctx, name))
    return summaries


def _summary(ctx: StorageContext, movie_id: str) -> MovieSummary:
    fields: dict[str, Any] = {}
    try:
        # Cheapest and most robust first, so a damaged manifest still leaves revision, date and cost.
        store = ManifestStore(ctx, movie_id)
        pointer = store.read_pointer()
        fields["revision"] = pointer.revision
        fields["updated"] = pointer.updated_at
        fields["cost"] = round(
            sum(float(run.get("totals", {}).get("cost") or 0) for run in list_run_records(ctx, movie_id)), 6
        )
        manifest = store.snapshot().manifest
        blobs = BlobStore(ctx, movie_id)
        fields["title"] = movie_title(blobs, manifest)
        fields["duration"] = _duration(blobs, manifest)
    except TutopandaError as exc:
        fields["error"] = exc.message
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        fields["error"] = f"{type(exc).__name__}: {exc}"
    return MovieSummary(movie_id, **fields)


def _duration(blobs: BlobStore, manifest: Manifest) -> float | None:
    entry = manifest.artefacts.get(TIMELINE_ARTEFACT)
    if entry is None:
        return None
    document = json.loads(blobs.get_bytes(entry.blob))
    duration = document.get("duration") if isinstance(document, dict) else None
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        return None
    return float(duration)


# -- cleaning ------------------------------------------------------------------------------------


def _folders(ctx: StorageContext, movie_id: str) -> tuple[str, ...]:
    candidates = (ctx.movie_dir(movie_id), ctx.join(ctx.root, MOVIES_DIR, validate_movie_id(movie_id)))
    return tuple(folder for folder in candidates if ctx.exists(folder))


def _files(ctx: StorageContext, folder: str) -> tuple[int, int]:
    """(files, bytes) under ``folder``."""
    count = total = 0
    try:
        for found in ctx.backend.walk(folder):
            count += 1
            total += found.size
    except OSError as exc:
        raise storage_error(exc, "inspecting", folder) from exc
    return count, total


def movie_footprint(ctx: StorageContext, movie_id: str) -> MovieFootprint:
    """The folders of ``movie_id`` (build and published) with their file count and size.

    Raises :class:`UsageError` for an invalid id, or when the movie has neither folder.
    """
    folders = _folders(ctx, movie_id)
    if not folders:
        raise UsageError(f"there is no movie '{movie_id}' in {ctx.root}", _LIST_HINT)
    count = total = 0
    for folder in folders:
        files, size = _files(ctx, folder)
        count += files
        total += size
    return MovieFootprint(movie_id, folders, count, total)


def _remove_tree(ctx: StorageContext, folder: str) -> None:
    try:
        ctx.backend.remove_tree(folder)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise storage_error(exc, "deleting", folder) from exc


_DOOMED_PREFIX = ".deleting-"
"""Name prefix of a movie folder being deleted: not a valid movie id, so no command can open it."""


def _move_aside(ctx: StorageContext, movie_id: str, build_dir: str) -> str:
    """Rename the movie's folder out of every command's reach, in one atomic step, under its lock.

    Deleting in place would leave a half-deleted movie that a command started meanwhile could open (and
    would delete the lock file itself, letting such a command take a new lock at once). After the rename,
    the id names no movie: a command starting now finds none, and one that was waiting for the lock sees
    its lock file gone and stops (:class:`~tutopanda.core.store.locks.MovieLock`). Object stores have no
    rename and no cross-process lock file; there the folder is deleted in place.
    """
    doomed = ctx.join(ctx.builds_dir(), f"{_DOOMED_PREFIX}{movie_id}-{uuid.uuid4().hex[:12]}")
    try:
        moved = ctx.backend.rename_folder(build_dir, doomed)
    except OSError as exc:
        raise storage_error(exc, "moving aside for deletion", build_dir) from exc
    return doomed if moved else build_dir


def _sweep_remains(ctx: StorageContext) -> None:
    """Delete folders an interrupted clean moved aside but did not finish deleting."""
    for name in ctx.list_names(ctx.builds_dir()):
        if name.startswith(_DOOMED_PREFIX):
            _remove_tree(ctx, ctx.join(ctx.builds_dir(), name))


def clean_movie(ctx: StorageContext, movie_id: str) -> CleanResult:
    """Delete ``<root>/<base_path>/<movie_id>`` and ``<root>/movies/<movie_id>``.

    The movie's build lock is taken first without waiting: while a build (or another clean) holds it,
    :class:`LockHeldError` names the holder and nothing is deleted. An unknown movie is a
    :class:`UsageError` whose hint says how to list the movies.
    """
    footprint = movie_footprint(ctx, movie_id)
    build_dir = ctx.movie_dir(movie_id)
    for folder in footprint.folders:  # a link is never followed: what it leads to is not ours to delete
        if ctx.backend.is_link(folder):
            raise UsageError(
                f"cannot delete movie '{movie_id}': {folder} is a symbolic link "
                f"(to {Path(folder).resolve()}), not a folder of the storage root",
                f"remove the link yourself (rm {folder}), and what it leads to if you mean to",
            )
    if build_dir not in footprint.folders:
        for folder in footprint.folders:
            _remove_tree(ctx, folder)
        return CleanResult(movie_id, footprint.folders, footprint.files, footprint.bytes)
    lock = movie_lock(ctx, movie_id, "build", timeout=0.0, command="tutopanda movies clean")
    try:
        lock.acquire()
    except LockHeldError as exc:
        raise LockHeldError(
            f"cannot delete movie '{movie_id}': {exc.message}",
            f"wait for that command to finish, then run 'tutopanda movies clean {movie_id}' again",
        ) from exc
    try:
        doomed = _move_aside(ctx, movie_id, build_dir)
        # The published folder goes first: if deleting the build folder then fails, the movie is still
        # listed (or, once moved aside, its remains are swept by the next clean).
        for folder in footprint.folders:
            if folder != build_dir:
                _remove_tree(ctx, folder)
        _remove_tree(ctx, doomed)
        _sweep_remains(ctx)
    finally:
        lock.release()
    return CleanResult(movie_id, footprint.folders, footprint.files, footprint.bytes)
