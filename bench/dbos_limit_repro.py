"""What DBOS 3.4 itself costs a fleet of workers, without any Tutopanda code: a minimal reproduction.

Four measurements, each in a fresh process with a bare DBOS application (``DBOS.register_queue``,
``DBOS.enqueue_workflow``, ``DBOS.wait_first``: the public API), on SQLite and on PostgreSQL:

1. **Idle polling.** A process that serves 3 queues and has nothing to do: its CPU (and the PostgreSQL
   server's) per second, at DBOS's default polling interval (1 s) and at 0.1 s. Every poll of every
   queue is a write transaction whatever the queue holds — re-read the queue's settings row, check
   the connection, ask for the latest application version, ``SELECT ... FOR UPDATE SKIP LOCKED``,
   commit — so the cost is (queues / interval) x (cost of a poll), paid by every worker.
2. **Dispatch latency.** Enqueue a no-op workflow and time until it starts, 30 times in a row: nothing
   wakes a poller when work arrives, so the wait is about half the polling interval (plus a poll).
3. **Completion latency.** A workflow waits for a child with ``DBOS.wait_first``: it learns of the
   child's end by polling too (here every 0.1 s).
4. **SQLite journal.** DBOS leaves a SQLite system database in rollback-journal mode (and begins
   every transaction ``IMMEDIATE``): the time of one checkpointed step, in that mode and in WAL mode.

Usage: ``.venv/bin/python bench/dbos_limit_repro.py [--postgres-url URL]`` (default: SQLite, and a
throw-away PostgreSQL server when the Debian package is installed). Prints ``name: value unit`` lines.
What would lift each limit is in docs/scale-out.md ("Limits in DBOS").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")
QUEUES = ("repro-a", "repro-b", "repro-c")


# -- the child: one scenario in a fresh DBOS process ---------------------------------------------------


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server_cpu(url: str) -> dict[int, float]:
    """CPU seconds of each process of a local PostgreSQL server (the postmaster and its children),
    by pid: a difference of two of these counts the backends that lived through the window (DBOS keeps
    its connections pooled), never the lifetime of one reaped meanwhile."""
    if not url.startswith("postgresql"):
        return {}
    import psycopg

    with psycopg.connect(url) as connection:
        backend = connection.execute("SELECT pg_backend_pid()").fetchone()
    assert backend is not None

    def stat(pid: int) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    try:
        parent = int(stat(backend[0])[1])
    except (OSError, IndexError):
        return {}
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                fields = stat(int(entry.name))
                if int(entry.name) == parent or int(fields[1]) == parent:
                    found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    return found


def _server_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())


def child(scenario: str, url: str, interval: float) -> dict[str, Any]:
    from dbos import DBOS

    started: dict[str, float] = {}
    ended: dict[str, float] = {}

    @DBOS.workflow()
    def noop(key: str) -> str:
        started[key] = time.perf_counter()
        if key.startswith("child-"):  # ends at a random point of the parent's polling period
            time.sleep(random.uniform(0.0, 0.1))
        ended[key] = time.perf_counter()
        return key

    @DBOS.step()
    def tiny(n: int) -> int:
        return n

    @DBOS.workflow()
    def many_steps(count: int) -> float:
        begin = time.perf_counter()
        for n in range(count):
            tiny(n)
        return (time.perf_counter() - begin) / count

    @DBOS.workflow()
    def child_with_step(key: str) -> list[str]:
        return [tiny_list(key)]

    @DBOS.step()
    def tiny_list(key: str) -> str:
        return key

    @DBOS.workflow()
    def fan_out(count: int, with_step: bool, wait_first: bool) -> int:
        handles = [
            DBOS.enqueue_workflow(QUEUES[0], child_with_step if with_step else noop, f"f{n}")
            for n in range(count)
        ]
        while handles:
            done = DBOS.wait_first(handles, polling_interval_sec=0.1) if wait_first else handles[0]
            handles.remove(done)
            done.get_result(polling_interval_sec=0.1)
        return count

    @DBOS.workflow()
    def parent(rounds: int) -> list[float]:
        waits = []
        for n in range(rounds):
            handle = DBOS.enqueue_workflow(QUEUES[0], noop, f"child-{n}")
            DBOS.wait_first([handle], polling_interval_sec=0.1)
            waits.append(time.perf_counter() - ended[f"child-{n}"])
        return waits

    DBOS(config={"name": "dbos-repro", "system_database_url": url, "log_level": "CRITICAL"})
    DBOS.listen_queues(list(QUEUES))
    DBOS.launch()
    for name in QUEUES:  # the queue manager starts their pollers within a second
        DBOS.register_queue(name, polling_interval_sec=interval)
    try:
        if scenario == "idle":
            time.sleep(2.0)  # the pollers are started
            cpu, server, wall = _cpu(), _server_cpu(url), time.perf_counter()
            time.sleep(5.0)
            span = time.perf_counter() - wall
            polls = len(QUEUES) / interval * span
            used = _cpu() - cpu
            return {
                "process_core_share": used / span,
                "server_core_share": _server_delta(server, _server_cpu(url)) / span,
                "process_ms_per_poll": 1000 * used / polls,
            }
        if scenario == "dispatch":
            time.sleep(1.5)
            waits = []
            for n in range(30):
                key = f"d{n}"
                enqueued = time.perf_counter()
                DBOS.enqueue_workflow(QUEUES[0], noop, key).get_result(polling_interval_sec=0.01)
                waits.append(started[key] - enqueued)
            direct = []
            for n in range(10):
                key = f"s{n}"
                begin = time.perf_counter()
                DBOS.start_workflow(noop, key).get_result(polling_interval_sec=0.01)
                direct.append(started[key] - begin)
            return {
                "enqueue_to_start_median_ms": 1000 * statistics.median(waits),
                "enqueue_to_start_max_ms": 1000 * max(waits),
                "direct_start_median_ms": 1000 * statistics.median(direct),
            }
        if scenario == "wait_first":
            time.sleep(1.5)
            waits = DBOS.start_workflow(parent, 20).get_result()
            return {"child_end_to_wait_first_median_ms": 1000 * statistics.median(waits)}
        if scenario.startswith("fan_out"):
            time.sleep(1.5)
            count = 100
            cpu, server, wall = _cpu(), _server_cpu(url), time.perf_counter()
            DBOS.start_workflow(fan_out, count, "step" in scenario, "wait_first" in scenario).get_result()
            span = time.perf_counter() - wall
            idle = len(QUEUES) / interval  # polls a second that find nothing, counted in the total
            return {
                "process_cpu_ms_per_child": 1000 * (_cpu() - cpu) / count,
                "server_cpu_ms_per_child": 1000 * _server_delta(server, _server_cpu(url)) / count,
                "wall_ms_per_child": 1000 * span / count,
                "idle_polls_per_second": idle,
            }
        if scenario == "journal":
            per_step = DBOS.start_workflow(many_steps, 100).get_result()
            return {"ms_per_checkpointed_step": 1000 * per_step}
        raise SystemExit(f"unknown scenario {scenario}")
    finally:
        threading.Thread(target=DBOS.destroy, daemon=True).start()


# -- the parent: every scenario on every database ------------------------------------------------------


def _run(scenario: str, url: str, interval: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", scenario, "--url", url, "--interval", str(interval)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{scenario} on {url.split('@')[-1]} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@contextlib.contextmanager
def _databases(postgres_url: str | None) -> Iterator[dict[str, Any]]:
    """``{"sqlite": fresh URL factory, "postgresql": ...}`` (PostgreSQL when a server is at hand)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    with tempfile.TemporaryDirectory(prefix="dbos-repro-") as temp:
        counter = iter(range(1_000_000))
        found: dict[str, Any] = {"sqlite": lambda: f"sqlite:///{temp}/repro-{next(counter)}.sqlite"}
        with contextlib.ExitStack() as stack:
            try:
                from tests.postgres_server import fresh_database, postgres_server

                server = postgres_url or stack.enter_context(postgres_server())
                found["postgresql"] = lambda: fresh_database(server)
            except BaseException as exc:  # pytest.skip when no PostgreSQL is installed
                print(f"# PostgreSQL left out: {type(exc).__name__}: {exc}", flush=True)
            yield found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres-url", default=os.environ.get("TUTOPANDA_BENCH_POSTGRES_URL"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url, args.interval)), flush=True)
        return
    print(f"dbos_repro_load: {Path('/proc/loadavg').read_text().split()[:3]}")
    with _databases(args.postgres_url) as databases:
        for database, fresh in databases.items():
            for interval in (1.0, 0.1):
                for name, value in _run("idle", fresh(), interval).items():
                    unit = "ms" if name.endswith("_ms_per_poll") else "% of a core"
                    shown = value if unit == "ms" else 100 * value
                    print(f"dbos_{database}_idle_3_queues_every_{interval:g}s_{name}: {shown:.2f} {unit}")
            for scenario in ("dispatch", "wait_first"):
                for name, value in _run(scenario, fresh(), 0.1).items():
                    print(f"dbos_{database}_{scenario}_poll_0.1s_{name}: {value:.1f} ms")
            for scenario in ("fan_out", "fan_out_step", "fan_out_step_wait_first"):
                for name, value in _run(scenario, fresh(), 0.1).items():
                    if name != "idle_polls_per_second":
                        print(f"dbos_{database}_{scenario}_{name}: {value:.1f} ms")
        journal = databases["sqlite"]()
        default = _run("journal", journal, 1.0)["ms_per_checkpointed_step"]
        print(f"dbos_sqlite_journal_default_ms_per_step: {default:.2f} ms")
        path = journal.removeprefix("sqlite:///") + ".wal"
        with contextlib.closing(sqlite3.connect(path)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
        wal = _run("journal", f"sqlite:///{path}", 1.0)["ms_per_checkpointed_step"]
        print(f"dbos_sqlite_journal_wal_ms_per_step: {wal:.2f} ms")


if __name__ == "__main__":
    main()
