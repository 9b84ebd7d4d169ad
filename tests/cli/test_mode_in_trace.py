"""The run mode is part of every artefact's trace: outputs made by mocks never stand for live ones.

A movie made with ``--providers mock`` and then built live (or edited without the flag) used to re-make
only what the edit touched, next to mock clips, and the join failed after a commit. Now a change of mode
re-runs every job, and going back to the first mode finds its outputs again.
"""

from __future__ import annotations

import json

from tests.cli.conftest import CliRunner


def _dirty(cli: CliRunner, providers: str) -> tuple[int, int, set[str]]:
    result = cli("build", "plan", "--movie", "m", "--providers", providers, "--json")
    assert result.code == 0, result.stderr
    plan = json.loads(result.stdout)
    summary = plan["summary"]
    return summary["dirtyJobs"], summary["totalJobs"], set(summary["byReason"])


def test_switching_from_mock_to_live_reruns_every_job_and_back_reruns_none(cli: CliRunner) -> None:
    made = cli("query", "How do tides work?", "--movie", "m", "--segments", "2", "--providers", "mock")
    assert made.code == 0, made.stderr
    dirty, total, reasons = _dirty(cli, "mock")
    assert dirty == 0
    dirty, total, reasons = _dirty(cli, "local")
    assert dirty == total > 0  # nothing a mock made is reused by a live build
    assert "settings-changed" in reasons
    again = cli("build", "run", "--movie", "m", "--providers", "mock", "--json")
    assert again.code == 0 and json.loads(again.stdout)["calls"] == 0
