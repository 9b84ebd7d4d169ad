"""What a person typing ``query`` trips over: blank prompts, the same prompt twice, ``--last``, accents,
ranges in the help, and where concurrency comes from."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import CliRunner
from tutopanda.cli.build_commands import execute_build
from tutopanda.core.blueprint import load_blueprint
from tutopanda.core.limits import MAX_DURATION_SECONDS, MIN_DURATION_SECONDS
from tutopanda.settings import DEFAULT_CONCURRENCY

MOCK = ("--providers", "mock", "--segments", "1")


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"])
def test_a_blank_prompt_is_refused_with_exit_2(cli: CliRunner, root: Path, prompt: str) -> None:
    result = cli("query", prompt, *MOCK)
    assert result.code == 2
    assert "error: the question is empty" in result.stderr
    assert not (root / "builds").exists() or not any((root / "builds").iterdir())


def test_the_same_prompt_names_the_movie_that_answers_it_and_last_continues(cli: CliRunner) -> None:
    first = cli("query", "How do tides work?", *MOCK, "--json")
    assert first.code == 0, first.stderr
    movie = json.loads(first.stdout)["movie"]
    second = cli("query", "how do  tides work?", *MOCK)
    assert second.code == 0, second.stderr
    assert f"note: movie '{movie}' already answers this question" in second.stderr
    assert f"tutopanda query --movie {movie}" in second.stderr
    newest = second.stdout.split("movie id: ")[1].split()[0]
    assert newest != movie
    again = cli("query", "--last", "--providers", "mock", "--json")
    assert again.code == 0, again.stderr
    assert json.loads(again.stdout)["movie"] == newest
    assert json.loads(again.stdout)["calls"] == 0  # continued, nothing dirty
    both = cli("query", "--last", "--movie", movie, "--providers", "mock")
    assert both.code == 2 and "--last and --movie" in both.stderr


def test_last_without_any_movie_says_how_to_start(cli: CliRunner) -> None:
    result = cli("query", "--last", "--providers", "mock")
    assert result.code == 2
    assert "there is no movie" in result.stderr and "tutopanda query" in result.stderr


def test_accented_prompts_make_readable_ids(cli: CliRunner) -> None:
    result = cli("query", "Comment naît une éruption ?", *MOCK, "--json")
    assert result.code == 0, result.stderr
    assert re.fullmatch(r"comment-nait-une-eruption-[0-9a-f]{6}", json.loads(result.stdout)["movie"])


def test_the_closing_hint_names_inspect_and_edit(cli: CliRunner) -> None:
    result = cli("query", "Why is the sky blue?", "--movie", "sky", *MOCK)
    assert result.code == 0, result.stderr
    assert "tutopanda inspect --movie sky" in result.stdout
    assert "tutopanda edit --movie sky" in result.stdout
    assert "build run --movie sky" not in result.stdout


def test_help_ranges_match_the_blueprints(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    help_text = cli("query", "--help").stdout
    assert f"[{MIN_DURATION_SECONDS}<=x<={MAX_DURATION_SECONDS}]" in help_text
    for name in ("image-audio", "audio-only", "video-audio-music", "image-only", "music-only", "video-only"):
        spec = load_blueprint(name).input("Duration")
        assert spec is not None
        assert (spec.minimum, spec.maximum) == (MIN_DURATION_SECONDS, MAX_DURATION_SECONDS)
    assert cli("query", "Q?", "--duration", "4", *MOCK).code == 2
    for command in (("query",), ("edit",), ("build", "run")):
        text = " ".join(cli(*command, "--help").stdout.split())
        assert f"else {DEFAULT_CONCURRENCY})" in text, command


def test_build_run_and_edit_take_concurrency_from_the_settings(
    cli: CliRunner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("query", "Q?", "--movie", "c", *MOCK).code == 0
    seen: list[int] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["concurrency"])
        return execute_build(*args, **kwargs)

    monkeypatch.setattr("tutopanda.cli.build_commands.execute_build", spy)
    (root / "settings.toml").write_text("[general]\nconcurrency = 7\n", encoding="utf-8")
    assert cli("build", "run", "--movie", "c", "--providers", "mock").code == 0
    assert cli("build", "run", "--movie", "c", "--providers", "mock", "-c", "3").code == 0
    assert cli("inspect", "--movie", "c").code == 0
    narration = next((root / "builds" / "c" / "prompts").glob("segment-*/NarrationScript.txt"))
    narration.write_text("A new sentence about the question.\n", encoding="utf-8")
    edited = cli("edit", "--movie", "c", "--providers", "mock", "--yes")
    assert edited.code == 0, edited.stderr
    assert seen == [7, 3, 7]


def test_a_continued_movie_made_from_your_script_is_not_called_a_draft(cli: CliRunner) -> None:
    script = Path(__file__).resolve().parents[2] / "examples" / "volcanoes.md"
    assert cli("query", "--script", str(script), "--movie", "v", "--providers", "mock").code == 0
    again = cli("query", "--movie", "v", "--style", "watercolor", "--providers", "mock")
    assert again.code == 0, again.stderr
    assert "a marked draft" not in again.stdout
