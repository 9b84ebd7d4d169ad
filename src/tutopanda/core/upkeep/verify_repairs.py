"""The repairs of ``tutopanda verify --repair``: fix what an :class:`Inspection` found, losing nothing.

Why a module of its own: repairs write (under the movie's build lock, and a log's repair under the lock
its appenders take), checks only read (:mod:`~tutopanda.core.upkeep.verify_checks`). Nothing is thrown away
silently: bytes cut from or blanked in a log go to ``events/<log>.log.rejected``, damaged files are
renamed ``*.corrupt``, and the pointer is moved only if it still holds what was inspected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

from tutopanda.core.errors import StorageError
from tutopanda.core.store.atomic_file import write_atomic
from tutopanda.core.store.backends.protocol import RandomAccessFile
from tutopanda.core.store.conditional_write import put_if_match, read_versioned
from tutopanda.core.store.event_log import APPEND_LOCK_TIMEOUT
from tutopanda.core.store.event_scan import scan_log
from tutopanda.core.store.events import ArtefactEvent, InputEvent
from tutopanda.core.store.hashing import sha256_hex
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.manifest import Manifest, manifest_bytes
from tutopanda.core.store.manifest_replay import build_manifest
from tutopanda.core.store.manifest_store import POINTER_LOCK_TIMEOUT
from tutopanda.core.store.movie_paths import CURRENT_STUB, MoviePaths
from tutopanda.core.store.pointer import CurrentPointer, pointer_bytes
from tutopanda.core.store.revisions import format_revision, parse_revision
from tutopanda.core.store.storage import StorageContext, storage_error
from tutopanda.core.upkeep.verify_checks import CORRUPT_SUFFIX, REJECTED_SUFFIX, Inspection, LogState

__all__ = ["Repair", "repair_movie"]


@dataclass(frozen=True)
class Repair:
    """One thing ``--repair`` did."""

    kind: str
    path: str
    action: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "action": self.action}


# -- repairs -------------------------------------------------------------------------------------


def _move_aside(ctx: StorageContext, path: str) -> str:
    """Rename ``path`` to ``<path>.corrupt`` (``.corrupt-2``… if taken); return the new path."""
    target = path + CORRUPT_SUFFIX
    number = 1
    while ctx.exists(target):
        number += 1
        target = f"{path}{CORRUPT_SUFFIX}-{number}"
    try:
        ctx.backend.move(path, target)
    except OSError as exc:
        raise storage_error(exc, "moving aside", path) from exc
    return target


def _append_rejected(ctx: StorageContext, path: str, chunks: Iterable[bytes]) -> None:
    """Keep the bytes a repair removes; locally appended without following a link planted there."""
    data = b"".join(chunk if chunk.endswith(b"\n") else chunk + b"\n" for chunk in chunks)
    if not data:
        return
    try:
        ctx.backend.append(
            path, data, fsync=True, serialise=contextlib.nullcontext, on_unterminated=lambda: None
        )
    except OSError as exc:
        raise storage_error(exc, "writing", path) from exc


def _last_line_end(log: RandomAccessFile, size: int) -> int:
    """Offset just past the last newline of the file (0 when it has none)."""
    end = size
    step = 64 * 1024
    while end > 0:
        start = max(0, end - step)
        chunk = log.read_at(start, end - start)
        index = chunk.rfind(b"\n")
        if index >= 0:
            return start + index + 1
        end = start
    return 0


def _blank(raw: bytes) -> bytes:
    """Same length, only spaces and the newline: a line every reader skips silently."""
    return b" " * (len(raw) - 1) + b"\n"


def _repair_log(ctx: StorageContext, movie_id: str, state: LogState) -> tuple[int, int]:
    """Blank unreadable lines and cut the torn tail; returns (lines blanked, bytes cut).

    The log is changed in place under the lock its appenders take (its ``flock`` locally, the
    ``log-<name>`` lock elsewhere), so no append lands between the read and the write.
    """
    rejected_path = state.path + REJECTED_SUFFIX

    def appenders_lock() -> contextlib.AbstractContextManager[object]:
        return movie_lock(ctx, movie_id, f"log-{state.name}", timeout=APPEND_LOCK_TIMEOUT)

    with ctx.backend.update_in_place(state.path, appenders_lock) as log:
        size = log.size()
        keep = _last_line_end(log, size)
        blanks = [
            line
            for line in state.unreadable
            if line.offset + len(line.raw) <= keep
            and log.read_at(line.offset, len(line.raw)) == line.raw
            and line.raw.strip()
        ]
        tail = log.read_at(keep, size - keep) if keep < size else b""
        _append_rejected(ctx, rejected_path, [line.raw for line in blanks] + ([tail] if tail else []))
        for line in blanks:
            log.write_at(line.offset, _blank(line.raw))
        if tail:
            log.truncate(keep)
    return len(blanks), len(tail)


def _repair_logs(ctx: StorageContext, movie_id: str, found: Inspection) -> list[Repair]:
    repairs: list[Repair] = []
    for state in found.logs:
        if state.segmented or (state.torn is None and not state.unreadable):
            continue
        try:
            blanked, cut = _repair_log(ctx, movie_id, state)
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


def _newest_complete(found: Inspection, excluded: str | None) -> str | None:
    candidates = [
        revision for revision in found.manifests if revision != excluded and found.complete(revision)
    ]
    return max(candidates, key=parse_revision, default=None)


def _write_pointer(ctx: StorageContext, found: Inspection, pointer_data: bytes) -> None:
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
        # A compare-and-swap on every backend: object-store saves swap with If-Match, not under our
        # lock, and locally it is the same check this lock already makes true.
        if not put_if_match(ctx, path, pointer_data, current.tag):
            raise changed


def _pointer_to(ctx: StorageContext, found: Inspection, revision: str, data: bytes) -> bytes:
    return pointer_bytes(
        CurrentPointer(
            revision=revision,
            manifest_path=MoviePaths.manifest_relative(revision),
            hash=sha256_hex(data),
            updated_at=ctx.clock.timestamp(),
        )
    )


def _rebuilt_manifest(ctx: StorageContext, found: Inspection) -> Manifest | None:
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


def _repair_pointer(ctx: StorageContext, found: Inspection) -> list[Repair]:
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


def repair_movie(
    ctx: StorageContext, movie_id: str, found: Inspection, *, grace: float, now: float
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


def _reload_events(ctx: StorageContext, found: Inspection) -> None:
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
