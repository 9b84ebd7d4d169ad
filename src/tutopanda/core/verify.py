"""Checking a movie's store, and repairing what can be repaired (``tutopanda verify [--repair]``).

:func:`verify_movie` reads everything and reports :class:`Problem` s, each with a stable ``kind``, the
path (relative to the movie folder), a message, a hint, a severity and whether ``--repair`` can fix it:

* **blobs** — every blob file is re-hashed (streamed): its bytes must hash to its name
  (``blob-corrupt``); every blob a manifest or an input event names must exist (``blob-missing``: an
  error for the current manifest and for input values, a warning when only older revisions name it —
  ``gc --keep-revisions`` removes those on purpose);
* **manifests** — every ``manifests/rev-NNNN.json`` parses and holds its own revision
  (``manifest-corrupt``);
* **the pointer** — ``current.json`` exists (``pointer-missing``), parses (``pointer-corrupt``) and names a
  manifest that exists (``pointer-target-missing``), whose bytes hash to the pointer's ``hash``
  (``pointer-hash-mismatch``) and which parses (``pointer-target-corrupt``);
* **event logs** — every line parses: a torn last line (``event-torn-tail``) and unreadable lines with
  their numbers (``event-unreadable``);
* **plan and run records** — ``runs/*-plan.json`` and ``*-run.json`` parse (``record-corrupt``) and match
  their file name and the manifests (``record-mismatch``, a warning);
* **temp files** left by crashed writes, older than the grace period (``temp-file``, a warning).

With ``repair=True`` (under the movie's build lock, so never beside a running build):

* a torn tail is cut off at the last newline and unreadable lines are blanked in place (same length,
  so appenders are undisturbed), both under the same ``flock`` the appender takes; the bytes removed are
  kept in ``events/<log>.log.rejected``;
* a corrupt blob file is removed (its bytes are worthless: they do not match their name); the next build
  produces the artefact again (the planner treats a missing blob as a missing output);
* damaged manifests and plan/run records are moved aside as ``<name>.corrupt`` (never deleted);
* a missing, damaged or mismatched pointer is re-pointed at the newest *complete* manifest (it parses and
  holds its own revision; a manifest whose bytes no longer match the pointer's hash is passed over); when
  none remains, a manifest is rebuilt from the event logs (each input's latest value, each artefact's
  latest success whose blob is whole). A blob the chosen manifest names but which is gone stays reported:
  the next build produces it again;
* stale temp files are removed.

What cannot be repaired is said: a missing blob (the next build makes it again — or, for an input
value's bytes, the user must give the value again) and mismatched records.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

from tutopanda.core.atomic_file import write_atomic
from tutopanda.core.blob_ref import BlobRef
from tutopanda.core.blob_store import hash_file
from tutopanda.core.conditional_write import put_if_match, read_versioned
from tutopanda.core.errors import CorruptDataError, LockHeldError, StorageError, TutopandaError, UsageError
from tutopanda.core.event_log import APPEND_LOCK_TIMEOUT
from tutopanda.core.event_scan import LogLine, input_blob_hashes, log_segments, scan_log
from tutopanda.core.events import ArtefactEvent, InputEvent
from tutopanda.core.hashing import hash_stream, sha256_hex
from tutopanda.core.locks import MovieLock, movie_lock
from tutopanda.core.manifest import Manifest, manifest_bytes, parse_manifest
from tutopanda.core.manifest_builder import build_manifest
from tutopanda.core.manifest_store import POINTER_LOCK_TIMEOUT
from tutopanda.core.movie_layout import CURRENT_STUB, MoviePaths, movie_paths
from tutopanda.core.pointer import CurrentPointer, parse_pointer, pointer_bytes
from tutopanda.core.revisions import format_revision, is_revision, parse_revision
from tutopanda.core.storage import StorageContext, storage_error, validate_movie_id
from tutopanda.core.store_scan import GRACE_SECONDS, StoreFile, scan_movie

if sys.platform != "win32":
    import fcntl

__all__ = [
    "GRACE_SECONDS",
    "Checked",
    "Problem",
    "Repair",
    "VerifyReport",
    "movie_ids",
    "verify_all",
    "verify_movie",
]

Severity = Literal["error", "warning"]

_LOGS = (("inputs", InputEvent), ("artefacts", ArtefactEvent))
_REJECTED_SUFFIX = ".rejected"
_CORRUPT_SUFFIX = ".corrupt"
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


@dataclass(frozen=True)
class Repair:
    """One thing ``--repair`` did."""

    kind: str
    path: str
    action: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "action": self.action}


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


@dataclass
class VerifyReport:
    """The result of verifying one movie.

    ``problems`` are what is wrong *now* (after repairing, when ``repaired``); ``found`` what the first
    check found; ``repairs`` what was done. The movie is :attr:`ok` when no error remains (warnings —
    stale temp files, history whose blobs gc removed — do not count).
    """

    movie_id: str
    problems: list[Problem]
    checked: Checked
    found: list[Problem] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    repaired: bool = False

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "movie": self.movie_id,
            "ok": self.ok,
            "repaired": self.repaired,
            "checked": self.checked.to_dict(),
            "problems": [problem.to_dict() for problem in self.problems],
            "found": [problem.to_dict() for problem in self.found],
            "repairs": [repair.to_dict() for repair in self.repairs],
        }


# -- inspection ----------------------------------------------------------------------------------


@dataclass
class _ManifestFile:
    revision: str
    path: str
    data: bytes
    manifest: Manifest | None
    error: str | None


@dataclass
class _LogState:
    name: str
    path: str
    segmented: bool = False
    torn: LogLine[Any] | None = None
    unreadable: list[LogLine[Any]] = field(default_factory=list)


@dataclass
class _Inspection:
    """Everything one check pass learnt, so that repairs need not read it all again."""

    paths: MoviePaths
    whole: set[str] = field(default_factory=set)
    corrupt_blobs: list[StoreFile] = field(default_factory=list)
    manifests: dict[str, _ManifestFile] = field(default_factory=dict)
    pointer: CurrentPointer | None = None
    pointer_problem: str | None = None
    pointer_data: bytes | None = None  # current.json as read, before the manifests were listed
    logs: list[_LogState] = field(default_factory=list)
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
    if ctx.is_local:
        return hash_file(blob.path)
    with ctx.open_read(blob.path) as stream:
        return hash_stream(cast(BinaryIO, stream))


def _check_blobs(ctx: StorageContext, found: _Inspection, blobs: list[StoreFile]) -> None:
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


def _check_manifests(ctx: StorageContext, found: _Inspection) -> None:
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
        found.manifests[base] = _ManifestFile(base, path, data, manifest, error)
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


def _check_pointer(ctx: StorageContext, found: _Inspection) -> None:
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


def _check_manifest_blobs(found: _Inspection) -> None:
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


def _check_logs(ctx: StorageContext, found: _Inspection) -> None:
    events = 0
    for name, kind in _LOGS:
        path = ctx.join(found.paths.events_dir, f"{name}.log")
        state = _LogState(name, path, segmented=log_segments(ctx, path) is not None)
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
                    hint=f"--repair cuts it off (keeping the bytes in {relative}{_REJECTED_SUFFIX})",
                )
            )
        for line in state.unreadable:
            if state.segmented:  # segments are immutable: nothing to blank, and readers skip it anyway
                where, repairable = found.relative(line.file), False
                hint = "segments are never rewritten; readers skip the line (inspect it by hand)"
            else:
                where, repairable = relative, True
                hint = f"--repair blanks it (keeping the bytes in {relative}{_REJECTED_SUFFIX})"
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


def _check_records(ctx: StorageContext, found: _Inspection) -> None:
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


def _record_mismatches(found: _Inspection, revision: str, suffix: str, record: dict[str, Any]) -> list[str]:
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


def _check_temps(found: _Inspection, temps: list[StoreFile], grace: float, now: float) -> None:
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


def _inspect(ctx: StorageContext, movie_id: str, *, grace: float, now: float) -> _Inspection:
    found = _Inspection(movie_paths(ctx, movie_id))
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


def _check_creation(ctx: StorageContext, found: _Inspection, movie_id: str) -> None:
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


# -- repairs -------------------------------------------------------------------------------------


def _move_aside(ctx: StorageContext, path: str) -> str:
    """Rename ``path`` to ``<path>.corrupt`` (``.corrupt-2``… if taken); return the new path."""
    target = path + _CORRUPT_SUFFIX
    number = 1
    while ctx.exists(target):
        number += 1
        target = f"{path}{_CORRUPT_SUFFIX}-{number}"
    try:
        if ctx.is_local:
            Path(path).rename(target)
        else:
            ctx.fs.mv(path, target)
    except OSError as exc:
        raise storage_error(exc, "moving aside", path) from exc
    return target


def _append_rejected(ctx: StorageContext, path: str, chunks: Iterable[bytes]) -> None:
    data = b"".join(chunk if chunk.endswith(b"\n") else chunk + b"\n" for chunk in chunks)
    if not data:
        return
    try:
        if ctx.is_local:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
        else:
            try:
                existing = ctx.read_bytes(path)
            except FileNotFoundError:
                existing = b""
            write_atomic(ctx, path, existing + data)
    except OSError as exc:
        raise storage_error(exc, "writing", path) from exc


def _last_line_end(fd: int, size: int) -> int:
    """Offset just past the last newline of the file (0 when it has none)."""
    end = size
    step = 64 * 1024
    while end > 0:
        start = max(0, end - step)
        chunk = os.pread(fd, end - start, start)
        index = chunk.rfind(b"\n")
        if index >= 0:
            return start + index + 1
        end = start
    return 0


def _blank(raw: bytes) -> bytes:
    """Same length, only spaces and the newline: a line every reader skips silently."""
    return b" " * (len(raw) - 1) + b"\n"


@contextlib.contextmanager
def _locked_fd(ctx: StorageContext, movie_id: str, state: _LogState) -> Iterator[int]:
    """The log opened read-write under the appenders' lock (its ``flock``, else the log lock)."""
    fallback: MovieLock | None = None
    if sys.platform == "win32":
        fallback = movie_lock(ctx, movie_id, f"log-{state.name}", timeout=APPEND_LOCK_TIMEOUT).acquire()
    try:
        fd = os.open(state.path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        if fallback is not None:
            fallback.release()
        raise
    try:
        if sys.platform != "win32":
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)
        if fallback is not None:
            fallback.release()


