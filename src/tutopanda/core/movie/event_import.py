"""Turn hand-written event records (the ``events:append`` file format) into real, hashed events.

The records a user writes never carry trusted hashes: any ``hash``/``digest`` fields are ignored and
recomputed from the real payload (input values hashed canonically, artefact payloads stored in the blob
store and hashed as bytes). Events are stamped with the movie's *pending* revision (the one the next
manifest will take), which is where anything appended between builds belongs.

Record shapes (JSON objects):

* input — ``{"id": "Input:Name", "payload": <any JSON>, "editedBy"?: "user"}``
* artefact — ``{"artefactId": "Artifact:M.N[0]", "producedBy": "Producer:M.P[0]", "payload": <text or
  JSON> | "path": "<file, relative to the event file>", "mimeType"?, "status"?: "succeeded",
  "inputsHash"?: "manual", "provider"?: "manual", "model"?, "diagnostics"?: {}, "error"?: "message"}``
"""

from __future__ import annotations

import difflib
import mimetypes
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from tutopanda.core.blueprint import JobGraph
from tutopanda.core.errors import UsageError
from tutopanda.core.movie.definition import check_new_values, defined_graph
from tutopanda.core.store.blob_ref import BlobRef
from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.event_log import artefact_log, input_log
from tutopanda.core.store.events import (
    MANUAL,
    ArtefactEvent,
    ArtefactStatus,
    InputEvent,
    artefact_event,
    input_event,
)
from tutopanda.core.store.hashing import canonical_json
from tutopanda.core.store.pending_revision import pending_revision
from tutopanda.core.store.storage import StorageContext

__all__ = ["MANUAL_INPUTS_HASH", "append_artefact_records", "append_input_records"]

MANUAL_INPUTS_HASH = MANUAL
"""``inputsHash`` of an artefact supplied by hand: it matches no job's trace, so the planner treats it as
a user replacement rather than a cached result."""

_IGNORED = {"hash", "digest", "revision", "createdAt", "blob", "output"}
_INPUT_KEYS = {"id", "payload", "editedBy"} | _IGNORED
_ARTEFACT_KEYS = {
    "artefactId",
    "producedBy",
    "payload",
    "path",
    "mimeType",
    "status",
    "inputsHash",
    "provider",
    "model",
    "diagnostics",
    "error",
} | _IGNORED
_STATUSES = ("succeeded", "failed", "skipped")


def _check_keys(record: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(record) - allowed)
    if unknown:
        raise UsageError(
            f"{where}: unknown field {unknown[0]!r}",
            f"allowed fields: {', '.join(sorted(allowed - _IGNORED))}",
        )


def _required_str(
    record: Mapping[str, Any], key: str, where: str, example: str, prefix: str | None = None
) -> str:
    value = record.get(key)
    if prefix is not None and isinstance(value, str) and not value.startswith(prefix):
        raise UsageError(
            f"{where}: {key} {value!r} does not start with {prefix!r}", f"write e.g. {example!r}"
        )
    if not isinstance(value, str) or not value.strip() or any(ch.isspace() for ch in value):
        raise UsageError(
            f"{where}: field {key!r} is missing or not a string without spaces", f'add "{key}": "{example}"'
        )
    return value


def append_input_records(
    ctx: StorageContext, movie_id: str, records: Sequence[Mapping[str, Any]], *, source: str
) -> list[InputEvent]:
    """Validate ``records``, hash their payloads and append them to the movie's input log (all or none)."""
    revision = pending_revision(ctx, movie_id)
    events: list[InputEvent] = []
    for index, record in enumerate(records):
        where = f"{source} event {index + 1}"
        _check_keys(record, _INPUT_KEYS, where)
        input_id = _required_str(record, "id", where, "Input:InquiryPrompt", "Input:")
        if "payload" not in record:
            raise UsageError(f"{where}: field 'payload' is missing", 'add "payload": <the input value>')
        edited_by = record.get("editedBy", "user")
        if not isinstance(edited_by, str) or not edited_by:
            raise UsageError(
                f"{where}: field 'editedBy' must be a non-empty string", 'use "editedBy": "user"'
            )
        events.append(
            input_event(input_id, record["payload"], revision=revision, clock=ctx.clock, edited_by=edited_by)
        )
    check_new_values(ctx, movie_id, {event.id: event.payload for event in events})
    input_log(ctx, movie_id).append_many(events)
    return events


