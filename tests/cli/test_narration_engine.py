"""The narration engine a user is told about is the one that speaks: query records it, lists name it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.cli.conftest import CliRunner
from tutopanda.providers.local import piper_available
from tutopanda.providers.local.speech import ENGINE_NAMES
from tutopanda.providers.plugins import default_registry
from tutopanda.testing import make_job_context

SCRIPT = Path(__file__).parents[2] / "examples" / "volcanoes.md"


def _spoken_by(model: str) -> str:
    """Synthesise one sentence with the registered handler of ``local/<model>``: "Engine voice"."""
    handler = default_registry().resolve("local", model, "local", "live", "narration")
    context = make_job_context(
        "narration",
        [("Artifact:Narration.SegmentAudio[0]", "audio")],
        inputs={"Text": "Lava flows downhill.", "VoiceId": "default", "Language": "en"},
        provider="local",
        model=model,
        mode="live",
        config={"wordsPerMinute": 160},
    )
    (artefact,) = asyncio.run(handler.produce(context)).artefacts
    return f"{ENGINE_NAMES[artefact.diagnostics['engine']]} {artefact.diagnostics['voice']}"


def test_providers_list_names_the_engine_and_voice_that_actually_speak(cli: CliRunner) -> None:
    result = cli("providers:list", "--blueprint", "image-audio", "--json")
    assert result.code == 0, result.stderr
    rows = {
        row["model"]: row
        for row in json.loads(result.stdout)["providers"]
        if row["producer"] == "Narration.Narrator" and row["provider"] == "local"
    }
    assert rows["espeak-ng"]["speaks"] == "eSpeak NG en-us" == _spoken_by("espeak-ng")
    if piper_available():
        assert rows["piper"]["speaks"] == "Piper en_US-joe-medium" == _spoken_by("piper")


@pytest.mark.skipif(not piper_available(), reason="the neural extra is not installed")
def test_a_new_english_movie_records_piper_as_its_narration_variant(cli: CliRunner, root: Path) -> None:
    result = cli("query", "--script", str(SCRIPT), "--providers", "mock")
    assert result.code == 0, result.stderr
    assert "warning" not in result.stderr
    (providers,) = root.glob("builds/*/providers.json")
    assert json.loads(providers.read_text())["selection"]["Narration"] == "local/piper"


def test_a_french_movie_without_a_french_piper_voice_keeps_espeak_and_says_how_to_get_one(
    cli: CliRunner,
) -> None:
    result = cli("query", "--script", str(SCRIPT), "--language", "fr", "--dry-run")
    assert result.code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "eSpeak NG fr" in warnings[0]
    if piper_available():
        assert warnings[0].endswith("tutopanda models pull fr_FR-siwis-medium")


def test_an_explicit_espeak_choice_is_kept(cli: CliRunner, root: Path) -> None:
    result = cli(
        "query", "--script", str(SCRIPT), "--providers", "mock", "--provider", "Narration=local/espeak-ng"
    )
    assert result.code == 0, result.stderr
    (providers,) = root.glob("builds/*/providers.json")
    assert json.loads(providers.read_text())["selection"]["Narration"] == "local/espeak-ng"


@pytest.mark.skipif(not piper_available(), reason="the neural extra is not installed")
def test_switching_the_engine_re_runs_every_narration(cli: CliRunner, root: Path) -> None:
    made = cli("query", "--script", str(SCRIPT), "--providers", "mock", "--movie", "volcanoes")
    assert made.code == 0, made.stderr
    again = cli("query", "--movie", "volcanoes", "--providers", "mock", "--dry-run", "--json")
    assert again.code == 0, again.stderr
    assert "Narration.Narrator" not in json.loads(again.stdout)["plan"]["summary"]["byProducer"]
    switched = cli(
        "query", "--movie", "volcanoes", "--providers", "mock", "--dry-run", "--json",
        "--provider", "Narration=local/espeak-ng",
    )  # fmt: skip
    assert switched.code == 0, switched.stderr
    layers = json.loads(switched.stdout)["plan"]["layers"]
    narrations = [job for layer in layers for job in layer["jobs"] if job["producer"] == "Narration.Narrator"]
    assert len(narrations) == 3 and all(job["model"] == "espeak-ng" for job in narrations)
    assert all(reason["code"] == "settings-changed" for job in narrations for reason in job["reasons"])