def _repair_log_local(ctx: StorageContext, movie_id: str, state: _LogState) -> tuple[int, int]:
    """Blank unreadable lines and cut the torn tail; returns (lines blanked, bytes cut)."""
    rejected_path = state.path + _REJECTED_SUFFIX
    with _locked_fd(ctx, movie_id, state) as fd:
        size = os.fstat(fd).st_size
        keep = _last_line_end(fd, size)
        blanks = [
            line
            for line in state.unreadable
            if line.offset + len(line.raw) <= keep
            and os.pread(fd, len(line.raw), line.offset) == line.raw
            and line.raw.strip()
        ]
        tail = os.pread(fd, size - keep, keep) if keep < size else b""
        _append_rejected(ctx, rejected_path, [line.raw for line in blanks] + ([tail] if tail else []))
        for line in blanks:
            os.pwrite(fd, _blank(line.raw), line.offset)
        if tail:
            os.ftruncate(fd, keep)
        os.fsync(fd)
    return len(blanks), len(tail)


def _repair_log_fsspec(ctx: StorageContext, movie_id: str, state: _LogState) -> tuple[int, int]:
    rejected_path = state.path + _REJECTED_SUFFIX
    with movie_lock(ctx, movie_id, f"log-{state.name}", timeout=APPEND_LOCK_TIMEOUT):
        data = bytearray(ctx.read_bytes(state.path))
        keep = data.rfind(b"\n") + 1
        blanks = [
            line
            for line in state.unreadable
            if line.offset + len(line.raw) <= keep
            and bytes(data[line.offset : line.offset + len(line.raw)]) == line.raw
            and line.raw.strip()
        ]
        tail = bytes(data[keep:])
        _append_rejected(ctx, rejected_path, [line.raw for line in blanks] + ([tail] if tail else []))
        for line in blanks:
            data[line.offset : line.offset + len(line.raw)] = _blank(line.raw)
        if blanks or tail:
            write_atomic(ctx, state.path, bytes(data[:keep]))
    return len(blanks), len(tail)


