"""What the viewer shows, read from the store: the JSON documents behind its pages.

Kept apart from the web app so every document is a plain function of the storage context (tested
without a server) and the app only maps URLs to them. Nothing here writes to the store.

Security rule: a blob is served only if a manifest of the movie names it (:func:`artefact_blob`);
artefact ids are looked up in manifests, never turned into paths, so no URL can reach another file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutopanda.core.engine.manifest_diff import diff_manifests
from tutopanda.core.errors import CorruptDataError, StorageError, UsageError
from tutopanda.core.movie.catalogue import list_movies
from tutopanda.core.movie.publish import movie_title
from tutopanda.core.store.blob_ref import BlobRef
from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.event_log import artefact_log, input_log
from tutopanda.core.store.manifest import Manifest, ManifestArtefact
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.movie_paths import is_initialised
from tutopanda.core.store.revisions import is_revision, parse_revision
from tutopanda.core.store.run_record import list_run_records
from tutopanda.core.store.storage import StorageContext, validate_movie_id
from tutopanda.viewer.progress import build_progress
from tutopanda.viewer.text_diff import MAX_DIFF_CHARS, word_diff

__all__ = [
    "FINAL_VIDEO",
    "TIMELINE",
    "NotFoundError",
    "ServedBlob",
    "artefact_blob",
    "build_progress",
    "checked_movie",
    "movie_detail",
    "movie_diff",
    "movie_list",
    "movie_revisions",
    "movie_timeline",
]

FINAL_VIDEO = "Artifact:Export.FinalVideo"
TIMELINE = "Artifact:Timeline.Timeline"
_INDEX = re.compile(r"\[(\d+)\]")


class NotFoundError(UsageError):
    """The movie, revision or artefact does not exist (the app answers 404 with the message)."""


@dataclass(frozen=True)
class ServedBlob:
    """A blob the viewer may serve: where it is and its media type."""

    path: str
    media_type: str
    size: int
    local: bool


def _checked_movie(ctx: StorageContext, movie_id: str) -> str:
    try:
        validate_movie_id(movie_id)
    except UsageError:
        raise NotFoundError(f"no movie {movie_id!r}") from None
    if not is_initialised(ctx, movie_id):
        raise NotFoundError(f"no movie {movie_id!r}")
    return movie_id


def checked_movie(ctx: StorageContext, movie_id: str) -> str:
    """``movie_id`` if it names an initialised movie of the store, else :class:`NotFoundError`."""
    return _checked_movie(ctx, movie_id)


def _manifest(ctx: StorageContext, movie_id: str, revision: str | None) -> Manifest:
    store = ManifestStore(ctx, movie_id)
    if revision is None:
        return store.load_current()
    if not is_revision(revision):
        raise NotFoundError(f"no revision {revision!r} (revisions look like rev-0003)")
    try:
        return store.load_revision(revision)
    except UsageError as exc:
        raise NotFoundError(exc.message) from None


def movie_list(ctx: StorageContext) -> list[dict[str, Any]]:
    """Every movie: id, title, revision, duration, cost, updated (``/api/movies``)."""
    return [summary.to_dict() for summary in list_movies(ctx)]


def _indices(artefact_id: str) -> tuple[int, ...]:
    return tuple(int(i) for i in _INDEX.findall(artefact_id))


def _provenance(artefact_id: str, manifest: Manifest) -> dict[str, Any] | None:
    entry = manifest.artefacts.get(artefact_id)
    if entry is None:
        return None
    diagnostics = entry.diagnostics
    return {
        "id": artefact_id,
        "producer": entry.produced_by,
        "provider": entry.provider,
        "model": entry.model,
        "inputsHash": entry.inputs_hash,
        "hash": entry.hash,
        "mimeType": entry.blob.mime_type,
        "size": entry.blob.size,
        "cost": diagnostics.get("cost"),
        "durationSeconds": diagnostics.get("durationSeconds") or diagnostics.get("duration"),
        "mode": diagnostics.get("mode"),
        # local speech: the engine and voice that actually spoke (the variant's model names the engine)
        "engine": diagnostics.get("engine"),
        "voice": diagnostics.get("voice"),
        "createdAt": entry.created_at,
        "manual": entry.inputs_hash == "manual",
    }


def _text(blobs: BlobStore, manifest: Manifest, artefact_id: str, limit: int = 20_000) -> str | None:
    entry = manifest.artefacts.get(artefact_id)
    if entry is None or not entry.blob.mime_type.startswith("text/") or entry.blob.size > limit:
        return None
    try:
        return blobs.get_bytes(entry.blob).decode("utf-8", errors="replace")
    except (StorageError, OSError):
        return None


def _timeline(blobs: BlobStore, manifest: Manifest) -> dict[str, Any] | None:
    entry = manifest.artefacts.get(TIMELINE)
    if entry is None:
        return None
    try:
        data = json.loads(blobs.get_bytes(entry.blob))
    except (StorageError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _revision_of_artefacts(ctx: StorageContext, movie_id: str, manifest: Manifest) -> dict[str, str]:
    """Artefact id -> the revision whose run made the output ``manifest`` holds (from the artefact log).

    Matched by blob hash and limited to revisions up to the manifest's, so an older revision's page
    names the run that made *its* outputs, not a later one.
    """
    limit = parse_revision(manifest.revision)
    made: dict[str, str] = {}
    for event in artefact_log(ctx, movie_id):
        entry = manifest.artefacts.get(event.artefact_id)
        blob = event.blob
        if (
            entry is not None
            and blob is not None
            and event.status == "succeeded"
            and blob.hash == entry.hash
            and parse_revision(event.revision) <= limit
        ):
            made.setdefault(event.artefact_id, event.revision)  # the first run that made these bytes
    return made


def movie_detail(ctx: StorageContext, movie_id: str, revision: str | None = None) -> dict[str, Any]:
    """The movie page: title, revision, duration, video, and per segment its texts, media and provenance."""
    _checked_movie(ctx, movie_id)
    manifest = _manifest(ctx, movie_id, revision)
    blobs = BlobStore(ctx, movie_id)
    timeline = _timeline(blobs, manifest)
    made_in = _revision_of_artefacts(ctx, movie_id, manifest)
    by_segment: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for artefact_id in sorted(manifest.artefacts):
        indices = _indices(artefact_id)
        if not indices:
            continue
        provenance = _provenance(artefact_id, manifest)
        if provenance is None:
            continue
        provenance["revision"] = made_in.get(artefact_id)
        kind = provenance["mimeType"].split("/")[0]
        by_segment.setdefault(indices[0], {}).setdefault(kind, []).append(provenance)
    segments = []
    timeline_segments = {item["index"]: item for item in (timeline or {}).get("segments", [])}
    for index in sorted(set(by_segment) | set(timeline_segments)):
        found = by_segment.get(index, {})
        placed = timeline_segments.get(index, {})
        narration_id = next((item["id"] for item in found.get("text", []) if "Narration" in item["id"]), None)
        segments.append(
            {
                "index": index,
                "start": placed.get("start"),
                "duration": placed.get("duration"),
                "narration": _text(blobs, manifest, narration_id) if narration_id else None,
                "artefacts": [item for group in found.values() for item in group],
            }
        )
    video = manifest.artefacts.get(FINAL_VIDEO)
    costs: list[float] = []
    for entry in manifest.artefacts.values():
        cost = entry.diagnostics.get("cost")
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            costs.append(float(cost))
    return {
        "id": movie_id,
        "title": movie_title(blobs, manifest),
        "revision": None if manifest.is_empty_revision else manifest.revision,
        "duration": (timeline or {}).get("duration"),
        "width": (timeline or {}).get("width"),
        "height": (timeline or {}).get("height"),
        "video": FINAL_VIDEO if video is not None else None,
        "cost": round(sum(costs), 6) if costs else 0.0,
        "poster": _poster(manifest),
        "mock": _mock_share(manifest),
        "segments": segments,
        "progress": build_progress(ctx, movie_id),
    }


def _poster(manifest: Manifest) -> str | None:
    """The first segment's first picture: the player's poster frame.

    Why a stored image rather than a frame cut from the video: it is already a blob the viewer may
    serve (named by the manifest), so the viewer stays read-only and needs no ffmpeg run per page.
    """
    images = [
        (_indices(artefact_id), artefact_id)
        for artefact_id, entry in manifest.artefacts.items()
        if entry.blob.mime_type.startswith("image/") and _indices(artefact_id)
    ]
    return min(images)[1] if images else None


def _is_mock(entry: ManifestArtefact) -> bool:
    return entry.provider == "mock" or entry.diagnostics.get("mode") == "mock"


def _mock_share(manifest: Manifest) -> str | None:
    """``"all"`` when every generated artefact came from the mock providers, ``"some"`` if a few did.

    A mock movie's media are placeholders (a one-second video, flat slides): the page must say so,
    or a reviewer takes them for a broken render.
    """
    # The user's own texts and files (manual) are neither mock nor real: they do not count.
    entries = [entry for entry in manifest.artefacts.values() if entry.inputs_hash != "manual"]
    mocks = sum(1 for entry in entries if _is_mock(entry))
    if not mocks:
        return None
    return "all" if mocks == len(entries) else "some"


def movie_timeline(ctx: StorageContext, movie_id: str, revision: str | None = None) -> dict[str, Any]:
    """The timeline document of the (current) revision; NotFound before a timeline was built."""
    _checked_movie(ctx, movie_id)
    timeline = _timeline(BlobStore(ctx, movie_id), _manifest(ctx, movie_id, revision))
    if timeline is None:
        raise NotFoundError(f"movie {movie_id!r} has no timeline yet")
    return timeline


def movie_revisions(ctx: StorageContext, movie_id: str) -> list[dict[str, Any]]:
    """Every saved revision, newest first, with its run's status, cost, time and job counts."""
    _checked_movie(ctx, movie_id)
    store = ManifestStore(ctx, movie_id)
    runs = {
        record.get("committedRevision") or record.get("revision"): record
        for record in list_run_records(ctx, movie_id)
    }
    rows = []
    for revision in reversed(store.list_revisions()):
        try:
            manifest = store.load_revision(revision)
        except (UsageError, CorruptDataError):
            continue
        run = runs.get(revision) or {}
        totals = run.get("totals", {})
        rows.append(
            {
                "revision": revision,
                "baseRevision": manifest.base_revision,
                "createdAt": manifest.created_at,
                "artefacts": len(manifest.artefacts),
                "status": run.get("status"),
                "cost": totals.get("cost"),
                "durationSeconds": run.get("durationSeconds"),
                "jobs": {key: totals[key] for key in ("succeeded", "failed", "cached") if key in totals},
            }
        )
    return rows


