"""The durable executor's throughput settings (``bench/scale.py`` measures them; docs/scale-out.md)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from tutopanda.workflow.dbos_executor import (
    BUILD_QUEUE,
    JobSlots,
    consumer_ranks,
    queue_limits,
    queue_name,
    write_ahead_log,
)


def test_the_sqlite_system_database_is_put_in_write_ahead_log_mode_once(tmp_path: Path) -> None:
    database = tmp_path / "store" / "dbos.sqlite"
    write_ahead_log(database)
    write_ahead_log(database)  # a second process launching finds it so
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as reader:  # what liveness and probes open
        assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_ranks_put_first_the_inputs_of_the_earliest_consumer() -> None:
    # script -> narration[0..1], prompt[0..1]; prompt[i] -> image[i]; narration[i] + image[i] -> clip[i]
    order = ["script", "n0", "n1", "p0", "p1", "i0", "i1", "c0", "c1"]
    consumers = {
        "script": ["n0", "n1", "p0", "p1"],
        "n0": ["c0"],
        "n1": ["c1"],
        "p0": ["i0"],
        "p1": ["i1"],
        "i0": ["c0"],
        "i1": ["c1"],
    }
    rank = consumer_ranks(order, consumers)
    ready = sorted(["n0", "n1", "p0", "p1"], key=lambda job: rank[job])
    assert ready == ["p0", "p1", "n0", "n1"]  # the prompts unblock the images, which come earlier
    assert rank["n0"][0] == rank["i0"][0] < rank["n1"][0] == rank["i1"][0]  # a segment's pair together
    assert rank["c1"][0] == len(order)  # nothing waits for a clip here


def test_a_batch_takes_the_free_job_slots_and_the_next_one_waits_for_them() -> None:
    slots = JobSlots(4)
    assert slots.take(8) == 4  # alone: every slot
    taken: list[int] = []
    waiting = threading.Thread(target=lambda: taken.append(slots.take(8)))
    waiting.start()
    waiting.join(timeout=0.2)
    assert waiting.is_alive() and not taken  # none free: it waits (taken before any job starts)
    slots.give(4)
    waiting.join(timeout=30)
    assert taken == [4]
    slots.give(4)
    assert slots.take(1) == 1 and slots.take(8) == 3  # a small batch leaves the rest to the next


def test_a_worker_holds_enough_batches_to_fill_its_slots_and_one_more() -> None:
    assert queue_limits(BUILD_QUEUE, 4) == 4
    assert queue_limits(queue_name("local"), 4) == 2
    assert queue_limits(queue_name("local"), 16) == 3
    assert queue_limits(queue_name("openai"), 1) == 2