def _repair_logs(ctx: StorageContext, movie_id: str, found: _Inspection) -> list[Repair]:
    repairs: list[Repair] = []
    for state in found.logs:
        if state.segmented or (state.torn is None and not state.unreadable):
            continue
        try:
            if ctx.is_local:
                blanked, cut = _repair_log_local(ctx, movie_id, state)
            else:
                blanked, cut = _repair_log_fsspec(ctx, movie_id, state)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise storage_error(exc, "repairing", state.path) from exc
        relative = found.relative(state.path)
        if cut:
            repairs.append(
                Repair("event-torn-tail", relative, f"cut the torn last line ({cut} bytes) off {relative}")
            )
        if blanked:
            repairs.append(
                Repair("event-unreadable", relative, f"blanked {blanked} unreadable line(s) of {relative}")
            )
    return repairs


def _newest_complete(found: _Inspection, excluded: str | None) -> str | None:
    candidates = [
        revision for revision in found.manifests if revision != excluded and found.complete(revision)
    ]
    return max(candidates, key=parse_revision, default=None)


def _write_pointer(ctx: StorageContext, found: _Inspection, pointer_data: bytes) -> None:
    """Replace current.json only if it still holds what was inspected (a commit may have moved it)."""
    path = found.paths.current
    changed = StorageError(
        "current.json changed while verify was repairing it (a build committed meanwhile)",
        "run 'tutopanda verify --repair' again: it checks the new state",
    )
    with movie_lock(ctx, found.paths.movie_id, "pointer", timeout=POINTER_LOCK_TIMEOUT):
        current = read_versioned(ctx, path)
        if current.data != found.pointer_data:
            raise changed
        if ctx.is_object_store:  # saves there swap with If-Match, not under our lock: do the same
            if not put_if_match(ctx, path, pointer_data, current.tag):
                raise changed
        else:
            write_atomic(ctx, path, pointer_data)