def movie_diff(ctx: StorageContext, movie_id: str, source: str | None, target: str | None) -> dict[str, Any]:
    """What changed between two revisions (default: the current one against its base), and why."""
    _checked_movie(ctx, movie_id)
    after = _manifest(ctx, movie_id, target)
    before = _manifest(ctx, movie_id, source or after.base_revision or "rev-0000")
    diff = diff_manifests(before, after).to_dict()
    blobs = BlobStore(ctx, movie_id)
    for changes in diff["artefacts"].values():
        for change in changes:
            entry = after.artefacts.get(change["id"])
            change["provider"] = entry.provider if entry else None
            change["manual"] = bool(entry and entry.inputs_hash == "manual")
            _describe_artefact_change(blobs, before, after, change)
    changed_inputs = [change for changes in diff["inputs"].values() for change in changes]
    if changed_inputs:
        values = _input_values(ctx, movie_id, changed_inputs)
        for change in changed_inputs:
            _describe_input_change(values, change)
    return diff


def _with_text_diff(change: dict[str, Any], before: str | None, after: str | None) -> None:
    """Add the texts of both sides and, when both exist, their word diff (the page renders it)."""
    change["textBefore"] = before
    change["textAfter"] = after
    if before is not None and after is not None:
        change["textDiff"] = word_diff(before, after)


