"""Builds on the ``dbos`` executor with a SQLite system database, through the real CLI (subprocesses).

Each test runs ``tutopanda`` processes, so DBOS (a per-process singleton) starts fresh every time.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.build_helpers import JobGraph, MovieCli, define_image_audio
from tutopanda.providers.mock.counter import MOCK_CALL_LOG_ENV

M = "demo"
DEADLINE = 180.0
"""Seconds a test waits for a worker before failing: CI machines run at many times their cores."""


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


@pytest.mark.slow  # a local and a durable build: ~11 s on 2 busy cores
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
    joined = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--json")  # the same state:
    assert joined.code == 0 and joined.json()["workflowId"] == again.json()["workflowId"]  # that build
    assert not (cli.movie_dir(M) / ".locks" / "durable.json").exists()  # and it holds nothing
    assert cli.process("build", "run", "--movie", M).code == 0


def test_submitting_twice_is_one_build_that_a_worker_runs(cli: MovieCli) -> None:
    define_image_audio(cli, M, 2)
    first = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--no-wait", "--json")
    second = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--no-wait", "--json")
    assert first.code == second.code == 0, first.stderr + second.stderr
    assert first.json()["workflowId"] == second.json()["workflowId"]
    assert cli.manifests(M) == []  # submitted, not run: nobody works yet

    worker = cli.spawn("worker", "--id", "w1")
    try:
        wait_until(lambda: bool(cli.manifests(M)), "the worker to build the movie")
    finally:
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=60)
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
    try:
        wait_until(lambda: len(_whole_calls(cli)) >= 6 or worker.poll() is not None, "6 provider calls")
        assert worker.poll() is None, worker.communicate()[1]
    finally:
        worker.kill()  # SIGKILL mid-layer: in-flight jobs are lost, finished ones are stored
        worker.communicate(timeout=60)
    # In flight at the kill: called by the dead worker, but no succeeded event stored.
    stored = _succeeded_producers(cli)
    in_flight = {call["jobId"] for call in _whole_calls(cli)} - stored

    restarted = cli.spawn("worker", "--id", "w1")
    try:
        wait_until(lambda: bool(cli.manifests(M)) or restarted.poll() is not None, "the restarted build")
        assert restarted.poll() is None, restarted.communicate()[1]
    finally:
        restarted.send_signal(signal.SIGINT)
        restarted.communicate(timeout=60)
    assert set(cli.manifest(M)["artefacts"]) == graph.outputs(graph.ids)
    calls = [call["jobId"] for call in _whole_calls(cli)]
    assert set(calls) == graph.ids
    assert len(calls) <= len(graph.ids) + len(in_flight)  # at least once: only the lost calls repeat
    assert len(in_flight) <= 8  # two batch slots per queue x two jobs per batch, on at most two queues


def wait_until(condition: Callable[[], bool], what: str, deadline_seconds: float = DEADLINE) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after a deadline generous enough for a
    machine loaded many times over (a test asserts what happens, never how fast)."""
    deadline = time.monotonic() + deadline_seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {deadline_seconds:.0f}s waiting for {what}"
        time.sleep(0.1)


