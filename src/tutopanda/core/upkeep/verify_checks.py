"""The checks of ``tutopanda verify``: read a movie's whole store and name every problem found.

Why a module of its own: checking only reads (it is safe beside a running build) while repairing writes
under the movie's lock (:mod:`~tutopanda.core.upkeep.verify_repairs`); keeping them apart keeps each readable
and lets a repair rely on one :class:`Inspection` instead of reading everything again. The entry points
and the report are in :mod:`~tutopanda.core.upkeep.verify`, whose docstring lists every kind of problem.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal, cast

from tutopanda.core.errors import CorruptDataError
from tutopanda.core.store.blob_ref import BlobRef
from tutopanda.core.store.blob_store import hash_file
from tutopanda.core.store.event_scan import LogLine, input_blob_hashes, log_segments, scan_log
from tutopanda.core.store.events import ArtefactEvent, InputEvent
from tutopanda.core.store.hashing import hash_stream, sha256_hex
from tutopanda.core.store.manifest import Manifest, parse_manifest
from tutopanda.core.store.movie_paths import MoviePaths, movie_paths
from tutopanda.core.store.pointer import CurrentPointer, parse_pointer
from tutopanda.core.store.revisions import is_revision, parse_revision
from tutopanda.core.store.storage import StorageContext, storage_error
from tutopanda.core.store.store_scan import GRACE_SECONDS, StoreFile, scan_movie

__all__ = [
    "CORRUPT_SUFFIX",
    "GRACE_SECONDS",
    "LOGS",
    "REJECTED_SUFFIX",
    "Checked",
    "Inspection",
    "LogState",
    "ManifestFile",
    "Problem",
    "Severity",
    "inspect_movie",
]

Severity = Literal["error", "warning"]

LOGS = (("inputs", InputEvent), ("artefacts", ArtefactEvent))
"""The event logs of a movie, by name, with the kind of event each holds."""
REJECTED_SUFFIX = ".rejected"
"""Bytes a repair cut from or blanked in ``events/<log>.log`` are kept in ``<log>.log.rejected``."""
CORRUPT_SUFFIX = ".corrupt"
"""Damaged manifests and records are moved aside under this suffix (readers ignore them)."""
_RECORD_SUFFIXES = ("-plan.json", "-run.json")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a movie's store."""

    kind: str
    path: str
    message: str
    repairable: bool
    hint: str | None = None
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "path": self.path,
            "message": self.message,
            "repairable": self.repairable,
            "hint": self.hint,
        }


@dataclass
class Checked:
    """How much was checked."""

    manifests: int = 0
    blobs: int = 0
    blob_bytes: int = 0
    events: int = 0
    records: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "manifests": self.manifests,
            "blobs": self.blobs,
            "blobBytes": self.blob_bytes,
            "events": self.events,
            "records": self.records,
        }


# -- inspection ----------------------------------------------------------------------------------


@dataclass
class ManifestFile:
    revision: str
    path: str
    data: bytes
    manifest: Manifest | None
    error: str | None


@dataclass
class LogState:
    name: str
    path: str
    segmented: bool = False
    torn: LogLine[Any] | None = None
    unreadable: list[LogLine[Any]] = field(default_factory=list)


@dataclass
class Inspection:
    """Everything one check pass learnt, so that repairs need not read it all again."""

    paths: MoviePaths
    whole: set[str] = field(default_factory=set)
    corrupt_blobs: list[StoreFile] = field(default_factory=list)
    manifests: dict[str, ManifestFile] = field(default_factory=dict)
    pointer: CurrentPointer | None = None
    pointer_problem: str | None = None
    pointer_data: bytes | None = None  # current.json as read, before the manifests were listed
    logs: list[LogState] = field(default_factory=list)
    input_events: list[InputEvent] = field(default_factory=list)
    artefact_events: list[ArtefactEvent] = field(default_factory=list)
    corrupt_records: list[str] = field(default_factory=list)
    stale_temps: list[StoreFile] = field(default_factory=list)
    highest_revision: int = 0
    problems: list[Problem] = field(default_factory=list)
    checked: Checked = field(default_factory=Checked)

    def relative(self, path: str) -> str:
        prefix = self.paths.root.rstrip("/") + "/"
        return path[len(prefix) :] if path.startswith(prefix) else path

    def complete(self, revision: str) -> bool:
        """Whether manifest ``revision`` is a complete file: it parses and holds its own revision."""
        entry = self.manifests.get(revision)
        return entry is not None and entry.manifest is not None


