"""Throughput and CPU of durable (DBOS) builds with 1, 2 and 4 workers, beside the local executor.

Targets (issue "Scale", point 5), for I/O-bound jobs on this machine: one worker within 1.5x of the
local executor's time, 2 workers >= 1.8x and 4 workers >= 3.2x the throughput of one worker, on SQLite
and on PostgreSQL.

The build: ``image-audio`` with ``--segments`` segments (405 jobs at 100), every job a mock call that
waits ``--latency`` seconds (asyncio: I/O-bound, the CPU is free meanwhile). Every run starts from a
fresh store and a fresh system database.

What is timed:

* **local** — a child process that has already imported everything runs ``run_build`` at
  ``--concurrency`` jobs at once: the time (and the process's CPU) of the build alone.
* **N workers** — N ``tutopanda worker`` processes are started and waited for (their start-up is not
  timed), then ``build run --executor dbos --no-wait`` submits. The clock starts when the submission
  is accepted — when the build workflow's row appears in the system database (the bench polls it
  every 10 ms; DBOS's own timestamps are whole seconds on SQLite before Python 3.12), so the
  submitter's start-up (imports, DBOS launch, the preview plan) is outside it — and stops when the
  row says ``SUCCESS``. CPU is counted over that window: the workers', the submitter's
  after the acceptance, and the PostgreSQL server's (its processes, found from the backends). The
  submitter's start-up CPU is printed apart.

Before each durable run the idle workers are watched for a second: their polling CPU is printed as
``idle_cpu`` (share of one core, all workers together).

Usage::

    .venv/bin/python bench/scale.py                      # SQLite: local, 1, 2, 4 workers
    .venv/bin/python bench/scale.py --postgres           # and PostgreSQL (throw-away server)
    TUTOPANDA_BENCH_POSTGRES_URL=postgresql://u@h/db .venv/bin/python bench/scale.py --postgres
    .venv/bin/python bench/scale.py --repeat 3 --latency 0.5

Prints ``name: value unit`` lines as it goes, then a table with the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import heapq
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

_T = TypeVar("_T")

TICKS = os.sysconf("SC_CLK_TCK")
KNOWN_JOB_QUEUES = ("default", "local", "tutopanda", "openai", "replicate", "elevenlabs")
DEADLINE = 600.0
"""Seconds any one wait of the bench may take before it gives up (a stuck build fails loudly)."""


@dataclass
class Result:
    """One timed build."""

    label: str
    database: str
    workers: int
    jobs: int
    seconds: float
    cpu: float
    """CPU seconds over the timed window: workers, submitter after acceptance, database server."""
    parts: dict[str, float] = field(default_factory=dict)
    ideal: float = 0.0
    """The same build's time with no overhead at all (:func:`ideal_seconds`)."""


# -- processes and their CPU --------------------------------------------------------------------------


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("tutopanda")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tutopanda"]


