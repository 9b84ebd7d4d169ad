"""The installed ``tutopanda`` console script, run as a real subprocess the way a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.build_helpers import tutopanda_command

README = Path(__file__).resolve().parents[2] / "README.md"


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TUTOPANDA_HOME": str(home)}
    env.pop("TUTOPANDA_DEBUG", None)
    return subprocess.run(
        [*tutopanda_command(), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.mark.slow  # one CLI subprocess, but ~9 s on 2 busy cores
def test_help_lists_every_command_group(home: Path) -> None:
    result = run("--help", home=home)
    assert result.returncode == 0
    for command in ("query", "edit", "build", "blueprints", "storage", "events", "manifest"):
        assert command in result.stdout
    assert "manifest:show" not in result.stdout  # the first spellings are hidden aliases
    assert run("--version", home=home).stdout.startswith("tutopanda ")


def test_errors_are_one_line_with_a_hint_and_exit_2_without_traceback(home: Path) -> None:
    result = run("manifest:show", "--movie", "ghost", home=home)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: ")
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(home: Path) -> None:
    result = run("--debug", "manifest:show", "--movie", "ghost", home=home)
    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert "error: movie 'ghost' is not initialised" in result.stderr


def test_unknown_commands_and_options_are_usage_errors(home: Path) -> None:
    assert run("no-such-command", home=home).returncode == 2
    assert run("blueprints", "expand", "image-audio", "--no-such-flag", home=home).returncode == 2


@pytest.mark.slow  # one CLI process per plumbing step: ~15 s on 2 busy cores
def test_full_storage_round_trip_in_separate_processes(home: Path, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"id": "Input:InquiryPrompt", "payload": "How do tides work?"}))
    assert run("storage:init", "--movie", "tides", home=home).returncode == 0
    assert (
        run(
            "events:append", "--movie", "tides", "--type", "input", "--file", str(event), home=home
        ).returncode
        == 0
    )
    assert run("manifest:build", "--movie", "tides", home=home).returncode == 0
    shown = run("manifest:show", "--movie", "tides", "--json", home=home)
    manifest = json.loads(shown.stdout)
    assert manifest["revision"] == "rev-0001"
    assert "Input:InquiryPrompt" in manifest["inputs"]
    assert (home / "builds" / "tides" / "manifests" / "rev-0001.json").exists()
