"""A fleet: two worker processes on a PostgreSQL system database and an S3 store (moto), one SIGKILLed.

Everything runs on loopback: PostgreSQL from the Debian package (``tests/postgres_server.py``) and moto
(``tests/object_store.py``). The survivor notices the dead worker through its advisory lock and resumes
its workflows (``workflow/liveness.py``); no worker is restarted.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import fsspec
import pytest

from tests.e2e.build_helpers import CliResult, tutopanda_command
from tests.postgres_server import fresh_database
from tutopanda.providers.mock.counter import MOCK_CALL_LOG_ENV

M = "fleet"
SEGMENTS = 6


class Fleet:
    """``tutopanda`` processes sharing one database, one store root and one mock call log."""

    def __init__(self, root: str, database: str, call_log: Path, logs: Path) -> None:
        self.root, self.database, self.call_log, self.logs = root, database, call_log, logs

    def env(self, mock_options: dict[str, Any] | None = None) -> dict[str, str]:
        import os

        env = {**os.environ, MOCK_CALL_LOG_ENV: str(self.call_log), "TUTOPANDA_PROVIDERS": "mock"}
        env["TUTOPANDA_DBOS_DATABASE_URL"] = self.database
        env.pop("TUTOPANDA_MOCK_OPTIONS", None)
        if mock_options:
            env["TUTOPANDA_MOCK_OPTIONS"] = json.dumps(mock_options)
        return env

    def run(self, *args: str, root: str | None = None) -> CliResult:
        done = subprocess.run(
            [*tutopanda_command(), "--root", root or self.root, *args],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=120,
            check=False,
        )
        return CliResult(done.returncode, done.stdout, done.stderr)

    def worker(self, name: str, **mock_options: Any) -> subprocess.Popen[str]:
        with (  # the child keeps its own descriptors
            (self.logs / f"{name}.err").open("w") as stderr,
            (self.logs / f"{name}.out").open("w") as stdout,
        ):
            return subprocess.Popen(
                [*tutopanda_command(), "--root", self.root, "worker", "--id", name, "-c", "2"],
                stdout=stdout,
                stderr=stderr,
                text=True,
                env=self.env(mock_options),
            )

    def calls(self) -> list[dict[str, Any]]:
        if not self.call_log.exists():
            return []
        # whole lines only: a worker may be mid-append (or was killed mid-append)
        lines = self.call_log.read_text(encoding="utf-8").split("\n")[:-1]
        return [json.loads(line) for line in lines if line.strip()]


def _s3_json(root: str, relative: str) -> Any:
    fs = fsspec.filesystem("s3", use_listings_cache=False)
    return json.loads(fs.cat_file(f"{root.removeprefix('s3://')}/{relative}"))


def _stored(root: str) -> set[str]:
    """Producers with a succeeded event in the movie's artefact log (its segments, on S3)."""
    fs = fsspec.filesystem("s3", use_listings_cache=False)
    folder = f"{root.removeprefix('s3://')}/builds/{M}/events/artefacts.log"
    found: set[str] = set()
    for segment in sorted(fs.ls(folder, detail=False)) if fs.exists(folder) else []:
        for line in fs.cat_file(segment).decode().splitlines():
            event = json.loads(line)
            if event["status"] == "succeeded":
                found.add(event["producedBy"])
    return found


def _artefact_hashes(manifest: dict[str, Any]) -> dict[str, str]:
    return {key: entry["hash"] for key, entry in manifest["artefacts"].items()}


@pytest.mark.slow
def test_two_workers_on_postgres_and_s3_finish_a_build_when_one_is_killed(
    postgres_url: str, s3_bucket: str, tmp_path: Path
) -> None:
    fleet = Fleet(
        f"s3://{s3_bucket}/fleet-{uuid.uuid4().hex[:8]}",
        fresh_database(postgres_url),
        tmp_path / "calls.jsonl",
        tmp_path,
    )
    define = (
        "storage:init",
        "--movie",
        M,
        "--blueprint",
        "image-audio",
        "--set",
        f"NumOfSegments={SEGMENTS}",
    )
    assert fleet.run(*define).code == 0
    submitted = fleet.run("build", "run", "--movie", M, "--executor", "dbos", "--no-wait", "--json")
    assert submitted.code == 0, submitted.stderr
    workflow = submitted.json()["workflowId"]
    # Another machine's local build is refused: the durable build's lock record lives on the store.
    refused = fleet.run("build", "run", "--movie", M)
    assert refused.code == 1 and f"by durable build {workflow}" in refused.stderr, refused.stderr

    doomed = fleet.worker("w1", latency=0.5)
    survivor: subprocess.Popen[str] | None = None
    try:
        deadline = time.monotonic() + 180  # generous: a test asserts what happens, not how fast
        while not any(call["pid"] == doomed.pid for call in fleet.calls()):
            assert time.monotonic() < deadline and doomed.poll() is None, (tmp_path / "w1.err").read_text()
            time.sleep(0.05)
        # The survivor starts once the doomed worker holds work: started together, either may take
        # every batch of a build this small, and the other then never has anything to lose.
        survivor = fleet.worker("w2", latency=0.5)
        doomed.send_signal(signal.SIGKILL)  # mid-layer: its in-flight jobs are lost
        doomed.wait(timeout=30)
        killed_at = len(fleet.calls())
        # In flight at the kill: called by the dead worker, with no succeeded event stored.
        in_flight = {c["jobId"] for c in fleet.calls() if c["pid"] == doomed.pid} - _stored(fleet.root)

        deadline = time.monotonic() + 240
        while _s3_json(fleet.root, f"builds/{M}/current.json")["revision"] is None:
            assert time.monotonic() < deadline, "the survivor did not finish the build"
            assert survivor.poll() is None, (tmp_path / "w2.err").read_text()
            time.sleep(0.25)
        # the build's last step frees the movie just after the commit
        record = f"{fleet.root.removeprefix('s3://')}/builds/{M}/.locks/durable.json"
        while fsspec.filesystem("s3", use_listings_cache=False).exists(record):
            assert time.monotonic() < deadline, "the durable build kept its lock record"
            time.sleep(0.25)
    finally:
        if survivor is not None:
            survivor.send_signal(signal.SIGINT)
            survivor.wait(timeout=60)
        if doomed.poll() is None:
            doomed.kill()
    assert survivor is not None

    assert "worker w1 is gone: resumed its" in (tmp_path / "w2.out").read_text()  # peer recovery
    assert fleet.run("gc", "--movie", M).code == 0  # the movie is free again
    pointer = _s3_json(fleet.root, f"builds/{M}/current.json")
    manifest = _s3_json(fleet.root, f"builds/{M}/{pointer['manifestPath']}")

    local_root = str(tmp_path / "local")
    assert fleet.run(*define, root=local_root).code == 0
    assert fleet.run("build", "run", "--movie", M, root=local_root).code == 0
    local_manifest = json.loads(
        (tmp_path / "local" / "builds" / M / "manifests" / "rev-0001.json").read_text()
    )
    assert _artefact_hashes(manifest) == _artefact_hashes(local_manifest)

    calls = fleet.calls()
    jobs = {call["jobId"] for call in calls}
    dbos_calls = [call for call in calls if call["pid"] in (doomed.pid, survivor.pid)]
    assert killed_at > 0 and any(call["pid"] == survivor.pid for call in dbos_calls)
    assert len(dbos_calls) <= len({c["jobId"] for c in dbos_calls}) + len(in_flight)  # only those repeat
    assert len(jobs) == len({c["jobId"] for c in dbos_calls})
