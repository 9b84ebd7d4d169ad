"""Append-only JSON Lines logs of events (``events/inputs.log`` and ``events/artefacts.log``).

One event is one line: its canonical JSON (:func:`~tutopanda.core.hashing.canonical_json`) plus ``\\n``.
The rules that keep the log readable after anything short of disk corruption:

* **Appends are whole lines.** Locally a batch of lines is written with one ``write`` on an ``O_APPEND``
  descriptor while holding an exclusive ``flock`` on the log file itself (a ``.locks/log-<name>.lock``
  file lock where ``flock`` does not exist, and an in-process lock on other backends), so concurrent
  writers — threads or processes — never interleave.
  If a write fails part-way (disk full) the file is truncated back, so no partial line is left.
* **A torn last line** (a crash mid-write left bytes without a trailing newline) is skipped with a warning
  and never fatal. The next append starts on a fresh line instead of gluing onto the fragment.
* **An unreadable line in the middle** (not JSON, or not a valid event) is skipped with a warning naming
  the file and line number.
* **Reads stream.** :meth:`EventLog.__iter__` yields one event at a time; :meth:`EventLog.tail` returns the
  complete lines after a byte offset plus the new offset, so a reader can follow a growing log cheaply.

Parsing uses pydantic's Rust JSON validator per line (``model_validate_json``): full validation and still
fast enough to replay 100k events in well under a second (see ``bench/event_log.py``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from tutopanda.core.atomic_file import write_atomic, write_fd_fully
from tutopanda.core.errors import UsageError
from tutopanda.core.events import ArtefactEvent, InputEvent
from tutopanda.core.gc_pause import gc_paused
from tutopanda.core.hashing import canonical_json
from tutopanda.core.json_file import validation_summary
from tutopanda.core.locks import movie_lock
from tutopanda.core.movie_layout import ensure_initialised
from tutopanda.core.storage import StorageContext, storage_error

if sys.platform != "win32":  # POSIX: appenders lock the log file itself (one syscall)
    import fcntl

__all__ = ["APPEND_LOCK_TIMEOUT", "EventLog", "TailResult", "artefact_log", "encode_event", "input_log"]

EventT = TypeVar("EventT", bound=BaseModel)

APPEND_LOCK_TIMEOUT = 60.0
"""Seconds an append waits for another writer of the same log before giving up."""


def encode_event(event: BaseModel) -> bytes:
    """The log line of ``event``: canonical JSON of its camelCase form plus a newline."""
    return (canonical_json(event.model_dump(by_alias=True, mode="json")) + "\n").encode("utf-8")


@dataclass(frozen=True)
class TailResult(Generic[EventT]):
    """The events found after an offset, and the offset to pass next time (just past the last whole line)."""

    events: list[EventT]
    offset: int


class EventLog(Generic[EventT]):
    """One JSON Lines event log of one movie; see the module docstring for the guarantees.

    ``fsync=True`` (the default) makes every append durable before it returns: an event records money
    spent, so losing it to a power cut would mean paying again.
    """

    def __init__(
        self, ctx: StorageContext, movie_id: str, kind: type[EventT], name: str, *, fsync: bool = True
    ) -> None:
        paths = ensure_initialised(ctx, movie_id)
        self._ctx = ctx
        self.movie_id = movie_id
        self.kind = kind
        self.name = name
        self.path = ctx.join(paths.events_dir, f"{name}.log")
        self.fsync = fsync

    # -- writing -------------------------------------------------------------------------------

    def append(self, event: EventT) -> None:
        """Append one event as one line."""
        self.append_many([event])

    def append_many(self, events: Iterable[EventT]) -> int:
        """Append events in order as one write (all lines land together); return how many."""
        lines = [encode_event(self._checked(event)) for event in events]
        if not lines:
            return 0
        data = b"".join(lines)
        if self._ctx.is_local and sys.platform != "win32":
            self._append_local(data)
        else:
            lock = movie_lock(self._ctx, self.movie_id, f"log-{self.name}", timeout=APPEND_LOCK_TIMEOUT)
            with lock:
                if self._ctx.is_local:
                    self._append_local(data)
                else:
                    self._append_fsspec(data)
        return len(lines)

    def _checked(self, event: EventT) -> EventT:
        if not isinstance(event, self.kind):
            raise UsageError(
                f"cannot append a {type(event).__name__} to {self.name}.log",
                f"that log holds {self.kind.__name__} events",
            )
        return event

    def _append_local(self, data: bytes) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise storage_error(exc, "opening", self.path) from exc
        try:
            if sys.platform != "win32":
                fcntl.flock(fd, fcntl.LOCK_EX)  # serialises appenders; released by close (or by death)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                self._warn_repair()
                data = b"\n" + data
            try:
                write_fd_fully(fd, data)
                if self.fsync:
                    os.fsync(fd)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)  # we hold the lock: nobody appended after `size`
                raise storage_error(exc, "writing", self.path) from exc
        except OSError as exc:
            raise storage_error(exc, "appending to", self.path) from exc
        finally:
            os.close(fd)

    def _append_fsspec(self, data: bytes) -> None:
        fs = self._ctx.fs
        try:
            size = int(fs.size(self.path)) if fs.exists(self.path) else 0
            if size and bytes(fs.cat_file(self.path, start=size - 1, end=size)) != b"\n":
                self._warn_repair()
                data = b"\n" + data
            try:
                with fs.open(self.path, "ab") as stream:
                    stream.write(data)
            except (NotImplementedError, ValueError):  # backend cannot append: rewrite the whole file
                existing = bytes(fs.cat_file(self.path)) if size else b""
                write_atomic(self._ctx, self.path, existing + data)
        except OSError as exc:
            raise storage_error(exc, "appending to", self.path) from exc

    # -- reading -------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[EventT]:
        """Stream every readable event, in append order (lazily: one line in memory at a time)."""
        stream = self._open()
        if stream is None:
            return
        validate = self.kind.model_validate_json  # hot loop: no per-line allocations beyond the event
        with stream:
            for line_number, raw in enumerate(stream, 1):
                if not raw.endswith(b"\n"):
                    self._warn_torn(line_number)
                    break
                try:
                    event = validate(raw)  # the trailing newline is JSON whitespace
                except ValidationError as exc:
                    self._skip(raw, exc, f"line {line_number}")
                    continue
                yield event

    def read_all(self) -> list[EventT]:
        """Every readable event as a list (the garbage collector is paused while loading; see gc_pause)."""
        with gc_paused():
            return list(self)

    def tail(self, offset: int = 0, *, limit: int | None = None) -> TailResult[EventT]:
        """Events on the whole lines after byte ``offset`` (at most ``limit``) and the offset after them.

        An unfinished last line is left for a later call; pass the returned offset next time.
        """
        if offset < 0:
            raise UsageError(f"negative offset {offset} for {self.path}", "pass an offset returned by tail()")
        stream = self._open()
        if stream is None:
            return TailResult([], 0)
        events: list[EventT] = []
        with stream:
            stream.seek(offset)
            position = offset
            for raw in stream:
                if not raw.endswith(b"\n") or (limit is not None and len(events) >= limit):
                    break
                event = self._parse(raw, f"byte offset {position}")
                position += len(raw)
                if event is not None:
                    events.append(event)
        return TailResult(events, position)

    def size(self) -> int:
        """Current size of the log in bytes (the offset a follower starting "now" would use)."""
        try:
            return self._ctx.size(self.path)
        except FileNotFoundError:
            return 0

    def _open(self) -> IO[bytes] | None:
        try:
            if self._ctx.is_local:
                return open(self.path, "rb")  # noqa: PTH123 - closed by the caller's `with`
            stream: IO[bytes] = self._ctx.fs.open(self.path, "rb")
            return stream
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise storage_error(exc, "reading", self.path) from exc

    def _parse(self, raw: bytes, where: str) -> EventT | None:
        try:
            return self.kind.model_validate_json(raw)
        except ValidationError as exc:
            self._skip(raw, exc, where)
            return None

    def _skip(self, raw: bytes, exc: ValidationError, where: str) -> None:
        if not raw.strip():
            return  # blank lines carry nothing
        message = f"skipping unreadable {where} of {self.path}: {validation_summary(exc)}"
        self._ctx.logger.warning(message, file=self.path, where=where)

    def _warn_repair(self) -> None:
        message = f"{self.path} ends with a torn line; appending on a fresh line"
        self._ctx.logger.warning(message, file=self.path)

    def _warn_torn(self, line_number: int) -> None:
        self._ctx.logger.warning(
            f"skipping torn last line {line_number} of {self.path} "
            "(no trailing newline: a write was interrupted)",
            file=self.path,
            line=line_number,
        )


def input_log(ctx: StorageContext, movie_id: str, *, fsync: bool = True) -> EventLog[InputEvent]:
    """The movie's ``events/inputs.log``."""
    return EventLog(ctx, movie_id, InputEvent, "inputs", fsync=fsync)


def artefact_log(ctx: StorageContext, movie_id: str, *, fsync: bool = True) -> EventLog[ArtefactEvent]:
    """The movie's ``events/artefacts.log``."""
    return EventLog(ctx, movie_id, ArtefactEvent, "artefacts", fsync=fsync)
