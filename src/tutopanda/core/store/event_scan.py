"""Reading an event log line by line with positions, for the tools that check or clean a store.

:class:`~tutopanda.core.store.event_log.EventLog` reads forgivingly: it skips what it cannot read and warns.
``verify`` and ``gc`` need to see exactly what is there instead — which line failed, where it starts,
whether the file ends with a torn line — so they read through :func:`scan_log`, which yields every line
with its number and byte offset, the parsed event or the reason it did not parse.

:func:`blob_hashes_in` finds blob hashes in what could not be parsed (an unreadable line, a damaged
manifest): ``gc`` treats any 64-hex string in them as a possible reference, so damage never makes it
delete a blob something might still name.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from tutopanda.core.store.json_file import validation_summary
from tutopanda.core.store.storage import StorageContext, storage_error

__all__ = ["LogLine", "blob_hashes_in", "input_blob_hashes", "log_segments", "scan_log"]

EventT = TypeVar("EventT", bound=BaseModel)

_SEGMENT = re.compile(r"[0-9]{10}\.jsonl")
_HEX64 = re.compile(rb"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


@dataclass(frozen=True)
class LogLine(Generic[EventT]):
    """One line of a log: 1-based ``number``, its bytes (newline included), and where it is: the
    ``file`` holding it and the byte ``offset`` of its start in that file.

    ``torn`` marks bytes after the last newline of a plain log (a write that was cut short). ``event`` is
    the parsed event, or None with ``error`` saying why (``blank`` lines have neither).
    """

    number: int
    offset: int
    raw: bytes
    torn: bool
    event: EventT | None
    error: str | None
    file: str = ""

    @property
    def blank(self) -> bool:
        return not self.raw.strip()


def log_segments(ctx: StorageContext, path: str) -> list[str] | None:
    """The segment files of a *segmented* log (object stores: a folder of ``0000000001.jsonl``…), in
    order; None when ``path`` is a plain file (or absent)."""
    if not ctx.is_dir(path):
        return None
    return [ctx.join(path, name) for name in ctx.list_names(path) if _SEGMENT.fullmatch(name)]


def scan_log(ctx: StorageContext, path: str, kind: type[EventT]) -> Iterator[LogLine[EventT]]:
    """Every line of the log at ``path`` (nothing if it does not exist), one at a time.

    A segmented log is read segment by segment, numbering lines across them; a segment is written
    whole, so one that does not end with a newline holds an unreadable line, not a torn one.
    """
    segments = log_segments(ctx, path)
    number = 0
    for file in segments if segments is not None else [path]:
        for line in _scan_file(ctx, file, kind, number, segmented=segments is not None):
            number = line.number
            yield line


def _scan_file(
    ctx: StorageContext, path: str, kind: type[EventT], before: int, *, segmented: bool
) -> Iterator[LogLine[EventT]]:
    with contextlib.ExitStack() as stack:
        try:
            stream = stack.enter_context(ctx.open_read(path))
        except FileNotFoundError:
            return
        offset = 0
        try:
            for number, raw in enumerate(stream, before + 1):
                torn = not raw.endswith(b"\n") and not segmented
                event: EventT | None = None
                error: str | None = None
                if torn:
                    error = "torn last line (no trailing newline: a write was interrupted)"
                elif not raw.endswith(b"\n"):
                    error = "a segment that does not end with a newline"
                elif raw.strip():
                    try:
                        event = kind.model_validate_json(raw)
                    except ValidationError as exc:
                        error = validation_summary(exc)
                yield LogLine(number, offset, raw, torn, event, error, path)
                offset += len(raw)
        except OSError as exc:
            raise storage_error(exc, "reading", path) from exc


def blob_hashes_in(data: bytes) -> set[str]:
    """Every 64-hex-digit string in ``data`` (possible blob hashes)."""
    return {match.decode("ascii") for match in _HEX64.findall(data)}


def input_blob_hashes(payload: Any) -> set[str]:
    """Hashes of the ``{"$bytes": hash, "size": n}`` blobs inside an input event's payload."""
    found: set[str] = set()
    stack = [payload]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            tagged = value.get("$bytes")
            if isinstance(tagged, str):
                found.add(tagged)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found
