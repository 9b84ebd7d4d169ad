"""Removing blobs nothing needs any more (``tutopanda gc``); a dry run by default.

A blob is **protected** — never removed — when any of these names it:

* a kept manifest: the newest ``keep_revisions`` manifest files (all of them by default) and always the
  one ``current.json`` names;
* an input event (the bytes of an input value: the user gave them, nothing can make them again);
* a succeeded artefact event — the trace. Events are the memo table behind free undo: returning to an
  earlier edit finds the old outputs by their traces and pays nothing. So by default every blob an
  event names is kept. ``prune_trace=True`` drops that protection for blobs that only *committed*
  events name (events of revisions up to the current one) — old takes no kept manifest uses — at the
  price that undoing to them calls the providers again (the planner treats a missing blob as a missing
  output). Even then, events not yet committed (a build that crashed before its commit, an edit not yet
  built) and manual overrides (text the user supplied) stay protected;
* anything that could not be parsed: every 64-hex string in an unreadable event line or a kept manifest
  that does not parse counts as a reference, so damage never leads to deleting a blob.

Manifests themselves are never removed: they are small, and they are the movie's history
(``manifest:show --revision``, ``build diff``). With ``keep_revisions`` the older ones may then name
blobs that are gone; ``verify`` reports those as warnings, not errors.

Safety against builds: the movie's build lock is taken without waiting for the whole run (a build in
progress → :class:`LockHeldError`, nothing removed), and a blob or temp file younger than the grace
period (an hour) is never removed, whatever references it — a put whose event is not written yet looks
exactly like an unreferenced blob.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tutopanda.core.errors import (
    CorruptDataError,
    LockHeldError,
    MovieNotInitialisedError,
    TutopandaError,
    UsageError,
)
from tutopanda.core.store.event_scan import blob_hashes_in, input_blob_hashes, scan_log
from tutopanda.core.store.events import MANUAL, ArtefactEvent, InputEvent
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.manifest import parse_manifest
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.movie_paths import MoviePaths, ensure_initialised
from tutopanda.core.store.revisions import is_revision, parse_revision
from tutopanda.core.store.storage import StorageContext
from tutopanda.core.store.store_scan import GRACE_SECONDS, StoreFile, scan_movie
from tutopanda.core.upkeep.verify import movie_ids

__all__ = ["GcReport", "GcSkipped", "gc_all", "gc_movie"]


@dataclass
class GcReport:
    """What ``gc`` removes (or, in a dry run, would remove) from one movie, and what it keeps."""

    movie_id: str
    dry_run: bool
    keep_revisions: int | None
    prune_trace: bool
    kept_revisions: list[str]
    blobs: list[StoreFile] = field(default_factory=list)
    """Unreferenced blobs old enough to remove."""
    temps: list[StoreFile] = field(default_factory=list)
    """Leftover temp files of interrupted writes, old enough to remove."""
    young: list[StoreFile] = field(default_factory=list)
    """Unreferenced blobs kept because they are younger than the grace period."""
    total_blobs: int = 0
    total_bytes: int = 0
    grace: float = GRACE_SECONDS
    now: float = 0.0

    @property
    def remove_bytes(self) -> int:
        return sum(item.size for item in (*self.blobs, *self.temps))

    @property
    def kept_blobs(self) -> int:
        return self.total_blobs - len(self.blobs)

    @property
    def kept_bytes(self) -> int:
        return self.total_bytes - sum(blob.size for blob in self.blobs)

    def to_dict(self) -> dict[str, Any]:
        def item(entry: StoreFile) -> dict[str, Any]:
            return {
                "path": entry.relative,
                "hash": entry.hash,
                "bytes": entry.size,
                "ageSeconds": round(entry.age(self.now), 3),
            }

        return {
            "movie": self.movie_id,
            "dryRun": self.dry_run,
            "keepRevisions": self.keep_revisions,
            "pruneTrace": self.prune_trace,
            "keptRevisions": self.kept_revisions,
            "graceSeconds": self.grace,
            "remove": {
                "blobs": [item(blob) for blob in self.blobs],
                "tempFiles": [item(temp) for temp in self.temps],
                "count": len(self.blobs) + len(self.temps),
                "bytes": self.remove_bytes,
            },
            "keep": {
                "blobs": self.kept_blobs,
                "bytes": self.kept_bytes,
                "tooYoung": [item(blob) for blob in self.young],
            },
        }


@dataclass(frozen=True)
class GcSkipped:
    """A movie :func:`gc_all` left alone (a build holds it, or its store needs ``verify --repair``)."""

    movie_id: str
    message: str
    hint: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"movie": self.movie_id, "skipped": self.message, "hint": self.hint}


def _kept_revisions(
    ctx: StorageContext, paths: MoviePaths, keep: int | None, current: str | None
) -> list[str]:
    revisions = sorted(
        (
            name.removesuffix(".json")
            for name in ctx.list_names(paths.manifests_dir)
            if name.endswith(".json") and is_revision(name.removesuffix(".json"))
        ),
        key=parse_revision,
    )
    kept = revisions if keep is None else revisions[max(0, len(revisions) - keep) :]
    if current is not None and current not in kept:
        kept = sorted([*kept, current], key=parse_revision)
    return kept


def _manifest_blobs(ctx: StorageContext, paths: MoviePaths, revision: str) -> set[str]:
    path = paths.manifest(revision)
    try:
        data = ctx.read_bytes(path)
    except FileNotFoundError:
        return set()
    try:
        manifest = parse_manifest(data, path)
    except CorruptDataError:
        return blob_hashes_in(data)  # damaged: anything that looks like a hash is kept
    return {artefact.blob.hash for artefact in manifest.artefacts.values()}


def _event_blobs(ctx: StorageContext, paths: MoviePaths, *, prune_trace: bool, current: int) -> set[str]:
    protected: set[str] = set()
    for line in scan_log(ctx, paths.inputs_log, InputEvent):
        if line.event is not None:
            protected |= input_blob_hashes(line.event.payload)
        elif line.error is not None:
            protected |= blob_hashes_in(line.raw)
    for artefact_line in scan_log(ctx, paths.artefacts_log, ArtefactEvent):
        event = artefact_line.event
        if event is None:
            if artefact_line.error is not None:
                protected |= blob_hashes_in(artefact_line.raw)
            continue
        if event.blob is None:
            continue
        if not prune_trace or event.inputs_hash == MANUAL or parse_revision(event.revision) > current:
            protected.add(event.blob.hash)
    return protected


def _remove_empty_shards(ctx: StorageContext, files: list[StoreFile]) -> None:
    """Remove shard folders the collection emptied (a no-op where the store has no folders)."""
    for directory in sorted({item.path.rpartition("/")[0] for item in files}):
        ctx.backend.remove_empty_dir(directory)


def _check_keep(keep_revisions: int | None) -> None:
    if keep_revisions is not None and keep_revisions < 1:
        raise UsageError(
            f"--keep-revisions must be at least 1 (got {keep_revisions})",
            "the current revision is always kept; leave the option out to keep every revision",
        )


def gc_movie(
    ctx: StorageContext,
    movie_id: str,
    *,
    keep_revisions: int | None = None,
    prune_trace: bool = False,
    dry_run: bool = True,
    grace: float = GRACE_SECONDS,
    now: float | None = None,
    command: str = "tutopanda gc",
) -> GcReport:
    """Find (and unless ``dry_run``, remove) the blobs of ``movie_id`` nothing protects; see the module doc.

    Raises :class:`LockHeldError` while a build holds the movie, :class:`CorruptDataError` when
    ``current.json`` does not name a sound manifest (run ``verify --repair`` first), and
    :class:`UsageError` for ``keep_revisions < 1``.
    """
    _check_keep(keep_revisions)
    paths = ensure_initialised(ctx, movie_id)
    moment = time.time() if now is None else now
    try:
        lock = movie_lock(ctx, movie_id, "build", timeout=0.0, command=command).acquire()
    except LockHeldError as exc:
        raise LockHeldError(
            f"cannot gc movie '{movie_id}' while it is in use: {exc.message}",
            "gc never runs beside a build; wait for it to finish, then run gc again",
        ) from exc
    try:
        try:
            pointer = ManifestStore(ctx, movie_id).snapshot().pointer
        except CorruptDataError as exc:
            raise CorruptDataError(
                f"cannot gc movie '{movie_id}': {exc.message}",
                f"gc only runs on a sound store; run 'tutopanda verify --movie {movie_id} --repair' first",
            ) from exc
        kept = _kept_revisions(ctx, paths, keep_revisions, pointer.revision)
        protected: set[str] = set()
        for revision in kept:
            protected |= _manifest_blobs(ctx, paths, revision)
        current = parse_revision(pointer.revision) if pointer.revision else 0
        protected |= _event_blobs(ctx, paths, prune_trace=prune_trace, current=current)
        scan = scan_movie(ctx, movie_id)
        report = GcReport(
            movie_id,
            dry_run,
            keep_revisions,
            prune_trace,
            kept,
            total_blobs=len(scan.blobs),
            total_bytes=sum(blob.size for blob in scan.blobs),
            grace=grace,
            now=moment,
        )
        for blob in scan.blobs:
            if blob.hash in protected:
                continue
            (report.blobs if blob.age(moment) >= grace else report.young).append(blob)
        report.temps = [temp for temp in scan.temps if temp.age(moment) >= grace]
        if not dry_run:
            # Writers that do not take the build lock (events:append, a DBOS job) may have named one of
            # these blobs since the logs were read: read them again and spare anything now referenced.
            named = _event_blobs(ctx, paths, prune_trace=prune_trace, current=current)
            report.blobs = [blob for blob in report.blobs if blob.hash not in named]
            for item in (*report.blobs, *report.temps):
                ctx.remove(item.path)
            _remove_empty_shards(ctx, report.blobs)
        return report
    finally:
        lock.release()


def gc_all(
    ctx: StorageContext,
    *,
    keep_revisions: int | None = None,
    prune_trace: bool = False,
    dry_run: bool = True,
    grace: float = GRACE_SECONDS,
    now: float | None = None,
) -> tuple[list[GcReport], list[GcSkipped]]:
    """:func:`gc_movie` for every movie; movies that cannot be collected now are listed as skipped."""
    _check_keep(keep_revisions)
    reports: list[GcReport] = []
    skipped: list[GcSkipped] = []
    for movie_id in movie_ids(ctx):
        try:
            reports.append(
                gc_movie(
                    ctx,
                    movie_id,
                    keep_revisions=keep_revisions,
                    prune_trace=prune_trace,
                    dry_run=dry_run,
                    grace=grace,
                    now=now,
                )
            )
        except MovieNotInitialisedError as exc:
            skipped.append(GcSkipped(movie_id, exc.message, "run 'tutopanda verify --movie ID --repair'"))
        except UsageError:
            raise
        except TutopandaError as exc:
            skipped.append(GcSkipped(movie_id, exc.message, exc.hint))
    return reports, skipped
