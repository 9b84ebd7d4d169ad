"""Crash safety of ``tutopanda build run``: SIGKILL at random moments never costs a paid artefact.

One movie (image-audio, 6 segments) is rebuilt from scratch 20 times: each round edits the question (so
every job is dirty again), starts ``build run`` as a subprocess of the console script with
mock latency, and SIGKILLs it at a random moment of the build. The moments are drawn (seeded) over the
duration of one whole build, measured first, and replayed against the killed build's own progress (the
mock call log): "t seconds into the build" becomes "d seconds after call k started", which lands at the
same point of the build however long the interpreter takes to start.

After each kill: the store loads (``manifest:show --json`` and ``build plan --json`` exit 0,
``current.json`` names a complete manifest whose blobs are all there and whole), every job upstream of a
job the killed build called has its events (a job starts only when the jobs it reads from are stored:
nothing paid for was lost), and a rerun completes without being blocked by a stale lock, calling
the providers exactly for the jobs that had no succeeded event for every output before it (read from
``events/artefacts.log``; a torn last line does not count).
"""

from __future__ import annotations

import bisect
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.build_helpers import (
    JobGraph,
    MovieCli,
    artefact_events,
    call_lines,
    check_current_pointer,
    completed_jobs,
    define_image_audio,
    plan_produces,
    wait_for_calls,
)
from tutopanda.providers.mock.counter import read_call_log

M = "crash"
SEGMENTS = 6
KILLS = 20
SEED = 20261125
MOCK = {"latency": 0.03}


@dataclass(frozen=True)
class BuildProfile:
    """When each provider call of one uninterrupted build started, and when the process exited.

    Seconds since the first call started (``starts[0] == 0``).
    """

    starts: list[float]
    end: float

    def locate(self, moment: float) -> tuple[int, float]:
        """``moment`` seconds into the build as (calls started by then, seconds after the last of them)."""
        started = max(1, bisect.bisect_right(self.starts, moment))
        return started, moment - self.starts[started - 1]


def measure_build(cli: MovieCli, call_log: Path, jobs: int) -> BuildProfile:
    """Run one whole build in a subprocess, polling its call log to time each call's start."""
    process = cli.spawn("build", "run", "--movie", M, "--json", mock_options=MOCK, call_log=call_log)
    starts: list[float] = []
    while True:
        exited = process.poll() is not None
        now = time.monotonic()
        starts += [now] * (call_lines(call_log) - len(starts))
        if exited:
            break
        time.sleep(0.001)
    end = time.monotonic()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert len(starts) == jobs
    return BuildProfile([start - starts[0] for start in starts], end - starts[0])


def ancestors(graph: JobGraph, jobs: set[str]) -> set[str]:
    """Every job upstream of ``jobs``, directly or not: each had stored its outputs before they started."""
    found: set[str] = set()
    frontier = set(jobs)
    while frontier:
        parents = {parent for job in frontier for parent in graph.upstream[job]} - found
        found |= parents
        frontier = parents
    return found


@pytest.mark.slow  # many builds killed at random moments: ~130 s on 2 busy cores
def test_sigkill_at_random_moments_never_loses_a_paid_artefact_or_blocks_the_next_build(
    cli: MovieCli, tmp_path: Path
) -> None:
    define_image_audio(cli, M, SEGMENTS)
    plan = cli.ok("build", "plan", "--movie", M, "--json").json()
    produces = plan_produces(plan)
    jobs = len(produces)
    assert jobs >= 1 + 3 * SEGMENTS + 2
    graph = JobGraph.expand(cli, "image-audio", f"NumOfSegments={SEGMENTS}")
    assert graph.ids == set(produces)
    movie = cli.movie_dir(M)
    log_path = movie / "events" / "artefacts.log"
    profile = measure_build(cli, tmp_path / "measure-calls.jsonl", jobs)
    rng = random.Random(SEED)
    landed: list[int] = []  # jobs completed before each kill that hit a running build

    for round_ in range(KILLS):
        cli.ok(
            "storage:init", "--movie", M, "--set", f"InquiryPrompt=Question {round_}: why is the sky blue?"
        )
        start_offset = log_path.stat().st_size
        kill_log = tmp_path / f"killed-{round_}.jsonl"
        started, delay = profile.locate(rng.uniform(0.0, profile.end))
        process = cli.spawn("build", "run", "--movie", M, "--json", mock_options=MOCK, call_log=kill_log)
        try:
            if wait_for_calls(kill_log, started, process):
                time.sleep(delay)
        finally:
            process.kill()
            _, stderr = process.communicate(timeout=60)
        killed = process.returncode == -signal.SIGKILL
        assert killed or process.returncode == 0, stderr

        # the store loads, and current.json names a complete manifest
        revision = check_current_pointer(movie)
        assert cli.manifest(M)["revision"] == revision
        cli.ok("build", "plan", "--movie", M, "--json")
        done = completed_jobs(artefact_events(log_path.read_bytes()[start_offset:]), produces)
        if killed:
            landed.append(len(done))
        called_before = {call["jobId"] for call in read_call_log(kill_log)}
        needed = ancestors(graph, called_before)
        assert needed <= done, f"round {round_}: paid jobs lost: {sorted(needed - done)}"
        cli.reset_calls()

        rerun = cli.run("build", "run", "--movie", M, "--json")

        assert rerun.code == 0, f"round {round_}: {rerun.stderr}"  # exit 1 would be a stale lock
        called = [call["jobId"] for call in cli.calls()]
        assert len(called) == len(set(called)), f"round {round_}: a job was called twice: {called}"
        assert set(called) == set(produces) - done, f"round {round_} (killed after {started} calls)"
        assert cli.ok("build", "plan", "--movie", M, "--json").json()["summary"]["dirtyJobs"] == 0
        assert len(cli.manifest(M)["artefacts"]) == sum(len(ids) for ids in produces.values())
        check_current_pointer(movie)

    mid_build = [count for count in landed if 0 < count < jobs]
    assert len(mid_build) >= KILLS // 4, f"too few kills landed mid-build: {landed}"