def _whole_lines(path: Path) -> list[dict[str, Any]]:
    """The complete JSON lines of a file another process may be appending to (or was killed while
    appending to): a last line without its newline is not there yet."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    records: list[dict[str, Any]] = []
    for line in text.split("\n")[:-1]:
        if line.strip():
            with contextlib.suppress(ValueError):
                records.append(json.loads(line))
    return records


def _whole_calls(cli: MovieCli) -> list[dict[str, Any]]:
    return _whole_lines(cli.call_log)


def _succeeded_producers(cli: MovieCli) -> set[str]:
    events = _whole_lines(cli.movie_dir(M) / "events" / "artefacts.log")
    return {event["producedBy"] for event in events if event.get("status") == "succeeded"}


def test_a_dbos_build_writes_its_run_record_and_publishes_the_movie(cli: MovieCli) -> None:
    define_image_audio(cli, M, 2)
    assert cli.process("build", "run", "--movie", M, "--executor", "dbos").code == 0
    record = json.loads((cli.movie_dir(M) / "runs" / "rev-0001-run.json").read_text(encoding="utf-8"))
    assert record["executor"] == "dbos" and record["status"] == "succeeded"
    assert (
        record["committedRevision"] == "rev-0001"
        and record["totals"]["succeeded"] == record["totals"]["jobs"]
    )
    assert list((cli.root / "movies" / M).glob("*.mp4"))


@pytest.mark.slow  # two durable builds: ~9 s on 2 busy cores
def test_after_a_failed_build_running_again_runs_again(cli: MovieCli) -> None:
    define_image_audio(cli, M, 2)
    failing = {"failJobs": ["Producer:Export.VideoExporter"]}
    failed = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--json", mock_options=failing)
    assert failed.code == 1 and "Export.VideoExporter" in failed.stderr
    fixed = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--json")
    assert fixed.code == 0, fixed.stderr
    report = fixed.json()
    assert report["workflowId"] != failed.json()["workflowId"] if failed.stdout else True
    assert [job["jobId"] for job in report["jobs"]] == ["Producer:Export.VideoExporter"]
    assert "Artifact:Export.FinalVideo" in cli.manifest(M)["artefacts"]


def test_a_worker_reloads_a_movie_whose_config_changed_to_a_value_of_the_same_length(cli: MovieCli) -> None:
    define_image_audio(cli, M, 2)
    worker = cli.spawn("worker", "--id", "w1")
    assert worker.stdout is not None and "running jobs" in worker.stdout.readline()  # launched (schema made)
    try:
        first = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--no-wait")
        assert first.code == 0, first.stderr
        _wait_for_revision(cli, "rev-0001")
        providers = cli.movie_dir(M) / "providers.json"
        data = json.loads(providers.read_text(encoding="utf-8"))
        data["config"] = {"Narration": {"wordsPerMinute": 150}}
        providers.write_text(json.dumps(data), encoding="utf-8")
        assert cli.process("build", "run", "--movie", M, "--executor", "dbos", "--no-wait").code == 0
        _wait_for_revision(cli, "rev-0002")
        data["config"] = {"Narration": {"wordsPerMinute": 170}}  # same byte size as 150
        providers.write_text(json.dumps(data), encoding="utf-8")
        assert cli.process("build", "run", "--movie", M, "--executor", "dbos", "--no-wait").code == 0
        _wait_for_revision(cli, "rev-0003")
    finally:
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=60)
    graph = JobGraph.expand(cli, "image-audio", "NumOfSegments=2")
    assert set(cli.manifest(M)["artefacts"]) == graph.outputs(graph.ids)  # nothing dropped
    plan = cli.process("build", "plan", "--movie", M, "--json").json()
    assert plan["summary"]["dirtyJobs"] == 0


def _wait_for_revision(cli: MovieCli, revision: str) -> None:
    wait_until(lambda: f"{revision}.json" in cli.manifests(M), f"{revision} to be committed")


def _status(cli: MovieCli, movie: str = M) -> dict[str, Any]:
    """The newest durable build of ``movie`` as ``build status --json`` shows it."""
    shown = cli.process("build", "status", "--movie", movie, "--json")
    assert shown.code == 0, shown.stderr
    builds: list[dict[str, Any]] = shown.json()["durableBuilds"]
    return builds[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--dry-run",), "--dry-run cannot be used with --executor dbos"),
        (("--database-url", "mysql://db/x"), "is not a SQLite or PostgreSQL URL"),
    ],
)
def test_usage_errors_of_the_dbos_executor(cli: MovieCli, args: tuple[str, ...], message: str) -> None:
    define_image_audio(cli, M, 1)
    result = cli.process("build", "run", "--movie", M, "--executor", "dbos", *args)
    assert result.code == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 2


def test_an_unreachable_database_is_one_line_and_exit_1(cli: MovieCli) -> None:
    define_image_audio(cli, M, 1)
    url = "postgresql://u:secret-pw@127.0.0.1:1/db"
    result = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--database-url", url)
    assert result.code == 1 and result.stderr.startswith("error: cannot open the DBOS database")
    assert "Traceback" not in result.stderr and "secret-pw" not in result.stderr


def test_build_status_shows_a_submitted_durable_build_and_then_its_finished_jobs(cli: MovieCli) -> None:
    define_image_audio(cli, M, 1)
    submitted = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--no-wait", "--json")
    assert submitted.code == 0, submitted.stderr
    workflow = submitted.json()["workflowId"]
    waiting = cli.process("build", "status", "--movie", M, "--json")
    assert waiting.code == 0, waiting.stderr
    [build] = waiting.json()["durableBuilds"]
    assert build["workflowId"] == workflow and build["status"] == "ENQUEUED"
    assert build["plannedJobs"] is None  # nobody has planned it yet: no worker runs

    worker = cli.spawn("worker", "--id", "w1")
    try:
        # the manifest is committed just before the workflow records its end: wait for the end
        wait_until(lambda: _status(cli)["status"] == "SUCCESS", "the durable build to succeed")
    finally:
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=60)
    done = cli.process("build", "status", "--movie", M)
    assert done.code == 0, done.stderr
    graph = JobGraph.expand(cli, "image-audio", "NumOfSegments=1")
    jobs = len(graph.ids)
    assert f"durable build {workflow}: success on w1, {jobs}/{jobs} job(s) done" in done.stdout


def test_settings_choose_the_dbos_executor(cli: MovieCli) -> None:
    define_image_audio(cli, M, 1)
    (cli.root / "settings.toml").write_text('[general]\nexecutor = "dbos"\n', encoding="utf-8")
    result = cli.process("build", "run", "--movie", M, "--json")
    assert result.code == 0, result.stderr
    assert result.json()["workflowId"].startswith(f"build-{M}-")  # the durable executor ran it
    assert (cli.root / "dbos.sqlite").exists()


@pytest.mark.slow  # two durable builds: ~14 s on 2 busy cores
def test_a_dbos_build_makes_a_deleted_blob_again(cli: MovieCli) -> None:
    define_image_audio(cli, M, 1)
    assert cli.process("build", "run", "--movie", M, "--executor", "dbos").code == 0
    manifest = cli.manifest(M)
    victim = next(key for key in manifest["artefacts"] if "Narration" in key)
    blob_hash = manifest["artefacts"][victim]["hash"]
    [blob] = (cli.movie_dir(M) / "blobs" / blob_hash[:2]).glob(f"{blob_hash}.*")
    blob.unlink()
    cli.reset_calls()
    again = cli.process("build", "run", "--movie", M, "--executor", "dbos", "--json")
    assert again.code == 0, again.stderr
    assert any("Narration" in call["jobId"] for call in cli.calls())  # planned and run, not "cached"
    assert blob.exists()
