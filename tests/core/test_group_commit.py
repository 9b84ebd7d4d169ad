"""The event log's group commit: appenders queued behind a write go out together, once, and each
returns only after its own lines were written; a failed write fails exactly the appenders it held."""

from __future__ import annotations

import random
import threading
import time

import pytest

from tutopanda.core.store.event_log import _GroupCommit

DEADLINE = 60.0  # generous: the machine may be loaded


class _SlowWriter:
    """``write`` of a log whose first write blocks until released (so others queue meanwhile)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.first_started = threading.Event()
        self.release = threading.Event()
        self.fail_on: bytes | None = None

    def __call__(self, data: bytes) -> None:
        if not self.writes:
            self.writes.append(data)
            self.first_started.set()
            assert self.release.wait(DEADLINE)
            return
        self.writes.append(data)
        if self.fail_on is not None and self.fail_on in data:
            raise OSError(28, "No space left on device")


def _commit_in_thread(
    group: _GroupCommit, data: bytes, write: _SlowWriter, outcome: dict[bytes, object]
) -> threading.Thread:
    def run() -> None:
        try:
            group.commit(data, write)
            outcome[data] = "ok"
        except OSError as exc:
            outcome[data] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_for_queued(group: _GroupCommit, count: int) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        with group._lock:
            if group._open is not None and len(group._open.parts) == count:
                return
        time.sleep(0.001)
    raise AssertionError(f"{count} appenders never queued")


def test_appenders_queued_behind_a_write_go_out_in_one_write() -> None:
    group, write = _GroupCommit(), _SlowWriter()
    outcome: dict[bytes, object] = {}
    first = _commit_in_thread(group, b"a\n", write, outcome)
    assert write.first_started.wait(DEADLINE)
    queued = [_commit_in_thread(group, line, write, outcome) for line in (b"b\n", b"c\n", b"d\n")]
    _wait_for_queued(group, 3)
    assert outcome == {}  # nobody returns before its lines are written
    write.release.set()
    for thread in (first, *queued):
        thread.join(DEADLINE)
        assert not thread.is_alive()
    assert len(write.writes) == 2
    assert write.writes[0] == b"a\n"
    assert sorted(write.writes[1].splitlines(keepends=True)) == [b"b\n", b"c\n", b"d\n"]
    assert outcome == {b"a\n": "ok", b"b\n": "ok", b"c\n": "ok", b"d\n": "ok"}


def test_a_failed_write_fails_every_appender_it_held_and_no_other() -> None:
    group, write = _GroupCommit(), _SlowWriter()
    outcome: dict[bytes, object] = {}
    write.fail_on = b"c\n"
    first = _commit_in_thread(group, b"a\n", write, outcome)
    assert write.first_started.wait(DEADLINE)
    queued = [_commit_in_thread(group, line, write, outcome) for line in (b"b\n", b"c\n")]
    _wait_for_queued(group, 2)
    write.release.set()
    for thread in (first, *queued):
        thread.join(DEADLINE)
    assert outcome[b"a\n"] == "ok"
    assert isinstance(outcome[b"b\n"], OSError) and isinstance(outcome[b"c\n"], OSError)
    group.commit(b"e\n", write)  # the log goes on after a failed batch
    assert write.writes[-1] == b"e\n"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_many_threads_each_line_written_exactly_once_and_nobody_left_waiting(seed: int) -> None:
    """No lost wake-up: a write's end wakes its own appenders and one of the next batch, and that
    one must write for the rest even when new appenders arrive in between."""
    group = _GroupCommit()
    written: list[bytes] = []
    chance = random.Random(seed)
    pauses = [chance.random() / 2000 for _ in range(2000)]

    def write(data: bytes) -> None:
        time.sleep(pauses[len(written) % len(pauses)])  # an fsync's latency, varied
        written.append(data)

    def appender(worker: int) -> None:
        for index in range(40):
            group.commit(f"{worker}-{index}\n".encode(), write)

    threads = [threading.Thread(target=appender, args=(worker,)) for worker in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE)
        assert not thread.is_alive(), "an appender was never woken"
    lines = [line for data in written for line in data.splitlines()]
    assert sorted(lines) == sorted(f"{w}-{i}".encode() for w in range(24) for i in range(40))
    assert len(written) < len(lines)  # batched
