"""The everyday commands on an S3 storage root (moto on loopback), through the real CLI."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.e2e.build_helpers import tutopanda_command


@pytest.mark.slow  # CLI subprocesses building, checking and editing on moto: ~75 s on 2 busy cores
def test_a_movie_made_checked_and_edited_on_s3(s3_bucket: str) -> None:
    root = f"s3://{s3_bucket}/cli-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "TUTOPANDA_PROVIDERS": "mock"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*tutopanda_command(), "--root", root, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    made = run(
        "query", "Why is the sky blue?", "--movie", "sky", "--segments", "1", "--providers", "mock", "--yes"
    )
    assert made.returncode == 0, made.stderr
    for args in (
        ("build", "status", "--movie", "sky"),
        ("verify", "--movie", "sky"),
        ("gc",),
        ("inspect", "--movie", "sky"),
        ("movies", "list"),
    ):
        done = run(*args)
        assert done.returncode == 0, (args, done.stderr)
        assert "warning" not in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
    plan = run("build", "plan", "--movie", "sky")
    assert plan.returncode == 0 and "no job to run" in plan.stdout
    assert not (Path.cwd() / s3_bucket).exists()  # nothing took the bucket for a local folder