def _pointer_to(ctx: StorageContext, found: _Inspection, revision: str, data: bytes) -> bytes:
    return pointer_bytes(
        CurrentPointer(
            revision=revision,
            manifest_path=MoviePaths.manifest_relative(revision),
            hash=sha256_hex(data),
            updated_at=ctx.clock.timestamp(),
        )
    )


def _rebuilt_manifest(ctx: StorageContext, found: _Inspection) -> Manifest | None:
    """A manifest folded from the logs (artefacts only with a whole blob); None if there is nothing."""
    artefacts = [
        event
        for event in found.artefact_events
        if event.status != "succeeded" or (event.blob is not None and event.blob.hash in found.whole)
    ]
    if not found.input_events and not any(event.status == "succeeded" for event in artefacts):
        return None
    revision = format_revision(found.highest_revision + 1)
    return build_manifest(
        found.input_events, artefacts, revision=revision, base_revision=None, clock=ctx.clock
    )


def _repair_pointer(ctx: StorageContext, found: _Inspection) -> list[Repair]:
    if found.pointer_problem is None:
        return []
    excluded = found.pointer.revision if found.pointer is not None else None
    target = _newest_complete(found, excluded)
    if target is not None:
        data = found.manifests[target].data
        _write_pointer(ctx, found, _pointer_to(ctx, found, target, data))
        return [Repair(found.pointer_problem, "current.json", f"re-pointed current.json at {target}")]
    manifest = _rebuilt_manifest(ctx, found)
    if manifest is None:
        _write_pointer(ctx, found, CURRENT_STUB)
        return [
            Repair(
                found.pointer_problem,
                "current.json",
                "no complete manifest and no events: reset current.json to 'no manifest yet'",
            )
        ]
    data = manifest_bytes(manifest)
    ctx.makedirs(found.paths.manifests_dir)
    write_atomic(ctx, found.paths.manifest(manifest.revision), data)
    _write_pointer(ctx, found, _pointer_to(ctx, found, manifest.revision, data))
    return [
        Repair(
            found.pointer_problem,
            "current.json",
            f"no complete manifest left: rebuilt {manifest.revision} from the event logs "
            f"({len(manifest.inputs)} inputs, {len(manifest.artefacts)} artefacts) and made it current",
        )
    ]