def _blob_digest(ctx: StorageContext, blob: StoreFile) -> tuple[str, int]:
    local = ctx.backend.os_path(blob.path)
    if local is not None:  # an OS path: unbuffered readinto at disk speed
        return hash_file(local)
    with ctx.open_read(blob.path) as stream:
        return hash_stream(cast(BinaryIO, stream))


def _check_blobs(ctx: StorageContext, found: Inspection, blobs: list[StoreFile]) -> None:
    count = size = 0
    for blob in blobs:
        assert blob.hash is not None
        try:
            digest, length = _blob_digest(ctx, blob)
        except FileNotFoundError:
            continue  # removed while we looked (gc): it is simply not there
        except OSError as exc:
            raise storage_error(exc, "reading", blob.path) from exc
        count += 1
        size += length
        if digest == blob.hash:
            found.whole.add(blob.hash)
            continue
        found.corrupt_blobs.append(blob)
        found.problems.append(
            Problem(
                "blob-corrupt",
                blob.relative,
                f"corrupt blob: its {length} bytes hash to {digest[:12]}…, not to its name",
                repairable=True,
                hint="--repair removes it; the next build produces that artefact again",
            )
        )
    found.checked.blobs += count
    found.checked.blob_bytes += size


def _check_manifests(ctx: StorageContext, found: Inspection) -> None:
    paths = found.paths
    for name in ctx.list_names(paths.manifests_dir):
        base = name.split(".json", 1)[0]
        if is_revision(base) and name != f"{base}.json":  # rev-0003.json.corrupt: taken out of use
            found.highest_revision = max(found.highest_revision, parse_revision(base))
            continue
        if not name.endswith(".json") or not is_revision(base):
            continue
        path = ctx.join(paths.manifests_dir, name)
        found.highest_revision = max(found.highest_revision, parse_revision(base))
        try:
            data = ctx.read_bytes(path)
        except FileNotFoundError:
            continue
        manifest: Manifest | None = None
        error: str | None = None
        try:
            manifest = parse_manifest(data, found.relative(path))
        except CorruptDataError as exc:
            error = exc.message
        if manifest is not None and manifest.revision != base:
            error = f"{found.relative(path)} holds revision {manifest.revision}, not {base}"
            manifest = None
        found.manifests[base] = ManifestFile(base, path, data, manifest, error)
        if error is not None:
            found.problems.append(
                Problem(
                    "manifest-corrupt",
                    found.relative(path),
                    error,
                    repairable=True,
                    hint="--repair moves it aside as .corrupt (and re-points current.json if it names it)",
                )
            )
    found.checked.manifests += len(found.manifests)


def _check_pointer(ctx: StorageContext, found: Inspection) -> None:
    relative = "current.json"
    hint = "--repair re-points it at the newest complete manifest (or rebuilds one from the event logs)"
    data = found.pointer_data
    if data is None:
        found.pointer_problem = "pointer-missing"
        found.problems.append(
            Problem("pointer-missing", relative, "current.json is missing", repairable=True, hint=hint)
        )
        return
    try:
        pointer = parse_pointer(data, relative)
    except CorruptDataError as exc:
        found.pointer_problem = "pointer-corrupt"
        found.problems.append(Problem("pointer-corrupt", relative, exc.message, repairable=True, hint=hint))
        return
    found.pointer = pointer
    if pointer.revision is None:
        return
    found.highest_revision = max(found.highest_revision, parse_revision(pointer.revision))
    entry = found.manifests.get(pointer.revision)
    problem: tuple[str, str] | None = None
    if entry is None:
        problem = ("pointer-target-missing", f"current.json names {pointer.manifest_path}, which is missing")
    elif sha256_hex(entry.data) != pointer.hash:
        problem = (
            "pointer-hash-mismatch",
            f"{pointer.manifest_path} does not hash to the hash current.json records "
            "(it was changed after it was saved)",
        )
    elif entry.manifest is None:
        problem = ("pointer-target-corrupt", f"current.json names {pointer.manifest_path}, which is damaged")
    if problem is not None:
        found.pointer_problem = problem[0]
        found.problems.append(Problem(problem[0], relative, problem[1], repairable=True, hint=hint))


