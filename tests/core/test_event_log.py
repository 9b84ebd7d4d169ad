"""The event logs: whole-line appends (even from many processes), streaming reads, tails, torn lines."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from tutopanda.core.logger import MemoryLogger
from tutopanda.core.store.event_log import artefact_log, encode_event, input_log
from tutopanda.core.store.movie_paths import init_movie, movie_paths
from tutopanda.core.store.storage import StorageConfig, StorageContext

from .factories import EventFactory


def _raw_append(ctx: StorageContext, path: str, data: bytes) -> None:
    """Write bytes behind the log's back, as a crashed writer (or a stray editor) would.

    On object stores that is a whole new segment (nothing can append to an object).
    """
    if ctx.is_object_store:
        number = len(ctx.fs.ls(path)) + 1 if ctx.fs.isdir(path) else 1
        ctx.fs.pipe_file(ctx.join(path, f"{number:010d}.jsonl"), data)
        return
    existing = ctx.read_bytes(path)
    with ctx.fs.open(path, "wb") as stream:
        stream.write(existing + data)


def _log_bytes(ctx: StorageContext, path: str) -> bytes:
    """The bytes of a log as one file (its segments, in order, on object stores)."""
    if ctx.is_object_store:
        return b"".join(ctx.read_bytes(p) for p in sorted(ctx.fs.ls(path, detail=False)))
    return ctx.read_bytes(path)


def _no_torn_lines_on(ctx: StorageContext) -> None:
    if ctx.is_object_store:
        pytest.skip("object-store logs are whole segments: a line can neither be torn nor grow")


def test_appended_events_stream_back_in_order(ctx: StorageContext, movie: str, events: EventFactory) -> None:
    log = artefact_log(ctx, movie)
    written = [events.artefact(f"Audio.Segment[{i}]", seed=i) for i in range(5)]
    log.append(written[0])
    assert log.append_many(written[1:]) == 4
    assert list(log) == written
    lines = _log_bytes(ctx, log.path).splitlines(keepends=True)
    assert lines == [encode_event(event) for event in written]


def test_input_and_artefact_logs_are_separate_files(
    ctx: StorageContext, movie: str, events: EventFactory
) -> None:
    inputs = input_log(ctx, movie)
    inputs.append(events.input())
    assert list(artefact_log(ctx, movie)) == []
    assert [e.id for e in inputs] == ["Input:InquiryPrompt"]
    assert inputs.path == movie_paths(ctx, movie).inputs_log


def test_reading_is_lazy(ctx: StorageContext, movie: str, events: EventFactory) -> None:
    log = artefact_log(ctx, movie)
    log.append_many(events.artefact(f"Image.Frame[{i}]", seed=i) for i in range(3))
    stream = iter(log)
    assert isinstance(stream, types.GeneratorType)
    first = next(stream)
    assert first.artefact_id == "Artifact:Image.Frame[0]"
    stream.close()


def test_tail_follows_a_growing_log(ctx: StorageContext, movie: str, events: EventFactory) -> None:
    log = artefact_log(ctx, movie)
    assert log.tail(0).events == []
    log.append_many([events.artefact("A.B[0]", seed=0), events.artefact("A.B[1]", seed=1)])
    first = log.tail(0)
    assert [e.artefact_id for e in first.events] == ["Artifact:A.B[0]", "Artifact:A.B[1]"]
    assert first.offset == log.size()
    log.append(events.artefact("A.B[2]", seed=2))
    second = log.tail(first.offset)
    assert [e.artefact_id for e in second.events] == ["Artifact:A.B[2]"]
    assert log.tail(second.offset).events == []
    limited = log.tail(0, limit=1)
    assert len(limited.events) == 1
    assert [e.artefact_id for e in log.tail(limited.offset).events] == ["Artifact:A.B[1]", "Artifact:A.B[2]"]


def test_tail_leaves_an_unfinished_line_for_later(
    ctx: StorageContext, movie: str, events: EventFactory
) -> None:
    _no_torn_lines_on(ctx)
    log = artefact_log(ctx, movie)
    log.append(events.artefact(seed=1))
    line = encode_event(events.artefact("Late.One", seed=2))
    _raw_append(ctx, log.path, line[:25])
    result = log.tail(0)
    assert len(result.events) == 1
    _raw_append(ctx, log.path, line[25:])
    assert [e.artefact_id for e in log.tail(result.offset).events] == ["Artifact:Late.One"]


def test_torn_last_line_is_skipped_with_a_warning(
    ctx: StorageContext, movie: str, events: EventFactory, memory_logger: MemoryLogger
) -> None:
    _no_torn_lines_on(ctx)
    log = artefact_log(ctx, movie)
    log.append(events.artefact(seed=1))
    _raw_append(ctx, log.path, encode_event(events.artefact(seed=2))[:40])
    assert len(list(log)) == 1
    warnings = memory_logger.messages("warning")
    assert any("torn last line 2" in message and log.path in message for message in warnings)


def test_append_after_a_torn_line_starts_a_fresh_line(
    ctx: StorageContext, movie: str, events: EventFactory, memory_logger: MemoryLogger
) -> None:
    _no_torn_lines_on(ctx)
    log = artefact_log(ctx, movie)
    log.append(events.artefact("First", seed=1))
    _raw_append(ctx, log.path, b'{"artefactId": "Artifact:Torn", "rev')
    log.append(events.artefact("Second", seed=2))
    assert [e.artefact_id for e in log] == ["Artifact:First", "Artifact:Second"]
    assert any("line 2 of" in message for message in memory_logger.messages("warning"))
    assert ctx.read_bytes(log.path).endswith(encode_event(events.artefact("Second", seed=2))[-30:])


def test_unreadable_middle_lines_are_skipped_naming_file_and_line(
    ctx: StorageContext, movie: str, events: EventFactory, memory_logger: MemoryLogger
) -> None:
    log = artefact_log(ctx, movie)
    log.append(events.artefact("One", seed=1))
    _raw_append(ctx, log.path, b"this is not json\n")
    _raw_append(ctx, log.path, json.dumps({"artefactId": "Artifact:NoStatus"}).encode() + b"\n")
    log.append(events.artefact("Two", seed=2))
    assert [e.artefact_id for e in log] == ["Artifact:One", "Artifact:Two"]
    warnings = memory_logger.messages("warning")
    assert any(f"line 2 of {log.path}" in message for message in warnings)
    assert any(f"line 3 of {log.path}" in message for message in warnings)


def test_a_segment_without_a_final_newline_is_skipped_not_fatal(
    ctx: StorageContext, movie: str, events: EventFactory, memory_logger: MemoryLogger
) -> None:
    if not ctx.is_object_store:
        pytest.skip("segments exist only on object stores")
    log = artefact_log(ctx, movie)
    log.append(events.artefact("First", seed=1))
    _raw_append(ctx, log.path, b'{"artefactId": "Artifact:Torn"')
    log.append(events.artefact("Second", seed=2))
    assert [e.artefact_id for e in log] == ["Artifact:First", "Artifact:Second"]
    assert [e.artefact_id for e in log.tail(0).events] == ["Artifact:First", "Artifact:Second"]
    assert log.tail(0).offset == log.size()
    assert any("does not end with a newline" in m for m in memory_logger.messages("warning"))


def test_racing_appenders_each_get_their_own_segment(
    ctx: StorageContext, movie: str, events: EventFactory
) -> None:
    """Two writers holding the same "next segment" guess: the store lets one create it; none is lost."""
    if not ctx.is_object_store:
        pytest.skip("segments exist only on object stores")
    first, second = artefact_log(ctx, movie), artefact_log(ctx, movie)
    first.append(events.artefact("A", seed=1))
    second.append(events.artefact("B", seed=2))  # second learns segment 2 is next
    first.append(events.artefact("C", seed=3))  # first guesses 2 too: loses the create, takes 3
    assert sorted(e.artefact_id for e in artefact_log(ctx, movie)) == [
        "Artifact:A",
        "Artifact:B",
        "Artifact:C",
    ]
    assert len(ctx.fs.ls(first.path)) == 3


def test_a_missing_log_file_reads_as_empty(ctx: StorageContext, movie: str) -> None:
    log = artefact_log(ctx, movie)
    ctx.remove(log.path)
    assert list(log) == []
    assert log.tail(0).offset == 0
    assert log.size() == 0


_WRITER = textwrap.dedent(
    """
    import sys
    from tutopanda.core.store.blob_ref import BlobRef
    from tutopanda.core.clock import SystemClock
    from tutopanda.core.store.event_log import artefact_log
    from tutopanda.core.store.events import artefact_event
    from tutopanda.core.store.storage import StorageConfig, StorageContext
    root, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ctx = StorageContext.open(StorageConfig(root))
    log = artefact_log(ctx, "demo")
    clock = SystemClock()
    sys.stdin.readline()  # start together
    for i in range(count):
        blob = BlobRef.for_bytes(f"{worker}-{i}".encode(), "text/plain")
        log.append(artefact_event(
            f"Artifact:Worker{worker}.Item[{i}]", status="succeeded", revision="rev-0001",
            inputs_hash="f" * 64, produced_by=f"Producer:Worker{worker}", provider="mock",
            clock=clock, blob=blob, diagnostics={"padding": "x" * (i % 7) * 300},
        ))
    """
)


@pytest.mark.slow  # 8 processes x 500 appends: ~16 s on 2 busy cores
def test_concurrent_appends_from_many_processes_never_interleave(tmp_path: Path) -> None:
    workers, per_worker = 8, 500
    ctx = StorageContext.open(StorageConfig(str(tmp_path)))
    init_movie(ctx, "demo")
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path), str(worker), str(per_worker)],
            stdin=subprocess.PIPE,
        )
        for worker in range(workers)
    ]
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        process.stdin.close()
    assert [process.wait() for process in processes] == [0] * workers

    raw_lines = ctx.read_bytes(artefact_log(ctx, "demo").path).split(b"\n")
    assert raw_lines[-1] == b""
    parsed = [json.loads(line) for line in raw_lines[:-1]]
    assert len(parsed) == workers * per_worker
    for worker in range(workers):
        mine = [p["artefactId"] for p in parsed if p["producedBy"] == f"Producer:Worker{worker}"]
        assert mine == [f"Artifact:Worker{worker}.Item[{i}]" for i in range(per_worker)]
    assert len(list(artefact_log(ctx, "demo"))) == workers * per_worker
