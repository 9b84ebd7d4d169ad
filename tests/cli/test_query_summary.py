"""What a user sees from ``query`` (issue 14 §5): a short summary, the plan only on request or when it
costs money, one closing line on how to get a real script, and a first-use offer that never downloads
silently."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import CliRunner
from tests.model_hub import serve_one_model
from tests.providers.fake_hub import FakeHub
from tutopanda.cli import query_report, script_writer_choice

WEIGHTS = os.urandom(50_000)


def test_the_first_query_prints_a_summary_and_no_plan_table(cli: CliRunner) -> None:
    result = cli("query", "Why is the sky blue?", "--providers", "mock", "--segments", "2")
    assert result.code == 0, result.stderr
    summary = next(line for line in result.stdout.splitlines() if line.startswith("movie why-is-the-sky"))
    assert summary.endswith(
        "(new): 2 segments, ~30 s, style illustration, en; script: a marked draft (no script writer "
        "here); about 20 s, free (offline)"
    )
    assert "dirty jobs by producer" not in result.stdout


def test_plan_prints_the_full_plan_table(cli: CliRunner) -> None:
    result = cli("query", "Why is the sky blue?", "--providers", "mock", "--segments", "2", "--plan")
    assert result.code == 0, result.stderr
    assert "dirty jobs by producer and reason" in result.stdout
    assert "layers" in result.stdout


def test_your_own_script_is_named_as_the_writer(cli: CliRunner, tmp_path: Path) -> None:
    script = tmp_path / "s.md"
    script.write_text("# Tides\n\n## One\n\nThe moon pulls.\n\n## Two\n\nThe sea follows.\n", "utf-8")
    result = cli("query", "--script", str(script), "--providers", "mock")
    assert result.code == 0, result.stderr
    assert "script: your --script" in result.stdout
    again = cli("query", "--movie", result.stdout.split("movie id: ")[1].split()[0], "--providers", "mock")
    assert "(continued)" in again.stdout


def test_the_closing_hint_names_every_way_to_a_real_script() -> None:
    line = query_report.real_script_hint(None)
    assert "\n" not in line
    assert line.startswith("for a real script, next time: ")
    assert "OPENAI_API_KEY" in line and "OPENAI_BASE_URL" in line
    assert "tutopanda models pull qwen2.5-1.5b-instruct" in line


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def offer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    """A catalogue whose default model is served by a loopback hub, and llama-cpp-python "installed"."""
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return object() if name == "llama_cpp" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with serve_one_model(
        monkeypatch,
        tmp_path,
        WEIGHTS,
        name="qwen2.5-1.5b-instruct",
        file="q.gguf",
        repo="acme/q",
        revision="b" * 40,
        models=tmp_path / "models",
    ) as hub:
        yield hub


def test_first_use_offer_yes_downloads_with_verification(
    offer: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal("y\n"))
    script_writer_choice.offer_local_model()
    question = capsys.readouterr().err
    assert "Download qwen2.5-1.5b-instruct (50 KB, Apache-2.0)" in question and "[y/N]" in question
    assert (tmp_path / "models" / "qwen2.5-1.5b-instruct" / "q.gguf").read_bytes() == WEIGHTS
    requests = len(offer.requests)
    script_writer_choice.offer_local_model()  # pulled: never asked again
    assert capsys.readouterr().err == "" and len(offer.requests) == requests


def test_first_use_offer_no_is_remembered_and_downloads_nothing(
    offer: FakeHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    script_writer_choice.offer_local_model()
    assert "tutopanda models pull qwen2.5-1.5b-instruct" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", _Terminal("y\n"))
    script_writer_choice.offer_local_model()  # declined once: not asked again
    assert capsys.readouterr().err == ""
    assert offer.requests == []


def test_no_offer_without_a_terminal(offer: FakeHub, monkeypatch: pytest.MonkeyPatch, cli: CliRunner) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    script_writer_choice.offer_local_model()
    result = cli("query", "Why is the sky blue?", "--providers", "mock", "--segments", "1")
    assert result.code == 0 and "Download" not in result.stderr
    assert offer.requests == []


@pytest.mark.slow
def test_an_offline_query_ends_with_how_to_get_a_real_script(tmp_path: Path) -> None:
    from tests.e2e.build_helpers import tutopanda_command

    env = {**os.environ, "TUTOPANDA_PROVIDERS": "live"}
    env.pop("OPENAI_BASE_URL", None)
    result = subprocess.run(
        [
            *tutopanda_command(),
            *("--root", str(tmp_path / "root"), "query", "How do volcanoes erupt?"),
            *("--blueprint", "audio-only", "--segments", "1", "--duration", "5"),
        ],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("for a real script, next time: ")
    assert "dirty jobs by producer" not in result.stdout
    summary = next(line for line in lines if line.startswith("movie how-do-volcanoes-erupt-"))
    assert "(new): 1 segment, ~5 s, en; about 10 s, free (offline)" in summary
    assert any("local/draft-script" in line for line in lines)  # the writer chain says which writer