def proc_cpu(pid: int, *, children: bool = False) -> float:
    """CPU seconds (user + system, all threads) of process ``pid`` from ``/proc``; with ``children``,
    plus those of its children it has reaped. 0 when the process is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / TICKS


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def server_cpu(postmaster: int | None) -> float:
    """CPU seconds of a PostgreSQL server: the postmaster (with the backends it reaped) and every live
    child. Differences of this over a window count backends that came and went in it."""
    if postmaster is None:
        return 0.0
    return proc_cpu(postmaster, children=True) + sum(proc_cpu(pid) for pid in _children(postmaster))


def _env(latency: float, database_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["TUTOPANDA_PROVIDERS"] = "mock"
    env["TUTOPANDA_MOCK_OPTIONS"] = json.dumps({"latency": latency})
    # One application version for the submitter and the workers: the code's hash would change if a
    # source file were edited while the bench runs, and workers ignore builds of other code.
    env["DBOS__APPVERSION"] = f"tutopanda-bench-{uuid.uuid4().hex[:8]}"
    env.pop("TUTOPANDA_DBOS_DATABASE_URL", None)
    if database_url:
        env["TUTOPANDA_DBOS_DATABASE_URL"] = database_url
    return env


def _wait_for(what: str, check: Callable[[], _T | None], *, every: float = 0.02) -> _T:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise SystemExit(f"bench: gave up waiting for {what} after {DEADLINE:.0f} s")


# -- the system database, read by the bench ------------------------------------------------------------


class SystemDatabase:
    """The bench's read-only view of the build workflow's row (SQLite file or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith("postgresql")
        self._connection: Any = None

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.postgres:
            import psycopg

            if self._connection is None:
                self._connection = psycopg.connect(self.url, autocommit=True)
            try:
                return list(self._connection.execute(sql.format(schema="dbos.")).fetchall())
            except psycopg.errors.UndefinedTable:
                return []
        path = self.url.removeprefix("sqlite:///")
        if self._connection is None:
            if not Path(path).exists():
                return []
            self._connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        try:
            return list(self._connection.execute(sql.format(schema="")).fetchall())
        except sqlite3.OperationalError:
            return []  # the schema is not there yet

    def build(self) -> tuple[str, str, float] | None:
        """(id, status, when this was read) of the build workflow, once it is enqueued."""
        rows = self._query(
            "SELECT workflow_uuid, status FROM {schema}workflow_status WHERE queue_name = 'tutopanda-builds'"
        )
        seen = time.perf_counter()
        return (str(rows[0][0]), str(rows[0][1]), seen) if rows else None

    def finished_build(self) -> tuple[str, str, float] | None:
        """:meth:`build` once the workflow has ended (whatever its status)."""
        row = self.build()
        return row if row is not None and row[1] not in ("ENQUEUED", "PENDING") else None

    def count(self, table: str) -> int:
        rows = self._query(f"SELECT count(*) FROM {{schema}}{table}")
        return int(rows[0][0]) if rows else 0

    def postmaster(self) -> int | None:
        """The server's main process, when it runs on this machine (the parent of our backend)."""
        if not self.postgres:
            return None
        rows = self._query("SELECT pg_backend_pid()")
        backend = int(rows[0][0])
        try:
            parent = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):
            return None  # a remote server: its CPU is not ours to see
        return parent

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()


# -- one build ------------------------------------------------------------------------------------------


