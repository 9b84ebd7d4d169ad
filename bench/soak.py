"""Soak: builds, edits, cleans, viewers and durable builds racing on a few movies, then a full check.

Why a soak beside the fault tests: each fault test pins one interleaving; users (and a fleet) produce
interleavings nobody wrote down. For ``--seconds`` this runs, as real ``tutopanda`` processes on one
storage root with the mock providers (slowed down so commands overlap), a local builder, an editor, a
cleaner that deletes and re-creates movies, a durable (DBOS, SQLite) builder and a viewer being read,
all on the same few movies. Commands refused because another holds the movie are expected; anything
else that fails is counted. At the end:

- ``verify --all`` must be clean;
- no job was paid twice: in each movie's artefact log, no artefact has two succeeded events with the
  same inputs hash (the engine's own record of what it paid for), and the mock call log has no more
  calls than the logs account for;
- no traceback and no ``internal error`` in any command's output.

Usage: ``python bench/soak.py [--seconds 180] [--movies 3]``. Prints ``name: value unit`` lines; exits 1
when a check fails. Runs a few minutes on this 2-core machine; never part of the test suite.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

TUTOPANDA = [str(Path(sys.executable).parent / "tutopanda")]
"""The console script of the running interpreter's environment."""
REFUSED = (
    "is locked",
    "was deleted while",
    "does not exist",
    "not initialised",
    "there is no movie",
    # another command recorded or built between this one's plan and its lock: nothing recorded, nothing
    # paid for a plan the user did not see (docs/architecture.md, "re-check under the lock")
    "changed while this",
)


@dataclass
class Tally:
    """What each actor did: runs, expected refusals, unexpected failures (with their last lines)."""

    runs: collections.Counter[str] = field(default_factory=collections.Counter)
    refused: collections.Counter[str] = field(default_factory=collections.Counter)
    failed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, actor: str, argv: list[str], result: subprocess.CompletedProcess[str]) -> None:
        output = result.stdout + result.stderr
        with self.lock:
            self.runs[actor] += 1
            if "Traceback" in output or "internal error" in output:
                self.failed.append(f"{actor}: {' '.join(argv)}: {output.strip().splitlines()[-3:]}")
            elif result.returncode == 0:
                return
            elif any(marker in output for marker in REFUSED):
                self.refused[actor] += 1
            else:
                tail = output.strip()[-400:]
                self.failed.append(f"{actor}: {' '.join(argv)} exit {result.returncode}: {tail}")


def _env(root: Path, calls: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "TUTOPANDA_HOME": str(root),
            "TUTOPANDA_PROVIDERS": "mock",
            "TUTOPANDA_MOCK_CALL_LOG": str(calls),
            "TUTOPANDA_MOCK_OPTIONS": json.dumps({"latency": 0.05}),
        }
    )
    return env