def _check_manifest_blobs(found: Inspection) -> None:
    """A missing blob of the current manifest is an error; of older (or orphan) revisions a warning."""
    current = found.pointer.revision if found.pointer is not None and found.pointer_problem is None else None
    corrupt = {blob.hash for blob in found.corrupt_blobs}
    missing: dict[str, tuple[BlobRef, list[tuple[str, str]]]] = {}
    for revision, entry in sorted(found.manifests.items(), key=lambda item: parse_revision(item[0])):
        if entry.manifest is None:
            continue
        for artefact_id, art in entry.manifest.artefacts.items():
            blob_hash = art.blob.hash
            if blob_hash in found.whole or blob_hash in corrupt:
                continue
            _, where = missing.setdefault(blob_hash, (art.blob, []))
            where.append((artefact_id, revision))
    for blob_hash, (ref, where) in missing.items():
        in_current = any(revision == current for _, revision in where)
        first = next((place for place in where if place[1] == current), where[-1])
        shown = f"{first[0]} in {first[1]}" + (f" and {len(where) - 1} more" if len(where) > 1 else "")
        relative = found.relative(found.paths.blob(blob_hash, ref.extension))
        if in_current:
            found.problems.append(
                Problem(
                    "blob-missing",
                    relative,
                    f"missing blob of {shown}",
                    repairable=False,
                    hint=f"run 'tutopanda build run --movie {found.paths.movie_id}': the next build "
                    "produces it again",
                )
            )
        else:
            found.problems.append(
                Problem(
                    "blob-missing",
                    relative,
                    f"missing blob of {shown} (an older revision)",
                    repairable=False,
                    hint="expected after 'tutopanda gc --keep-revisions'; that revision can still be "
                    "listed and diffed, and returning to it produces the artefact again",
                    severity="warning",
                )
            )


def _check_logs(ctx: StorageContext, found: Inspection) -> None:
    events = 0
    for name, kind in LOGS:
        path = ctx.join(found.paths.events_dir, f"{name}.log")
        state = LogState(name, path, segmented=log_segments(ctx, path) is not None)
        found.logs.append(state)
        for line in scan_log(ctx, path, kind):
            if line.torn:
                state.torn = line
            elif line.error is not None:
                state.unreadable.append(line)
            elif line.event is not None:
                events += 1
                if isinstance(line.event, InputEvent):
                    found.input_events.append(line.event)
                elif isinstance(line.event, ArtefactEvent):
                    found.artefact_events.append(line.event)
                revision = getattr(line.event, "revision", None)
                if isinstance(revision, str):
                    found.highest_revision = max(found.highest_revision, parse_revision(revision))
        relative = found.relative(path)
        if state.torn is not None:
            found.problems.append(
                Problem(
                    "event-torn-tail",
                    relative,
                    f"torn last line {state.torn.number} ({len(state.torn.raw)} bytes without a newline: "
                    "a write was interrupted); readers skip it",
                    repairable=True,
                    hint=f"--repair cuts it off (keeping the bytes in {relative}{REJECTED_SUFFIX})",
                )
            )
        for line in state.unreadable:
            if state.segmented:  # segments are immutable: nothing to blank, and readers skip it anyway
                where, repairable = found.relative(line.file), False
                hint = "segments are never rewritten; readers skip the line (inspect it by hand)"
            else:
                where, repairable = relative, True
                hint = f"--repair blanks it (keeping the bytes in {relative}{REJECTED_SUFFIX})"
            found.problems.append(
                Problem(
                    "event-unreadable",
                    where,
                    f"line {line.number} is unreadable ({line.error}); readers skip it",
                    repairable=repairable,
                    hint=hint,
                )
            )
    corrupt = {blob.hash for blob in found.corrupt_blobs}
    lost: dict[str, str] = {}
    for event in found.input_events:
        for blob_hash in input_blob_hashes(event.payload):
            if blob_hash not in found.whole and blob_hash not in corrupt:
                lost.setdefault(blob_hash, f"{event.id} ({event.revision})")
    for blob_hash, where in lost.items():
        found.problems.append(
            Problem(
                "blob-missing",
                f"blobs/{blob_hash[:2]}/{blob_hash}",
                f"the bytes of input value {where}, blob {blob_hash[:12]}…, are missing",
                repairable=False,
                hint="give that input its value again (tutopanda edit or storage init --set)",
            )
        )
    found.checked.events += events


