"""The durable executor's throughput settings (``bench/scale.py`` measures them; docs/scale-out.md)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from tutopanda.workflow.dbos_executor import (
    BATCH_JOBS,
    BUILD_QUEUE,
    JobSlots,
    batch_size,
    consumer_ranks,
    followers,
    queue_limits,
    queue_name,
    write_ahead_log,
)
from tutopanda.workflow.queue_gate import QueueGates


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


def test_a_batch_takes_its_job_slots_whole_and_the_next_one_waits_for_them() -> None:
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
    assert slots.take(1) == 1
    # three free, four wanted: it waits for the fourth rather than run on three (or one)
    late = threading.Thread(target=lambda: taken.append(slots.take(6)))
    late.start()
    late.join(timeout=0.2)
    assert late.is_alive() and taken == [4]
    slots.give(1)
    late.join(timeout=30)
    assert taken == [4, 4]


def test_a_worker_holds_enough_batches_to_fill_its_slots_and_one_more() -> None:
    assert queue_limits(BUILD_QUEUE, 4) == 4
    assert queue_limits(queue_name("local"), 4) == 2
    assert queue_limits(queue_name("local"), 16) == 3
    assert queue_limits(queue_name("openai"), 1) == 2


def _graph(edges: list[tuple[str, str]]) -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    waiting: dict[str, set[str]] = {}
    consumers: dict[str, list[str]] = {}
    for need, job in edges:
        waiting.setdefault(job, set()).add(need)
        waiting.setdefault(need, set())
        consumers.setdefault(need, []).append(job)
    return waiting, consumers


def test_the_last_clip_takes_the_timeline_and_the_export_along() -> None:
    waiting, consumers = _graph([("c0", "timeline"), ("c1", "timeline"), ("timeline", "export")])
    waiting["timeline"].discard("c0")  # c0 is done; c1 is the last clip
    provider_of = dict.fromkeys(["c0", "c1", "timeline", "export"], "tutopanda")
    assert followers(["c1"], waiting, consumers, provider_of, {"c0", "c1"}, 7) == ["timeline", "export"]
    assert followers(["c1"], waiting, consumers, provider_of, {"c0", "c1"}, 1) == ["timeline"]


def test_no_followers_when_they_would_hold_up_a_job_outside_the_batch() -> None:
    waiting, consumers = _graph([("script", "n0"), ("script", "n1"), ("script", "p0"), ("n0", "clip")])
    provider_of = {"script": "local", "n0": "local", "n1": "local", "p0": "local", "clip": "tutopanda"}
    # room for two of the three jobs waiting for the script: the third would wait for them
    assert followers(["script"], waiting, consumers, provider_of, {"script"}, 2) == []
    # room for all: the clip waits for n0 either way
    assert followers(["script"], waiting, consumers, provider_of, {"script"}, 7) == ["n0", "n1", "p0"]
    # another provider's job never rides along
    assert followers(["n0"], waiting, consumers, provider_of, {"script", "n0"}, 7) == []


def test_batches_shrink_to_spread_the_last_jobs_over_the_known_workers() -> None:
    assert batch_size(200, 1) == BATCH_JOBS
    assert batch_size(8, 1) == 8  # one worker runs a batch as wide as its slots
    assert batch_size(8, 4) == 2  # four workers: one batch each
    assert batch_size(3, 4) == 1
    assert batch_size(0, 0) == 1


class _Queue:
    def __init__(self, limit: int) -> None:
        self._worker_concurrency = limit


def test_queue_gates_open_only_the_queues_with_queued_work_of_this_version(tmp_path: Path) -> None:
    database = tmp_path / "dbos.sqlite"
    queues = {"tutopanda-local": _Queue(2), "tutopanda-tutopanda": _Queue(2), "tutopanda-builds": _Queue(4)}
    gates = QueueGates(f"sqlite:///{database}", "v1", queues)
    assert gates.check_once() == set(queues)  # no database yet: poll as DBOS would
    with sqlite3.connect(database) as connection:
        connection.execute(
            "CREATE TABLE workflow_status (queue_name TEXT, status TEXT, application_version TEXT)"
        )
        connection.executemany(
            "INSERT INTO workflow_status VALUES (?, ?, ?)",
            [
                ("tutopanda-local", "ENQUEUED", "v1"),
                ("tutopanda-builds", "PENDING", "v1"),  # running: nothing to claim
                ("tutopanda-tutopanda", "ENQUEUED", "v0"),  # another version's
            ],
        )
    assert gates.check_once() == {"tutopanda-local"}
    assert [q._worker_concurrency for q in queues.values()] == [2, 0, 0]
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE workflow_status SET status = 'PENDING'")
    assert gates.check_once() == set()
    gates.stop()  # DBOS's own limits back
    assert [q._worker_concurrency for q in queues.values()] == [2, 2, 4]