def _repair(
    ctx: StorageContext, movie_id: str, found: _Inspection, *, grace: float, now: float
) -> list[Repair]:
    repairs: list[Repair] = []
    for temp in found.stale_temps:
        if temp.age(now) >= grace:
            ctx.remove(temp.path)
            repairs.append(Repair("temp-file", temp.relative, f"removed leftover temp file {temp.relative}"))
    repairs += _repair_logs(ctx, movie_id, found)
    for blob in found.corrupt_blobs:
        ctx.remove(blob.path)
        repairs.append(
            Repair(
                "blob-corrupt",
                blob.relative,
                f"removed corrupt blob {blob.relative} (the next build produces it again)",
            )
        )
    for revision, entry in sorted(found.manifests.items()):
        if entry.manifest is None:
            moved = _move_aside(ctx, entry.path)
            repairs.append(
                Repair(
                    "manifest-corrupt", found.relative(entry.path), f"moved aside to {found.relative(moved)}"
                )
            )
            del found.manifests[revision]
    for path in found.corrupt_records:
        moved = _move_aside(ctx, path)
        repairs.append(
            Repair("record-corrupt", found.relative(path), f"moved aside to {found.relative(moved)}")
        )
    if found.logs and any(r.kind in ("event-torn-tail", "event-unreadable") for r in repairs):
        _reload_events(ctx, found)
    repairs += _repair_pointer(ctx, found)
    return repairs


def _reload_events(ctx: StorageContext, found: _Inspection) -> None:
    found.input_events = [
        line.event
        for line in scan_log(ctx, ctx.join(found.paths.events_dir, "inputs.log"), InputEvent)
        if line.event is not None
    ]
    found.artefact_events = [
        line.event
        for line in scan_log(ctx, ctx.join(found.paths.events_dir, "artefacts.log"), ArtefactEvent)
        if line.event is not None
    ]


# -- entry points --------------------------------------------------------------------------------


def _require_movie(ctx: StorageContext, movie_id: str) -> None:
    paths = movie_paths(ctx, movie_id)
    if not any(ctx.exists(path) for path in (paths.current, paths.manifests_dir, paths.events_dir)):
        raise UsageError(
            f"there is no movie '{movie_id}' in {ctx.builds_dir()}",
            "run 'tutopanda movies list' to see the movies in this storage root (or check --root)",
        )


def verify_movie(
    ctx: StorageContext,
    movie_id: str,
    *,
    repair: bool = False,
    grace: float = GRACE_SECONDS,
    now: float | None = None,
    command: str = "tutopanda verify --repair",
) -> VerifyReport:
    """Check ``movie_id`` (and with ``repair``, fix what can be fixed, then check again).

    Repairing takes the movie's build lock without waiting: while a build runs it raises
    :class:`LockHeldError` naming the holder and changes nothing.
    """
    _require_movie(ctx, movie_id)
    moment = time.time() if now is None else now
    if not repair:
        found = _inspect(ctx, movie_id, grace=grace, now=moment)
        return VerifyReport(movie_id, found.problems, found.checked, found=found.problems)
    with movie_lock(ctx, movie_id, "build", timeout=0.0, command=command):
        found = _inspect(ctx, movie_id, grace=grace, now=moment)
        if not any(problem.repairable for problem in found.problems):
            return VerifyReport(movie_id, found.problems, found.checked, found.problems, repaired=True)
        repairs = _repair(ctx, movie_id, found, grace=grace, now=moment)
        after = _inspect(ctx, movie_id, grace=grace, now=moment)
    return VerifyReport(movie_id, after.problems, after.checked, found.problems, repairs, repaired=True)


def movie_ids(ctx: StorageContext) -> list[str]:
    """Every folder under the builds directory that looks like a movie (even one missing current.json)."""
    ids: list[str] = []
    for name in ctx.list_names(ctx.builds_dir()):
        try:
            validate_movie_id(name)
        except UsageError:
            continue
        paths = movie_paths(ctx, name)
        if any(ctx.exists(path) for path in (paths.current, paths.manifests_dir, paths.events_dir)):
            ids.append(name)
    return ids


def verify_all(
    ctx: StorageContext, *, repair: bool = False, grace: float = GRACE_SECONDS, now: float | None = None
) -> list[VerifyReport]:
    """:func:`verify_movie` for every movie; a movie that cannot be checked gets a one-problem report."""
    reports: list[VerifyReport] = []
    for movie_id in movie_ids(ctx):
        try:
            reports.append(verify_movie(ctx, movie_id, repair=repair, grace=grace, now=now))
        except LockHeldError as exc:
            problem = Problem("build-running", "", exc.message, repairable=False, hint=exc.hint)
            reports.append(VerifyReport(movie_id, [problem], Checked(), found=[problem]))
        except TutopandaError as exc:
            problem = Problem("unreadable", "", exc.message, repairable=False, hint=exc.hint)
            reports.append(VerifyReport(movie_id, [problem], Checked(), found=[problem]))
    return reports