def _check_records(ctx: StorageContext, found: Inspection) -> None:
    runs_dir = found.paths.runs_dir
    count = 0
    for name in ctx.list_names(runs_dir):
        suffix = next((s for s in _RECORD_SUFFIXES if s in name), None)
        if suffix is None:
            continue
        revision = name.split(suffix, 1)[0]
        if not is_revision(revision):
            continue
        found.highest_revision = max(found.highest_revision, parse_revision(revision))
        if not name.endswith(suffix):
            continue  # moved aside (.corrupt)
        path = ctx.join(runs_dir, name)
        relative = found.relative(path)
        count += 1
        try:
            record = json.loads(ctx.read_bytes(path))
        except FileNotFoundError:
            continue
        except ValueError as exc:
            record = exc
        if not isinstance(record, dict):
            found.corrupt_records.append(path)
            found.problems.append(
                Problem(
                    "record-corrupt",
                    relative,
                    f"{relative} is not a JSON object"
                    + (f" ({record})" if isinstance(record, ValueError) else ""),
                    repairable=True,
                    hint="--repair moves it aside as .corrupt (it only records a past plan or run)",
                )
            )
            continue
        for mismatch in _record_mismatches(found, revision, suffix, record):
            found.problems.append(
                Problem(
                    "record-mismatch",
                    relative,
                    mismatch,
                    repairable=False,
                    hint="the record describes a past plan or run only; builds do not read it",
                    severity="warning",
                )
            )
    found.checked.records += count


def _record_mismatches(found: Inspection, revision: str, suffix: str, record: dict[str, Any]) -> list[str]:
    name = f"{revision}{suffix}"
    problems: list[str] = []
    if record.get("revision") != revision:
        problems.append(f"{name} records revision {record.get('revision')!r}, not {revision}")
    if suffix == "-plan.json":
        if "movie" in record and record["movie"] != found.paths.movie_id:
            problems.append(f"{name} is a plan of movie {record['movie']!r}")
        base = record.get("baseRevision")
        if isinstance(base, str) and base not in found.manifests:
            problems.append(f"{name} is based on {base}, which has no manifest")
    else:
        committed = record.get("committedRevision")
        if isinstance(committed, str) and committed not in found.manifests:
            problems.append(f"{name} says it committed {committed}, which has no manifest")
    return problems


def _check_temps(found: Inspection, temps: list[StoreFile], grace: float, now: float) -> None:
    for temp in temps:
        if temp.age(now) < grace:
            continue
        found.stale_temps.append(temp)
        found.problems.append(
            Problem(
                "temp-file",
                temp.relative,
                f"leftover temp file of an interrupted write ({temp.size} bytes, "
                f"{temp.age(now) / 3600:.1f} h old)",
                repairable=True,
                hint="--repair (or tutopanda gc) removes it",
                severity="warning",
            )
        )


def inspect_movie(ctx: StorageContext, movie_id: str, *, grace: float, now: float) -> Inspection:
    found = Inspection(movie_paths(ctx, movie_id))
    # The pointer first, then the manifests: a commit landing in between then names a manifest that
    # is already listed, never one that looks missing.
    try:
        found.pointer_data = ctx.read_bytes(found.paths.current)
    except FileNotFoundError:
        found.pointer_data = None
    scan = scan_movie(ctx, movie_id)
    _check_blobs(ctx, found, scan.blobs)
    _check_manifests(ctx, found)
    _check_pointer(ctx, found)
    _check_manifest_blobs(found)
    _check_logs(ctx, found)
    _check_records(ctx, found)
    _check_temps(found, scan.temps, grace, now)
    _check_creation(ctx, found, movie_id)
    return found


def _check_creation(ctx: StorageContext, found: Inspection, movie_id: str) -> None:
    """A ``query`` stopped while creating the movie: say so, and how to continue (nothing to repair).

    The movie stays resumable as it is — the same command continues it — so ``--repair`` leaves it.
    """
    if ctx.exists(found.paths.creating):
        found.problems.append(
            Problem(
                "creation-interrupted",
                found.relative(found.paths.creating),
                "the 'tutopanda query' creating this movie was interrupted before it recorded everything",
                repairable=False,
                hint=f"run the same query command again (with --movie {movie_id}) to continue, "
                f"or delete it with 'tutopanda movies clean {movie_id}'",
            )
        )
