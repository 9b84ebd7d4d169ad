"""Fault: ``tutopanda build run`` receives SIGINT (Ctrl-C) or SIGTERM (a supervisor stopping it) mid-run.

Both take the same graceful way out: the jobs in flight are cancelled, every finished job stays in the
event log with its blob, the movie's state is committed (``current.json`` names a complete manifest),
the run record says ``interrupted``, the build lock is released, no temporary file is left, and the
process exits at once with one ``error:``/``hint:`` pair and no traceback — 130 after SIGINT, 143
(128 + 15) after SIGTERM. The next build runs only the jobs that had not finished.

The build runs as a real subprocess of the console script with mock latency; the signal is sent once a
layer-1 job has started (the script, layer 0, is stored by then). A provider stuck in blocking code
(a thread Python cannot stop) does not hold the exit up either.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.build_helpers import (
    SCRIPT,
    JobGraph,
    MovieCli,
    artefact_events,
    check_current_pointer,
    completed_jobs,
    define_image_audio,
    illustrator,
    plan_produces,
    wait_for_calls,
)
from tutopanda.providers.mock.counter import read_call_log

MOVIE = "signalled"
SEGMENTS = 2


def temp_files(movie: Path) -> list[str]:
    """Leftovers of interrupted writes: atomic-write temps (``.name.tmp-…``), blob puts (``blobs/.tmp``)."""
    return sorted(
        str(path.relative_to(movie))
        for path in movie.rglob("*")
        if path.is_file() and (".tmp-" in path.name or path.parent.name == ".tmp")
    )


def check_blobs_of(events: list[dict[str, object]], movie: Path) -> None:
    """Every succeeded event's blob is on disk, whole."""
    for event in events:
        if event.get("status") != "succeeded":
            continue
        digest = str(event["output"]["blob"]["hash"])  # type: ignore[index]
        found = list((movie / "blobs" / digest[:2]).glob(f"{digest}.*"))
        assert found, f"{event['artefactId']}: blob {digest} missing"
        assert hashlib.sha256(found[0].read_bytes()).hexdigest() == digest


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
    ids=["SIGINT", "SIGTERM"],
)
def test_a_signal_mid_build_exits_cleanly_keeps_what_finished_and_the_rerun_redoes_nothing(
    cli: MovieCli, signum: signal.Signals, code: int
) -> None:
    define_image_audio(cli, MOVIE, SEGMENTS)
    graph = JobGraph.expand(cli, "image-audio", f"NumOfSegments={SEGMENTS}")
    produces = plan_produces(cli.ok("build", "plan", "--movie", MOVIE, "--json").json())
    movie = cli.movie_dir(MOVIE)
    process = cli.spawn("build", "run", "--movie", MOVIE, "--json", mock_options={"latency": 0.2})
    assert wait_for_calls(cli.call_log, 3, process), process.communicate()

    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)

    # one clear message, the conventional exit code, no traceback
    assert process.returncode == code, stderr
    lines = stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == ["error", "hint"], stderr
    assert "interrupted" in lines[0] and "kept" in lines[0]
    assert f"tutopanda build run --movie {MOVIE}" in lines[1]
    report = json.loads(stdout)
    assert report["status"] == "interrupted"
    # what finished is in the event log with its blobs, and committed
    events = artefact_events((movie / "events" / "artefacts.log").read_bytes())
    check_blobs_of(events, movie)
    kept = completed_jobs(events, produces)
    assert SCRIPT in kept and kept != set(produces)
    revision = check_current_pointer(movie)
    assert revision == report["revision"] == "rev-0001"
    committed = set(json.loads((movie / "manifests" / f"{revision}.json").read_bytes())["artefacts"])
    assert graph.outputs(kept) <= committed
    record = json.loads((movie / "runs" / f"{report['plannedRevision']}-run.json").read_bytes())
    assert record["status"] == "interrupted"
    assert {job["jobId"] for job in record["jobs"] if job["status"] == "succeeded"} <= kept
    # nothing half-written, and the lock is free (its holder file is gone; the rerun takes it)
    assert temp_files(movie) == []
    assert not (movie / ".locks" / "build.holder.json").exists()
    cli.reset_calls()

    rerun = cli.run("build", "run", "--movie", MOVIE, "--json")

    assert rerun.code == 0, rerun.stderr
    called = [call["jobId"] for call in cli.calls()]
    assert sorted(called) == sorted(set(produces) - kept)  # each missing job once, no finished one again
    assert cli.ok("build", "plan", "--movie", MOVIE, "--json").json()["summary"]["dirtyJobs"] == 0
    assert temp_files(movie) == []
    check_current_pointer(movie)


def wait_for_call_of(job_id: str, call_log: Path, process: subprocess.Popen[str]) -> None:
    """Wait until ``job_id`` has been called (its line is in the mock call log)."""
    deadline = time.monotonic() + 60
    while not any(call["jobId"] == job_id for call in read_call_log(call_log)):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{job_id} was never called"
        time.sleep(0.005)


def test_ctrl_c_is_not_held_up_by_a_provider_stuck_in_blocking_code(cli: MovieCli) -> None:
    """A handler blocked in a thread (no timeout of its own) cannot delay the exit: its thread is left
    behind, everything else is committed, and the next build runs that job again."""
    define_image_audio(cli, MOVIE, SEGMENTS)
    produces = plan_produces(cli.ok("build", "plan", "--movie", MOVIE, "--json").json())
    movie = cli.movie_dir(MOVIE)
    knobs = {"hangJobs": [illustrator(1)], "hangInThread": True}  # and no deadline short enough to help
    process = cli.spawn("build", "run", "--movie", MOVIE, "--json", mock_options=knobs)
    wait_for_call_of(illustrator(1), cli.call_log, process)

    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert stderr.startswith("error: interrupted") and "Traceback" not in stderr
    assert json.loads(stdout)["status"] == "interrupted"
    check_current_pointer(movie)
    kept = completed_jobs(artefact_events((movie / "events" / "artefacts.log").read_bytes()), produces)
    assert illustrator(1) not in kept and SCRIPT in kept
    assert not (movie / ".locks" / "build.holder.json").exists()
    cli.reset_calls()

    rerun = cli.run("build", "run", "--movie", MOVIE, "--json")

    assert rerun.code == 0, rerun.stderr
    assert sorted(call["jobId"] for call in cli.calls()) == sorted(set(produces) - kept)
    assert temp_files(movie) == []