def _store_payload(blobs: BlobStore, record: Mapping[str, Any], base_dir: Path, where: str) -> BlobRef | None:
    """Store the record's payload or file in the blob store; None when the record has neither."""
    mime = record.get("mimeType")
    if mime is not None and (not isinstance(mime, str) or "/" not in mime):
        raise UsageError(
            f"{where}: 'mimeType' must look like 'image/png'", "fix or remove the mimeType field"
        )
    if "path" in record:
        relative = record["path"]
        if not isinstance(relative, str) or not relative:
            raise UsageError(f"{where}: 'path' must be a file path string", 'use "path": "image.png"')
        path = (base_dir / relative) if not Path(relative).is_absolute() else Path(relative)
        try:
            is_file = path.is_file()
        except OSError:  # a name too long for the file system, ...
            is_file = False
        if not is_file:
            raise UsageError(
                f"{where}: payload file {path} does not exist", "fix 'path' (relative to the event file)"
            )
        mime_type = mime or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return blobs.put_file(path, mime_type)
    if "payload" in record:
        payload = record["payload"]
        if isinstance(payload, str):
            return blobs.put_bytes(payload.encode("utf-8"), mime or "text/plain")
        try:
            data = canonical_json(payload).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{where}: payload cannot be stored as JSON: {exc}") from exc
        return blobs.put_bytes(data, mime or "application/json")
    return None


def _check_against_graph(graph: JobGraph, artefact_id: str, produced_by: str, where: str) -> None:
    producer = graph.producer_of(artefact_id)
    if producer is None:
        known = [a.id for job in graph.jobs for a in job.produces]
        close = difflib.get_close_matches(artefact_id, known, n=1)
        raise UsageError(
            f"{where}: movie has no artefact {artefact_id}",
            f"did you mean {close[0]}?" if close else "list them with 'tutopanda manifest show --movie <id>'",
        )
    if producer.id != produced_by:
        raise UsageError(
            f"{where}: {artefact_id} is produced by {producer.id}, not {produced_by}",
            f'use "producedBy": "{producer.id}"',
        )


def append_artefact_records(
    ctx: StorageContext,
    movie_id: str,
    records: Sequence[Mapping[str, Any]],
    *,
    base_dir: Path,
    source: str,
    graph: JobGraph | None = None,
) -> list[ArtefactEvent]:
    """Store each record's payload as a blob and append an artefact event for it (events all or none).

    Blobs written before a later record turns out invalid stay in the store: they are content-addressed
    and unreferenced blobs are harmless. ``graph``: the movie's job graph when the caller has it loaded
    (else it is loaded here; a movie without a blueprint yet accepts any id).
    """
    revision = pending_revision(ctx, movie_id)
    blobs = BlobStore(ctx, movie_id)
    graph = graph if graph is not None else defined_graph(ctx, movie_id)
    events: list[ArtefactEvent] = []
    for index, record in enumerate(records):
        where = f"{source} event {index + 1}"
        _check_keys(record, _ARTEFACT_KEYS, where)
        artefact_id = _required_str(
            record, "artefactId", where, "Artifact:Script.NarrationScript[0]", "Artifact:"
        )
        produced_by = _required_str(record, "producedBy", where, "Producer:Script.Script")
        if graph is not None:
            _check_against_graph(graph, artefact_id, produced_by, where)
        if record.get("inputsHash", MANUAL_INPUTS_HASH) != MANUAL_INPUTS_HASH:
            raise UsageError(
                f"{where}: inputsHash must be {MANUAL_INPUTS_HASH!r} for an artefact supplied by hand",
                "drop inputsHash: traces are computed by the engine, never taken from a file",
            )
        status = record.get("status", "succeeded")
        if status not in _STATUSES:
            raise UsageError(f"{where}: status {status!r} is not one of {', '.join(_STATUSES)}")
        stored = _store_payload(blobs, record, base_dir, where)
        if status == "succeeded" and stored is None:
            raise UsageError(
                f"{where}: a succeeded artefact needs a 'payload' or a 'path'",
                'add "payload": "..." or "path": "file"',
            )
        diagnostics = record.get("diagnostics", {})
        if not isinstance(diagnostics, dict):
            raise UsageError(f"{where}: 'diagnostics' must be an object")
        error = record.get("error")
        events.append(
            artefact_event(
                artefact_id,
                status=cast(ArtefactStatus, status),
                revision=revision,
                inputs_hash=MANUAL_INPUTS_HASH,
                produced_by=produced_by,
                provider=str(record.get("provider") or "manual"),
                model=record.get("model") if isinstance(record.get("model"), str) else None,
                clock=ctx.clock,
                blob=stored if status == "succeeded" else None,
                diagnostics=diagnostics,
                error=str(error) if error is not None else None,
            )
        )
    artefact_log(ctx, movie_id).append_many(events)
    return events
