"""``tutopanda models pull|list|remove`` through the real entry point, against a loopback hub."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import CliRunner
from tests.model_hub import REVISION, serve_one_model
from tests.providers.fake_hub import FakeHub

DATA = os.urandom(200_000)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    with serve_one_model(monkeypatch, tmp_path, DATA) as server:
        yield server


def test_pull_list_remove(cli: CliRunner, root: Path, hub: FakeHub) -> None:
    listed = json.loads(cli("models", "list", "--json").stdout)
    assert listed["root"] == str(root / "models")  # under the storage root given with --root
    assert [(m["name"], m["installed"]) for m in listed["models"]] == [("tiny-llm", False)]

    pulled = cli("models", "pull", "tiny-llm")
    assert pulled.code == 0, pulled.stderr
    assert "tiny-llm installed" in pulled.stdout
    assert (root / "models" / "tiny-llm" / "tiny.gguf").read_bytes() == DATA
    assert "TUTOPANDA_MODELS" not in os.environ  # exported for the one invocation only

    table = cli("models", "list")
    assert table.code == 0
    assert "tiny-llm" in table.stdout and "yes" in table.stdout and "Apache-2.0" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()[:5]) <= 80

    again = cli("models", "pull", "tiny-llm", "--json")
    assert json.loads(again.stdout)["downloaded"] is False

    removed = cli("models", "remove", "tiny-llm")
    assert removed.code == 0 and "removed tiny-llm" in removed.stdout
    assert not (root / "models" / "tiny-llm").exists()


def test_unknown_name_is_a_usage_error_with_a_suggestion(cli: CliRunner, hub: FakeHub) -> None:
    result = cli("models", "pull", "tiny-lm")
    assert result.code == 2
    assert result.stderr.splitlines() == [
        "error: unknown model 'tiny-lm'",
        "hint: did you mean 'tiny-llm'? ('tutopanda models list' shows them all)",
    ]


def test_a_wrong_checksum_fails_in_one_line_and_installs_nothing(
    cli: CliRunner, root: Path, hub: FakeHub
) -> None:
    hub.files[f"acme/tiny/resolve/{REVISION}/tiny.gguf"].corrupt = True
    result = cli("models", "pull", "tiny-llm")
    assert result.code == 1
    assert result.stderr.splitlines()[0] == "downloading tiny.gguf"  # no bar outside a terminal
    lines = [line for line in result.stderr.splitlines() if line.startswith(("error:", "hint:"))]
    assert len(lines) == 2
    assert lines[0].startswith("error: tiny-llm: tiny.gguf has the wrong checksum")
    assert lines[1].startswith("hint: run 'tutopanda models pull tiny-llm' again")
    folder = root / "models" / "tiny-llm"
    assert [p.name for p in folder.iterdir() if p.name != ".lock"] == []


def test_an_interrupted_pull_says_how_to_resume(cli: CliRunner, root: Path, hub: FakeHub) -> None:
    hub.cut_after = 10_000
    result = cli("models", "pull", "tiny-llm")
    assert result.code == 1
    assert "interrupted at 30 KB of 200 KB" in result.stderr
    listed = json.loads(cli("models", "list", "--json").stdout)["models"][0]
    assert listed["installed"] is False and listed["partialBytes"] == 30_000
    hub.cut_after = None
    assert cli("models", "pull", "tiny-llm").code == 0
    assert hub.ranges()[-1] == "bytes=30000-"


def test_models_env_wins_over_the_root(
    cli: CliRunner, tmp_path: Path, hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUTOPANDA_MODELS", str(tmp_path / "elsewhere"))
    assert json.loads(cli("models", "list", "--json").stdout)["root"] == str(tmp_path / "elsewhere")