def _init_store(root: Path, segments: int, env: dict[str, str]) -> int:
    base = [*_cli(), "--root", str(root)]
    subprocess.run(
        [*base, "storage:init", "--movie", "bench", "--blueprint", "image-audio",
         "--set", f"NumOfSegments={segments}"],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    plan = subprocess.run(
        [*base, "build", "plan", "--movie", "bench", "--json"],
        check=True, env=env, capture_output=True, text=True,
    )  # fmt: skip
    return int(json.loads(plan.stdout)["summary"]["dirtyJobs"])


def dag(root: Path) -> tuple[list[str], dict[str, str], dict[str, list[str]]]:
    """The movie's planned jobs in plan order, their providers, and the planned jobs each waits for."""
    from tutopanda.core.movie.definition import load_movie
    from tutopanda.core.store.storage import StorageConfig, StorageContext

    graph = load_movie(StorageContext.open(StorageConfig(str(root))), "bench").graph
    order = [job.id for job in graph.jobs]  # every job is planned in a fresh movie
    needs: dict[str, list[str]] = {job_id: [] for job_id in order}
    for source, target in graph.edges:
        needs[target].append(source)
    return order, {job.id: job.variant.provider for job in graph.jobs}, needs


def ideal_seconds(
    dag: tuple[list[str], dict[str, str], dict[str, list[str]]],
    latency: float,
    slots: int,
    *,
    per_provider: bool,
) -> float:
    """The build's time with no overhead at all: every job takes ``latency``, starts the moment its inputs
    are done and a slot is free — ``slots`` for the whole build (the local executor) or per provider
    (workers: ``--concurrency`` per queue, times the workers), first in the order the durable build
    ranks them (the inputs of the earliest consumer first). Independent of the code measured, so the
    same figure stands beside every version."""
    order, provider, needs = dag
    consumers: dict[str, list[str]] = {}
    for job_id in order:
        for need in needs[job_id]:
            consumers.setdefault(need, []).append(job_id)
    position = {job_id: n for n, job_id in enumerate(order)}
    rank = {
        job_id: (min((position[c] for c in consumers.get(job_id, ())), default=len(order)), position[job_id])
        if per_provider
        else (position[job_id], position[job_id])
        for job_id in order
    }
    waiting = {job_id: set(needs[job_id]) for job_id in order}
    ready = [job_id for job_id in order if not waiting[job_id]]
    running: list[tuple[float, str]] = []
    busy: dict[str, int] = {}
    now = 0.0
    while ready or running:
        ready.sort(key=lambda job_id: rank[job_id])
        for job_id in list(ready):
            pool = provider[job_id] if per_provider else "all"
            if busy.get(pool, 0) < slots:
                busy[pool] = busy.get(pool, 0) + 1
                heapq.heappush(running, (now + latency, job_id))
                ready.remove(job_id)
        now = running[0][0]
        while running and running[0][0] <= now + 1e-9:
            _, job_id = heapq.heappop(running)
            busy[provider[job_id] if per_provider else "all"] -= 1
            for consumer in consumers.get(job_id, ()):
                waiting[consumer].discard(job_id)
                if not waiting[consumer]:
                    ready.append(consumer)
    return now


_LOCAL_CHILD = """
import json, resource, sys, time
from tutopanda.core.engine.build import run_build
from tutopanda.core.engine.provider_contract import EnvSecretResolver
from tutopanda.core.engine.runner import RunOptions
from tutopanda.core.logger import MemoryLogger
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.providers.plugins import default_registry

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

root, concurrency = sys.argv[1], int(sys.argv[2])
ctx = StorageContext.open(StorageConfig(root), logger=MemoryLogger())
resolver = default_registry().handler_resolver("mock", "local")
options = RunOptions(mode="mock", concurrency=concurrency)
cpu0, t0 = cpu(), time.perf_counter()
report = run_build(ctx, "bench", resolver=resolver, options=options, secrets=EnvSecretResolver({}))
seconds, used = time.perf_counter() - t0, cpu() - cpu0
jobs, failed = len(report.outcomes), len(report.failed)
print(json.dumps({"seconds": seconds, "cpu": used, "jobs": jobs, "failed": failed}))
"""


def run_local(segments: int, concurrency: int, latency: float) -> Result:
    """The local executor: ``run_build`` in a child process, timed inside it (start-up excluded)."""
    with tempfile.TemporaryDirectory(prefix="tutopanda-scale-") as temp:
        root = Path(temp) / "store"
        env = _env(latency, None)
        jobs = _init_store(root, segments, env)
        done = subprocess.run(
            [sys.executable, "-c", _LOCAL_CHILD, str(root), str(concurrency)],
            check=True, env=env, capture_output=True, text=True,
        )  # fmt: skip
        measured = json.loads(done.stdout.splitlines()[-1])
        if measured["failed"] or measured["jobs"] != jobs:
            ran, failed = measured["jobs"], measured["failed"]
            raise SystemExit(f"bench: the local build ran {ran} of {jobs} jobs, {failed} failed")
        label = f"local -j {concurrency}"
        return Result(label, "-", 0, jobs, measured["seconds"], measured["cpu"], {"process": measured["cpu"]})


def _start_worker(
    base: list[str], index: int, concurrency: int, queues: tuple[str, ...], env: dict[str, str], logs: Path
) -> tuple[subprocess.Popen[bytes], Path]:
    log = logs / f"worker-{index}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*base, "worker", "--id", f"bench-{index}", "--concurrency", str(concurrency), *queues],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return process, log


def _ready(process: subprocess.Popen[bytes], log: Path) -> bool | None:
    if process.poll() is not None:
        raise SystemExit(f"bench: a worker exited with {process.returncode}: {log.read_text()[-2000:]}")
    return f"worker {process.pid} on" in log.read_text(errors="replace") or None


def run_workers(
    workers: int,
    segments: int,
    concurrency: int,
    latency: float,
    database_url: str | None,
    queues: tuple[str, ...],
    database: str,
) -> Result:
    """N workers: the submission-to-success window, its CPU and the idle workers' polling CPU."""
    with tempfile.TemporaryDirectory(prefix="tutopanda-scale-") as temp:
        root = Path(temp) / "store"
        env = _env(latency, database_url)
        jobs = _init_store(root, segments, env)
        url = database_url or f"sqlite:///{root.resolve()}/dbos.sqlite"
        system = SystemDatabase(url)
        base = [*_cli(), "--root", str(root)]
        processes: list[subprocess.Popen[bytes]] = []
        try:
            first, log = _start_worker(base, 0, concurrency, queues, env, Path(temp))
            processes.append(first)  # creates the schema; the others join it
            _wait_for("the first worker", lambda: _ready(first, log))
            started = [
                _start_worker(base, n, concurrency, queues, env, Path(temp)) for n in range(1, workers)
            ]
            processes.extend(p for p, _ in started)
            for process, log in started:
                _wait_for("a worker", functools.partial(_ready, process, log))
            postmaster = system.postmaster()
            pids = [p.pid for p in processes]

            def cpu_now() -> tuple[float, float]:
                return sum(proc_cpu(pid) for pid in pids), server_cpu(postmaster)

            idle0, idle_server0, idle_t0 = *cpu_now(), time.perf_counter()
            time.sleep(1.0)
            idle1, idle_server1 = cpu_now()
            idle_span = time.perf_counter() - idle_t0
            submitter = subprocess.Popen(
                [*base, "build", "run", "--movie", "bench", "--executor", "dbos", "--no-wait"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
            _, _, accepted = _wait_for("the submission", system.build, every=0.01)
            workers0, server0 = cpu_now()
            submitter0 = proc_cpu(submitter.pid)
            _, status, finished = _wait_for("the build", system.finished_build, every=0.01)
            workers1, server1 = cpu_now()
            _, code, usage = os.wait4(submitter.pid, 0)
            submitter.returncode = os.waitstatus_to_exitcode(code)
            submitter_total = usage.ru_utime + usage.ru_stime
            if status != "SUCCESS" or submitter.returncode != 0:
                code = submitter.returncode
                raise SystemExit(f"bench: the durable build ended {status}, submitter exit {code}")
            current = json.loads((root / "builds" / "bench" / "current.json").read_text())
            if current.get("revision") is None:
                raise SystemExit("bench: the durable build succeeded without committing a revision")
            parts = {
                "workers": workers1 - workers0,
                "server": server1 - server0,
                "submitter_after_accept": max(0.0, submitter_total - submitter0),
                "submitter_startup": submitter0,
                "idle_cpu": (idle1 - idle0 + idle_server1 - idle_server0) / idle_span,
                "workflows": float(system.count("workflow_status")),
                "steps": float(system.count("operation_outputs")),
            }
            cpu = parts["workers"] + parts["server"] + parts["submitter_after_accept"]
            return Result(f"{workers} worker(s)", database, workers, jobs, finished - accepted, cpu, parts)
        finally:
            system.close()
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)  # a background shell may ignore SIGINT
            for process in processes:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


# -- the runs and the report ----------------------------------------------------------------------------


def _median(results: list[Result]) -> Result:
    """The run of median time (its own CPU figures), with the range kept in ``parts``."""
    ordered = sorted(results, key=lambda r: r.seconds)
    chosen = ordered[len(ordered) // 2]
    chosen.parts["min_seconds"], chosen.parts["max_seconds"] = ordered[0].seconds, ordered[-1].seconds
    return chosen


def _key(result: Result) -> str:
    if result.workers:
        return f"scale_{result.database}_{result.workers}_workers"
    return "scale_" + result.label.replace(" -j ", "_j")


def _print(result: Result) -> None:
    key = _key(result)
    print(f"{key}_seconds: {result.seconds:.2f} s", flush=True)
    print(f"{key}_ideal: {result.ideal:.2f} s")
    print(f"{key}_throughput: {result.jobs / result.seconds:.2f} jobs/s")
    print(f"{key}_cpu_per_job: {1000 * result.cpu / result.jobs:.1f} ms")
    for name, value in result.parts.items():
        if name in ("workflows", "steps"):
            print(f"{key}_{name}: {value:.0f} rows")
        elif name == "idle_cpu":
            print(f"{key}_idle_cpu: {100 * value:.0f} % of a core")
        elif not name.endswith("_seconds"):
            print(f"{key}_cpu_{name}: {value:.2f} s")


def _table(locals_: list[Result], results: list[Result]) -> None:
    """The runs side by side: time against each local run, throughput against one worker."""
    print()
    against = "".join(f"vs {r.label} (time) | " for r in locals_)
    print(
        f"| run | database | seconds | ideal (of it) | jobs/s | {against}vs 1 worker (throughput; ideal) "
        "| CPU ms/job |"
    )
    print("| --- | --- | --- | --- | --- | " + "--- | " * len(locals_) + "--- | --- |")
    ones = {r.database: r for r in results if r.workers == 1}
    for r in locals_ + results:
        spread = ""
        if r.parts.get("max_seconds", r.seconds) - r.parts.get("min_seconds", r.seconds) > 0.005:
            spread = f" ({r.parts['min_seconds']:.1f}–{r.parts['max_seconds']:.1f})"
        vs_local = " | ".join(f"{r.seconds / lo.seconds:.2f}x" if r.workers else "–" for lo in locals_)
        one = ones.get(r.database)
        vs_one = f"{one.seconds / r.seconds:.2f}x; {one.ideal / r.ideal:.2f}x" if one and r.workers else "–"
        ideal = f"{r.ideal:.1f} ({r.ideal / r.seconds:.0%})"
        cells = f"{r.seconds:.2f}{spread} | {ideal} | {r.jobs / r.seconds:.1f} | " + (
            f"{vs_local} | " if locals_ else ""
        )
        print(f"| {r.label} | {r.database} | {cells}{vs_one} | {1000 * r.cpu / r.jobs:.1f} |")


def _load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


@contextlib.contextmanager
def _postgres(given: str | None) -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty PostgreSQL databases: on ``given``'s server, else a throw-away one."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.postgres_server import fresh_database, postgres_server

    if given:
        yield lambda: fresh_database(given)
        return
    with postgres_server() as server:
        yield lambda: fresh_database(server)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--segments", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4, help="each worker's --concurrency")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds each mock call waits")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure, e.g. 1,2")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the median is reported")
    parser.add_argument("--no-local", action="store_true", help="skip the local executor")
    parser.add_argument(
        "--queues",
        default="builds,local,tutopanda",
        help="the queues workers listen to (default: those image-audio's jobs use); 'all' for every queue",
    )
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL too (after SQLite)")
    parser.add_argument("--databases", default=None, help="sqlite, postgres or both (comma-separated)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TUTOPANDA_BENCH_POSTGRES_URL"),
        help="a server to create the databases on (default: a throw-away one from the Debian package; "
        "env TUTOPANDA_BENCH_POSTGRES_URL)",
    )
    args = parser.parse_args()
    databases = (args.databases or ("sqlite,postgres" if args.postgres else "sqlite")).split(",")
    queues = () if args.queues == "all" else ("--queues", args.queues)
    job_queues = (
        len(KNOWN_JOB_QUEUES)
        if args.queues == "all"
        else len([name for name in args.queues.split(",") if name.strip() != "builds"])
    )
    # A worker's --concurrency counts per queue, so it may have concurrency x job queues jobs in flight:
    # the local build runs with the same flag and with that many, the stricter comparison.
    local_runs = [] if args.no_local else sorted({args.concurrency, args.concurrency * max(1, job_queues)})
    print(f"scale_load_before: {_load()}", flush=True)
    with contextlib.ExitStack() as stack:
        fresh: dict[str, Callable[[], str | None]] = {"sqlite": lambda: None}
        if "postgres" in databases:
            fresh["postgres"] = stack.enter_context(_postgres(args.postgres_url))
        with tempfile.TemporaryDirectory(prefix="tutopanda-scale-") as temp:
            _init_store(Path(temp) / "store", args.segments, _env(args.latency, None))
            graph = dag(Path(temp) / "store")
        plan: list[tuple[str, int]] = [("-", jobs) for jobs in local_runs]
        plan += [(database, int(n)) for database in databases for n in args.workers.split(",")]
        runs: dict[tuple[str, int], list[Result]] = {}
        for _ in range(args.repeat):  # round after round, so a load that drifts spreads over all runs
            for database, n in plan:
                if database == "-":
                    result = run_local(args.segments, n, args.latency)
                else:
                    result = run_workers(
                        n, args.segments, args.concurrency, args.latency, fresh[database](), queues, database
                    )
                slots = n if database == "-" else n * args.concurrency
                result.ideal = ideal_seconds(graph, args.latency, slots, per_provider=database != "-")
                runs.setdefault((database, n), []).append(result)
                _print(result)
    print(f"scale_load_after: {_load()}")
    chosen = {key: _median(found) for key, found in runs.items()}
    _table([chosen[("-", n)] for n in local_runs], [r for (d, _), r in chosen.items() if d != "-"])
    jobs = next(iter(chosen.values())).jobs
    print(
        f"\n{jobs} jobs of {args.latency * 1000:.0f} ms, workers at --concurrency {args.concurrency} "
        f"on {job_queues} job queue(s); median of {args.repeat} run(s), (min–max) when more than one"
    )


if __name__ == "__main__":
    main()