def _describe_artefact_change(
    blobs: BlobStore, before: Manifest, after: Manifest, change: dict[str, Any]
) -> None:
    """The media type of a changed artefact, and for a text its old and new words.

    Pictures, sounds and clips need nothing more: the page shows both sides from the two revisions
    (``?revision=``), which the blob route already serves.
    """
    artefact_id = change["id"]
    old, new = before.artefacts.get(artefact_id), after.artefacts.get(artefact_id)
    side = new if new is not None else old
    mime = side.blob.mime_type if side is not None else ""
    change["mimeType"] = mime
    change["kind"] = mime.split("/")[0] if mime else None
    if mime.startswith("text/"):
        _with_text_diff(
            change,
            _text(blobs, before, artefact_id, limit=MAX_DIFF_CHARS) if old is not None else None,
            _text(blobs, after, artefact_id, limit=MAX_DIFF_CHARS) if new is not None else None,
        )


def _input_values(ctx: StorageContext, movie_id: str, changes: list[dict[str, Any]]) -> dict[str, Any]:
    """Value hash -> value, for the hashes ``changes`` name (a manifest holds only the hashes)."""
    wanted = {change[side] for change in changes for side in ("before", "after") if change[side]}
    values: dict[str, Any] = {}
    for event in input_log(ctx, movie_id):
        if event.hash in wanted:
            values[event.hash] = event.payload
    return values


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=1)


