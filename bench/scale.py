"""Throughput of DBOS builds with 1, 2 and 4 worker processes (target: >= 1.8x at 2, >= 3.2x at 4).

About 400 mock jobs of 200 ms each (image-audio with 100 segments), the same per-worker concurrency for
every run, a SQLite system database under the root. Each run: fresh store, N ``tutopanda worker``
processes, one ``build run --executor dbos --no-wait``, timed until the manifest is committed. Prints
``name: value unit`` lines. Usage: ``.venv/bin/python bench/scale.py [--segments 100] [--concurrency 4]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("tutopanda")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tutopanda"]


def _env(latency: float, database_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["TUTOPANDA_PROVIDERS"] = "mock"
    env["TUTOPANDA_MOCK_OPTIONS"] = json.dumps({"latency": latency})
    env.pop("TUTOPANDA_DBOS_DATABASE_URL", None)
    if database_url:
        env["TUTOPANDA_DBOS_DATABASE_URL"] = database_url
    return env


def run(
    workers: int,
    segments: int,
    concurrency: int,
    latency: float,
    database_url: str | None = None,
    queues: tuple[str, ...] = (),
) -> tuple[int, float]:
    """(jobs, seconds from submission to the committed manifest) for ``workers`` processes."""
    with tempfile.TemporaryDirectory(prefix="tutopanda-scale-") as temp:
        root = Path(temp) / "store"
        env = _env(latency, database_url)
        base = [*_cli(), "--root", str(root)]
        subprocess.run(
            [*base, "storage:init", "--movie", "bench", "--blueprint", "image-audio",
             "--set", f"NumOfSegments={segments}"],
            check=True, env=env, capture_output=True,
        )  # fmt: skip
        plan = subprocess.run(
            [*base, "build", "plan", "--movie", "bench", "--json"],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        )
        jobs = json.loads(plan.stdout)["summary"]["dirtyJobs"]
        # the first worker creates the database schema; the others join it
        processes = []
        for index in range(workers):
            processes.append(
                subprocess.Popen(
                    [*base, "worker", "--id", f"bench-{index}", "--concurrency", str(concurrency), *queues],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            time.sleep(1.0 if index == 0 else 0.2)
        time.sleep(1.0)
        started = time.perf_counter()
        subprocess.run(
            [*base, "build", "run", "--movie", "bench", "--executor", "dbos", "--no-wait"],
            check=True, env=env, capture_output=True,
        )  # fmt: skip
        current = root / "builds" / "bench" / "current.json"
        while json.loads(current.read_text()).get("revision") is None:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            process.wait(timeout=60)
        return jobs, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--segments", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure, e.g. 1,2")
    parser.add_argument(
        "--queues",
        default="builds,local,tutopanda",
        help="the queues workers listen to (default: those image-audio's jobs use); 'all' for every queue",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="use a throw-away PostgreSQL system database (Debian package) instead of SQLite",
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        server = None
        if args.postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.postgres_server import fresh_database, postgres_server

            server = stack.enter_context(postgres_server())
        _measure(args, lambda: fresh_database(server) if server else None)


def _measure(args: argparse.Namespace, database: Callable[[], str | None]) -> None:
    base_rate = None
    print(f"scale_database: {'postgresql' if args.postgres else 'sqlite'}")
    for workers in (int(n) for n in args.workers.split(",")):
        queues = () if args.queues == "all" else ("--queues", args.queues)
        jobs, seconds = run(workers, args.segments, args.concurrency, args.latency, database(), queues)
        rate = jobs / seconds
        base_rate = base_rate or rate
        print(f"scale_{workers}_workers_jobs: {jobs} jobs")
        print(f"scale_{workers}_workers_seconds: {seconds:.2f} s")
        print(f"scale_{workers}_workers_throughput: {rate:.2f} jobs/s")
        print(f"scale_{workers}_workers_speedup: {rate / base_rate:.2f} x")


if __name__ == "__main__":
    main()
