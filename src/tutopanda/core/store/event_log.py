"""Append-only JSON Lines logs of events (``events/inputs.log`` and ``events/artefacts.log``).

One event is one line: its canonical JSON (:func:`~tutopanda.core.store.hashing.canonical_json`) plus ``\\n``.
The rules that keep the log readable after anything short of disk corruption:

* **Appends are whole lines.** Locally a batch of lines is written with one ``write`` on an ``O_APPEND``
  descriptor while holding an exclusive ``flock`` on the log file itself (a ``.locks/log-<name>.lock``
  file lock where ``flock`` does not exist, and an in-process lock on other backends), so concurrent
  writers — threads or processes — never interleave.
  If a write fails part-way (disk full) the file is truncated back, so no partial line is left.
  How each kind of storage appends is its backend's business (:mod:`tutopanda.core.store.backends`).
* **A torn last line** (a crash mid-write left bytes without a trailing newline) is skipped with a warning
  and never fatal. The next append starts on a fresh line instead of gluing onto the fragment.
* **An unreadable line in the middle** (not JSON, or not a valid event) is skipped with a warning naming
  the file and line number.
* **Reads stream.** :meth:`EventLog.__iter__` yields one event at a time; :meth:`EventLog.tail` returns the
  complete lines after a byte offset plus the new offset, so a reader can follow a growing log cheaply.

**On object stores** (S3: no appends, no shared locks) a log is a folder of immutable *segments*,
``events/artefacts.log/0000000001.jsonl``, ``…0002.jsonl``: each append writes its batch as the next
numbered segment with a create-only ``PUT`` (``If-None-Match: *``), so of two workers racing for a number
exactly one wins and the other takes the next. Readers list the segments and read them in order as if
they were one file (offsets count bytes across segments), and a segment is never torn: it appears whole
or not at all.

Parsing uses pydantic's Rust JSON validator per line (``model_validate_json``): full validation and still
fast enough to replay 100k events in well under a second (see ``bench/event_log.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from tutopanda.core.errors import StorageError, UsageError
from tutopanda.core.gc_control import gc_paused
from tutopanda.core.store.conditional_write import put_if_absent
from tutopanda.core.store.events import ArtefactEvent, InputEvent
from tutopanda.core.store.hashing import canonical_json
from tutopanda.core.store.json_file import validation_summary
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.movie_paths import MoviePaths, ensure_initialised
from tutopanda.core.store.regular_file import MAX_LOG_LINE_BYTES, bounded_lines
from tutopanda.core.store.storage import StorageContext, storage_error

__all__ = ["APPEND_LOCK_TIMEOUT", "EventLog", "TailResult", "artefact_log", "encode_event", "input_log"]

EventT = TypeVar("EventT", bound=BaseModel)

APPEND_LOCK_TIMEOUT = 60.0
"""Seconds an append waits for another writer of the same log before giving up."""


_SEGMENT_NAME = re.compile(r"[0-9]{10}\.jsonl")


_next_segment: dict[str, int] = {}
"""Per process: the segment number each object-store log will most likely take next (a hint only)."""
_segment_locks: dict[str, threading.Lock] = {}
_segment_locks_guard = threading.Lock()


def _segment_lock(key: str) -> threading.Lock:
    with _segment_locks_guard:
        return _segment_locks.setdefault(key, threading.Lock())


def _segment_name(number: int) -> str:
    return f"{number:010d}.jsonl"


def _segment_number(name: str) -> int:
    return int(name.split(".", 1)[0])


class _Batch:
    """Lines queued for one write; ``done`` once written (and fsynced), ``error`` if that failed.

    Its appenders wait on its own condition (all batches share the group commit's lock), so the end of
    a write wakes the appenders it wrote for plus one of the next batch (to write that one), not every
    thread waiting on the log: with a build's dozen store threads, each write used to wake them all,
    and all but a few went back to sleep after taking the GIL in turn.
    """

    __slots__ = ("done", "error", "parts", "waiting")

    def __init__(self, lock: threading.Lock) -> None:
        self.parts: list[bytes] = []
        self.done = False
        self.error: BaseException | None = None
        self.waiting = threading.Condition(lock)


class _GroupCommit:
    """Group commit for one log in this process: appenders queue, one of them writes for all.

    The fsync dominates an append (milliseconds; the write itself is microseconds), and a build stores
    from many threads at once. So an appender that finds a write in progress queues its lines and waits;
    when that write ends, one waiter takes every line queued meanwhile and writes them as one batch with
    one fsync. Nobody returns before the batch holding its lines is written and fsynced (or failed, which
    every appender of that batch then sees: the backend truncates a failed write back, so a failed batch
    leaves none of its lines). The durability contract is the same as one fsync per append; the number
    of fsyncs falls from one per append to one per batch.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: _Batch | None = None
        self._writing = False

    def commit(self, data: bytes, write: Callable[[bytes], None]) -> None:
        """Return once ``data`` is written by ``write`` (in a batch with others); raise its error."""
        with self._lock:
            if self._open is None:
                self._open = _Batch(self._lock)
            batch = self._open
            batch.parts.append(data)
            while not batch.done:
                if self._writing:
                    try:
                        batch.waiting.wait()
                    except BaseException:  # interrupted: maybe the one woken to write this batch,
                        if not batch.done:  # so hand that on to another of its appenders
                            batch.waiting.notify()
                        raise
                    continue
                current, self._open, self._writing = self._open, None, True
                assert current is not None  # ours is queued and not done, so a batch is open
                self._lock.release()
                try:
                    write(b"".join(current.parts))
                except BaseException as exc:  # every appender of the batch gets it
                    current.error = exc
                finally:
                    self._lock.acquire()
                    current.done, self._writing = True, False
                    current.waiting.notify_all()
                    self._wake_next_writer()
        if batch.error is not None:
            raise batch.error

    def _wake_next_writer(self) -> None:
        """With the lock held, after a write: if lines were queued meanwhile, one of their appenders
        (all waiting) writes them."""
        if self._open is not None:
            self._open.waiting.notify()


_commits: dict[str, _GroupCommit] = {}
_commits_guard = threading.Lock()


def _group_commit(key: str) -> _GroupCommit:
    with _commits_guard:
        commit = _commits.get(key)
        if commit is None:  # (setdefault made, then dropped, a lock and a group per append)
            commit = _commits[key] = _GroupCommit()
        return commit


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
        self,
        ctx: StorageContext,
        movie_id: str,
        kind: type[EventT],
        name: str,
        *,
        fsync: bool = True,
        paths: MoviePaths | None = None,
    ) -> None:
        paths = paths or ensure_initialised(ctx, movie_id)
        self._ctx = ctx
        self.movie_id = movie_id
        self.kind = kind
        self.name = name
        self.path = ctx.join(paths.events_dir, f"{name}.log")
        self.fsync = fsync
        self._segmented = ctx.backend.immutable_objects
        """Whether the log is a folder of create-only segments (stores that cannot append)."""

    # -- writing -------------------------------------------------------------------------------

    def append(self, event: EventT) -> None:
        """Append one event as one line."""
        self.append_many([event])

    def append_many(self, events: Iterable[EventT]) -> int:
        """Append events in order as one write (all lines land together); return how many.

        Returns once they are durable (with ``fsync``); appends made at the same time by other threads
        share the write and its fsync (see :class:`_GroupCommit`).
        """
        lines = [encode_event(self._checked(event)) for event in events]
        if not lines:
            return 0
        data = b"".join(lines)
        key = f"{self._ctx.key}|{self.path}|{self.fsync}"
        _group_commit(key).commit(data, self._append_segment if self._segmented else self._append_file)
        return len(lines)

    def _append_file(self, data: bytes) -> None:
        """One batch of lines as one append (one fsync when ``fsync``)."""
        try:
            self._ctx.backend.append(
                self.path,
                data,
                fsync=self.fsync,
                serialise=self._append_lock,
                on_unterminated=self._warn_repair,
            )
        except OSError as exc:
            raise storage_error(exc, "appending to", self.path) from exc

    def _append_lock(self) -> contextlib.AbstractContextManager[object]:
        """The lock appenders share where the backend has none of its own (no ``flock``)."""
        return movie_lock(self._ctx, self.movie_id, f"log-{self.name}", timeout=APPEND_LOCK_TIMEOUT)

    def _checked(self, event: EventT) -> EventT:
        if not isinstance(event, self.kind):
            raise UsageError(
                f"cannot append a {type(event).__name__} to {self.name}.log",
                f"that log holds {self.kind.__name__} events",
            )
        return event

    def _append_segment(self, data: bytes) -> None:
        """Object stores: the batch becomes the next numbered segment, created only if absent.

        Two writers racing for the same number: the store lets exactly one create it; the loser lists
        again and takes the next number. Segments are never rewritten, so readers need no lock.
        """
        key = f"{self._ctx.key}|{self.path}"
        deadline = time.monotonic() + APPEND_LOCK_TIMEOUT
        with _segment_lock(key):  # writers in one process queue up instead of racing each other
            number = self._checked_hint(key)
            attempt = 0
            while time.monotonic() < deadline:
                if number is None:
                    segments = self._segments()
                    number = _segment_number(segments[-1][0]) + 1 if segments else 1
                if put_if_absent(self._ctx, self._ctx.join(self.path, _segment_name(number)), data):
                    _next_segment[key] = number + 1
                    return
                number = None  # another process took it: list again, after a jittered pause
                attempt += 1
                time.sleep(random.uniform(0, min(0.002 * 2**attempt, 0.25)))
        raise StorageError(
            f"could not append to {self.path}: other writers kept taking the next segment for "
            f"{APPEND_LOCK_TIMEOUT:.0f} s",
            "too many processes are appending to this log at once; retry",
        )

    def _checked_hint(self, key: str) -> int | None:
        """This process's guess at the next segment number, if the segment before it still exists
        (a movie deleted and made again starts from 1: an old, higher guess would sort new events
        before older ones)."""
        number = _next_segment.get(key)
        if number is None or number == 1:
            return number
        if self._ctx.exists(self._ctx.join(self.path, _segment_name(number - 1))):
            return number
        _next_segment.pop(key, None)
        return None

    def _segments(self) -> list[tuple[str, int]]:
        """The segment files of an object-store log, in order, with their sizes."""
        try:
            entries = self._ctx.backend.list_sizes(self.path)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise storage_error(exc, "listing", self.path) from exc
        return sorted((name, size) for name, size in entries if _SEGMENT_NAME.fullmatch(name))

    def fingerprint(self) -> str:
        """A string that changes whenever the log's content changes (for caches keyed on the log)."""
        if self._segmented:
            return ";".join(f"{name}:{size}" for name, size in self._segments())
        digest = hashlib.sha256()
        try:
            with self._ctx.open_read(self.path) as stream:
                for chunk in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(chunk)
        except FileNotFoundError:
            return ""
        return digest.hexdigest()

    # -- reading -------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[EventT]:
        """Stream every readable event, in append order (lazily: one line in memory at a time)."""
        validate = self.kind.model_validate_json  # hot loop: no per-line allocations beyond the event
        with self._lines(0) as lines:
            for line_number, raw in enumerate(lines, 1):
                if not raw.endswith(b"\n"):
                    if self._segmented:  # a whole segment without a final newline: foreign
                        self._skip_fragment(raw, f"line {line_number}")
                        continue
                    self._warn_torn(line_number)
                    break
                try:
                    event = validate(raw)  # the trailing newline is JSON whitespace
                except ValidationError as exc:
                    self._skip(raw, exc, f"line {line_number}")
                    continue
                yield event

    def read_all(self) -> list[EventT]:
        """Every readable event as a list (the garbage collector is paused while loading; see gc_control)."""
        with gc_paused():
            return list(self)

    def tail(self, offset: int = 0, *, limit: int | None = None) -> TailResult[EventT]:
        """Events on the whole lines after byte ``offset`` (at most ``limit``) and the offset after them.

        An unfinished last line is left for a later call; pass the returned offset next time.
        """
        if offset < 0:
            raise UsageError(f"negative offset {offset} for {self.path}", "pass an offset returned by tail()")
        events: list[EventT] = []
        position = offset
        with self._lines(offset) as lines:
            for raw in lines:
                if limit is not None and len(events) >= limit:
                    break
                if not raw.endswith(b"\n"):
                    if not self._segmented:
                        break  # a line still being written: leave it for a later call
                    self._skip_fragment(raw, f"byte offset {position}")  # segments never grow
                    position += len(raw)
                    continue
                event = self._parse(raw, f"byte offset {position}")
                position += len(raw)
                if event is not None:
                    events.append(event)
        return TailResult(events, position)

    def size(self) -> int:
        """Current size of the log in bytes (the offset a follower starting "now" would use)."""
        if self._segmented:
            return sum(size for _, size in self._segments())
        try:
            return self._ctx.size(self.path)
        except FileNotFoundError:
            return 0

    @contextlib.contextmanager
    def _lines(self, offset: int) -> Iterator[Iterator[bytes]]:
        """The log's lines from byte ``offset`` (of the whole log: segments count as one file)."""
        if self._segmented:
            yield self._segment_lines(offset)
            return
        try:
            stream = self._ctx.backend.open_read(self.path)  # locally: a planted FIFO must not hang us
        except FileNotFoundError:
            yield iter(())
            return
        except OSError as exc:
            raise storage_error(exc, "reading", self.path) from exc
        with stream:
            stream.seek(offset)
            yield bounded_lines(stream, MAX_LOG_LINE_BYTES, self._warn_overlong)

    def _segment_lines(self, offset: int) -> Iterator[bytes]:
        start = 0
        for name, size in self._segments():
            if start + size > offset:
                data = self._ctx.read_bytes(self._ctx.join(self.path, name))
                segment = io.BytesIO(data[max(offset - start, 0) :])
                yield from bounded_lines(segment, MAX_LOG_LINE_BYTES, self._warn_overlong)
            start += size

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

    def _skip_fragment(self, raw: bytes, where: str) -> None:
        message = f"skipping unreadable {where} of {self.path}: a segment that does not end with a newline"
        self._ctx.logger.warning(message, file=self.path, where=where, size=len(raw))

    def _warn_overlong(self, size: int) -> None:
        message = (
            f"skipping a line of {size:,} bytes in {self.path}: longer than the "
            f"{MAX_LOG_LINE_BYTES:,} bytes an event may have"
        )
        self._ctx.logger.warning(message, file=self.path, size=size)

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


def input_log(
    ctx: StorageContext, movie_id: str, *, fsync: bool = True, paths: MoviePaths | None = None
) -> EventLog[InputEvent]:
    """The movie's ``events/inputs.log``."""
    return EventLog(ctx, movie_id, InputEvent, "inputs", fsync=fsync, paths=paths)


def artefact_log(
    ctx: StorageContext, movie_id: str, *, fsync: bool = True, paths: MoviePaths | None = None
) -> EventLog[ArtefactEvent]:
    """The movie's ``events/artefacts.log``."""
    return EventLog(ctx, movie_id, ArtefactEvent, "artefacts", fsync=fsync, paths=paths)