def _describe_input_change(values: dict[str, Any], change: dict[str, Any]) -> None:
    """An input's old and new values as text (a prompt is a string; others are shown as JSON)."""
    before = _as_text(values.get(change["before"])) if change["before"] else None
    after = _as_text(values.get(change["after"])) if change["after"] else None
    change["kind"] = "text"
    _with_text_diff(change, before, after)


def artefact_blob(
    ctx: StorageContext, movie_id: str, artefact_id: str, revision: str | None = None
) -> ServedBlob:
    """The blob of ``artefact_id`` in a manifest of the movie — the only blobs the viewer serves."""
    _checked_movie(ctx, movie_id)
    if not artefact_id.startswith("Artifact:"):
        artefact_id = "Artifact:" + artefact_id
    manifest = _manifest(ctx, movie_id, revision)
    entry = manifest.artefacts.get(artefact_id)
    if entry is None:
        raise NotFoundError(f"movie {movie_id!r} has no artefact {artefact_id} in {manifest.revision}")
    blobs = BlobStore(ctx, movie_id)
    ref: BlobRef = entry.blob
    if not blobs.exists(ref):
        raise NotFoundError(f"the blob of {artefact_id} is missing from the store (run 'tutopanda verify')")
    path = blobs.path_of(ref)
    if ctx.is_local and not _inside_blobs(ctx, movie_id, path):
        raise NotFoundError(
            f"the blob of {artefact_id} is not a regular file of the store "
            "(a symbolic link leading out of it, or a pipe, device or folder)",
            "run 'tutopanda verify' on the movie",
        )
    return ServedBlob(path, ref.mime_type, ref.size, ctx.is_local)


def _inside_blobs(ctx: StorageContext, movie_id: str, path: str) -> bool:
    """Whether local ``path`` is a regular file inside the movie's ``blobs/`` once links are followed.

    A blob is named by the manifest, but the file at that name could have been replaced by a link to
    any file on the machine; the viewer serves only what is really in the store.
    """
    blobs_dir = Path(ctx.movie_dir(movie_id)).resolve() / "blobs"
    resolved = Path(path).resolve()
    return resolved.is_relative_to(blobs_dir) and resolved.is_file()