def _run(argv: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TUTOPANDA, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _create(movie: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run(["query", f"Soak question {movie}?", "--movie", movie, "--segments", "3", "--yes"], env)


def _actor(name: str, stop: threading.Event, step: object, tally: Tally) -> threading.Thread:
    def loop() -> None:
        while not stop.is_set():
            argv, result = step()  # type: ignore[operator]
            tally.record(name, argv, result)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_viewer(port: int, deadline: float = 120.0) -> None:
    """Until the viewer answers (its start-up is not what the soak measures)."""
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/movies", timeout=10):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the viewer never answered")


def _duplicates(root: Path) -> tuple[int, int]:
    """(succeeded artefact events, of which paid twice: same artefact and inputs hash succeeded before)."""
    events = twice = 0
    for log in (root / "builds").glob("*/events/artefacts.log"):
        seen: set[tuple[str, str]] = set()
        for line in log.read_bytes().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("status") != "succeeded" or event.get("producedBy", "").startswith("user"):
                continue
            key = (str(event.get("artefactId")), str(event.get("inputsHash")))
            events += 1
            if key in seen:
                twice += 1
            seen.add(key)
    return events, twice


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--movies", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the storage root for inspection")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tutopanda-soak-"))
    root, calls = work / "store", work / "calls.jsonl"
    env = _env(root, calls)
    movies = [f"soak-{index}" for index in range(args.movies)]
    for movie in movies:
        made = _create(movie, env)
        if made.returncode:
            print(made.stderr, file=sys.stderr)
            return 1
    rng = random.Random(7)
    styles = ["watercolor", "diagram", "illustration", "cinematic"]
    tally, stop = Tally(), threading.Event()

    def build() -> tuple[list[str], subprocess.CompletedProcess[str]]:
        argv = ["build", "run", "--movie", rng.choice(movies), "--yes"]
        return argv, _run(argv, env)

    def edit() -> tuple[list[str], subprocess.CompletedProcess[str]]:
        argv = ["query", "--movie", rng.choice(movies), "--style", rng.choice(styles), "--yes"]
        return argv, _run(argv, env)

    def clean() -> tuple[list[str], subprocess.CompletedProcess[str]]:
        movie = rng.choice(movies)
        argv = ["movies", "clean", movie, "--yes"]
        result = _run(argv, env)
        if result.returncode == 0:
            tally.record("create", ["query", movie], _create(movie, env))
        time.sleep(2.0)  # deletes are rarer than builds
        return argv, result

    def durable() -> tuple[list[str], subprocess.CompletedProcess[str]]:
        argv = ["build", "run", "--movie", rng.choice(movies), "--executor", "dbos", "--yes"]
        return argv, _run(argv, env, timeout=600)

    def check() -> tuple[list[str], subprocess.CompletedProcess[str]]:
        argv = ["verify", "--movie", rng.choice(movies)]
        return argv, _run(argv, env)

    port = _free_port()
    viewer = subprocess.Popen(
        [*TUTOPANDA, "viewer", "--port", str(port), "--no-open"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    pages = collections.Counter[str]()

    def read_viewer() -> None:
        while not stop.is_set():
            for path in ["/", "/api/movies", *(f"/api/movies/{m}" for m in movies)]:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
                        response.read()
                        pages[str(response.status)] += 1
                except urllib.error.HTTPError as exc:  # 404: a movie being cleaned; 503: store busy
                    pages[str(exc.code)] += 1
                except OSError as exc:
                    pages[type(exc).__name__] += 1
            time.sleep(0.2)

    _wait_for_viewer(port)
    started = time.monotonic()
    threads = [
        _actor("build", stop, build, tally),
        _actor("edit", stop, edit, tally),
        _actor("clean", stop, clean, tally),
        _actor("durable", stop, durable, tally),
        _actor("verify", stop, check, tally),
        threading.Thread(target=read_viewer, daemon=True),
    ]
    threads[-1].start()
    while time.monotonic() - started < args.seconds:
        time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join(timeout=900)
    viewer.send_signal(signal.SIGINT)
    try:
        viewer.wait(timeout=30)
    except subprocess.TimeoutExpired:
        viewer.kill()
    final = _run(["verify", "--all"], env, timeout=900)
    events, twice = _duplicates(root)
    call_count = len(calls.read_text(encoding="utf-8").splitlines()) if calls.exists() else 0
    elapsed = time.monotonic() - started
    print(f"soak_seconds: {elapsed:.0f} s")
    for actor in sorted(tally.runs):
        refused = tally.refused[actor]
        print(f"runs_{actor}: {tally.runs[actor]} commands ({refused} refused: movie busy or gone)")
    print(f"viewer_responses: {dict(pages)}")
    print(f"mock_calls: {call_count} calls")
    print(f"succeeded_artefact_events: {events} events (in the logs of the movies that remain)")
    print(f"paid_twice: {twice} artefacts")
    print(f"unexpected_failures: {len(tally.failed)} commands")
    for failure in tally.failed[:10]:
        print(f"  {failure}")
    print(f"verify_all: exit {final.returncode}")
    if final.returncode:
        print(final.stdout[-3000:], final.stderr[-2000:])
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"root: {root}")
    return 0 if final.returncode == 0 and twice == 0 and not tally.failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
