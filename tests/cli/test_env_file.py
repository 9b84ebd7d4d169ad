"""API keys from ``.env`` files: used, never printed, never stored; the environment wins."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.conftest import CliRunner
from tutopanda.cli.env_file import load_env_files, parse_env_text

KEY = "sk-test-dotenv-0123456789abcdef"


def _openai_secret_set(cli: CliRunner) -> bool:
    result = cli("providers", "list", "--json")
    assert result.code == 0, result.stderr
    rows = json.loads(result.stdout)["providers"]
    return all(row["secrets"]["OPENAI_API_KEY"] for row in rows if "OPENAI_API_KEY" in row["secrets"])


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    here = tmp_path / "project"
    here.mkdir()
    monkeypatch.chdir(here)
    return here


def test_a_key_in_the_current_folders_env_file_is_used_and_never_shown(cli: CliRunner, no_key: Path) -> None:
    assert not _openai_secret_set(cli)
    (no_key / ".env").write_text(f'# my keys\nexport OPENAI_API_KEY="{KEY}"\n', encoding="utf-8")
    assert _openai_secret_set(cli)
    table = cli("providers", "list")
    assert KEY not in table.stdout + table.stderr
    assert "OPENAI_API_KEY" not in os.environ  # one run's file does not leak into the next


def test_the_storage_roots_env_file_is_read_too(cli: CliRunner, no_key: Path, root: Path) -> None:
    root.mkdir(parents=True)
    (root / ".env").write_text(f"OPENAI_API_KEY={KEY}\n", encoding="utf-8")
    assert _openai_secret_set(cli)


def test_a_malformed_line_is_reported_by_number_without_its_text(cli: CliRunner, no_key: Path) -> None:
    (no_key / ".env").write_text(f"{KEY}\n", encoding="utf-8")
    result = cli("providers", "list", "--json")
    assert result.code == 0
    assert "line 1 is not NAME=value" in result.stderr
    assert KEY not in result.stderr + result.stdout


def test_the_environment_wins_then_the_current_folder_then_the_root(tmp_path: Path) -> None:
    here, root = tmp_path / "here.env", tmp_path / "root.env"
    here.write_text("A=here\nB=here\n", encoding="utf-8")
    root.write_text("A=root\nB=root\nC=root\n", encoding="utf-8")
    environ = {"A": "environment"}
    loaded = load_env_files([here, root, tmp_path / "missing.env"], environ)
    assert environ == {"A": "environment", "B": "here", "C": "root"}
    assert set(loaded.loaded) == {"B", "C"}


def test_values_are_parsed_literally() -> None:
    values, warnings = parse_env_text(
        'X=\'a $HOME b\'\nY="q \\"x\\""\nZ=plain # comment\nW=\nbad line\nV=\'open\n', "t"
    )
    assert values == {"X": "a $HOME b", "Y": 'q "x"', "Z": "plain", "W": ""}
    assert warnings == [
        "t: line 5 is not NAME=value; skipped",
        "t: line 6 has an unterminated quote; skipped",
    ]
