"""Builds on the ``dbos`` executor with a SQLite system database, through the real CLI (subprocesses).

Each test runs ``tutopanda`` processes, so DBOS (a per-process singleton) starts fresh every time.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.build_helpers import JobGraph, MovieCli, define_image_audio
from tutopanda.providers.mock.counter import MOCK_CALL_LOG_ENV

M = "demo"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MovieCli]:
    """The e2e movie CLI, with a DBOS database per test (under the store: the default)."""
    monkeypatch.setenv("TUTOPANDA_PROVIDERS", "mock")
    monkeypatch.delenv("TUTOPANDA_DBOS_DATABASE_URL", raising=False)
    call_log = tmp_path / "calls.jsonl"
    monkeypatch.setenv(MOCK_CALL_LOG_ENV, str(call_log))
    monkeypatch.delenv("TUTOPANDA_MOCK_OPTIONS", raising=False)
    yield MovieCli(tmp_path / "store", call_log)


def _artefact_hashes(cli: MovieCli, movie: str) -> dict[str, str]:
    return {key: entry["hash"] for key, entry in cli.manifest(movie)["artefacts"].items()}


def test_a_dbos_build_commits_the_same_manifest_as_a_local_build(cli: MovieCli) -> None:
    define_image_audio(cli, M, 3)
    define_image_audio(cli, "local-twin", 3)
    done = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--json")
    assert done.code == 0, done.stderr
    report = done.json()
    assert report["revision"] == "rev-0001" and report["workflowId"].startswith(f"build-{M}-")
    assert {job["status"] for job in report["jobs"]} == {"succeeded"}
    assert cli.process("build", "run", "--movie", "local-twin", "--json").code == 0
    assert _artefact_hashes(cli, M) == _artefact_hashes(cli, "local-twin")

    cli.reset_calls()
    again = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--json")
    assert again.code == 0, again.stderr
    assert again.json()["revision"] is None and cli.calls() == []  # nothing dirty: no call


def test_submitting_twice_is_one_build_that_a_worker_runs(cli: MovieCli) -> None:
    define_image_audio(cli, M, 2)
    first = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--no-wait", "--json")
    second = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--no-wait", "--json")
    assert first.code == second.code == 0, first.stderr + second.stderr
    assert first.json()["workflowId"] == second.json()["workflowId"]
    assert cli.manifests(M) == []  # submitted, not run: nobody works yet

    worker = cli.spawn("worker", "--id", "w1")
    try:
        deadline = time.monotonic() + 60
        while not cli.manifests(M):
            assert time.monotonic() < deadline, "the worker did not build the movie"
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=30)
    graph = JobGraph.expand(cli, "image-audio", "NumOfSegments=2")
    assert set(cli.manifest(M)["artefacts"]) == graph.outputs(graph.ids)
    calls = [call["jobId"] for call in cli.calls()]
    assert sorted(calls) == sorted(graph.ids)  # each job called exactly once


def test_a_killed_worker_restarted_with_its_id_finishes_the_build(cli: MovieCli) -> None:
    define_image_audio(cli, M, 4)
    graph = JobGraph.expand(cli, "image-audio", "NumOfSegments=4")
    submitted = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--no-wait")
    assert submitted.code == 0, submitted.stderr
    worker = cli.spawn("worker", "--id", "w1", mock_options={"latency": 0.3})
    deadline = time.monotonic() + 60
    while len(cli.calls()) < 6:
        assert time.monotonic() < deadline and worker.poll() is None, "the worker made no progress"
        time.sleep(0.05)
    worker.kill()  # SIGKILL mid-layer: in-flight jobs are lost, finished ones are stored
    worker.communicate(timeout=30)
    in_flight_max = 4  # the worker's concurrency

    restarted = cli.spawn("worker", "--id", "w1")
    try:
        while not cli.manifests(M):
            assert time.monotonic() < deadline + 60, "the restarted worker did not finish the build"
            time.sleep(0.2)
    finally:
        restarted.send_signal(signal.SIGINT)
        restarted.communicate(timeout=30)
    assert set(cli.manifest(M)["artefacts"]) == graph.outputs(graph.ids)
    calls = [call["jobId"] for call in cli.calls()]
    assert set(calls) == graph.ids
    assert len(calls) <= len(graph.ids) + in_flight_max  # at least once, never more than the lost ones
