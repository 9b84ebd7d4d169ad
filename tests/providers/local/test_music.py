"""Local music: a stereo 44.1 kHz bed of the requested length, in a mood, deterministic per input."""

from __future__ import annotations

import numpy as np
import pytest

from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers.local import SynthHandler, detect_mood
from tutopanda.testing import check_payload

from .conftest import local_context, read_wav, run


def _music(prompt: str, duration: int | None = 12, **config: object):
    inputs: dict[str, object] = {"Prompt": prompt}
    if duration is not None:
        inputs["Duration"] = duration
    context = local_context(
        "music", [("Artifact:Music.Music", "audio")], inputs, model="synth", config=config
    )
    [artefact] = run(SynthHandler("local", "synth"), context).artefacts
    assert artefact.status == "succeeded" and artefact.data is not None
    return artefact


def test_music_is_a_stereo_44k_wav_of_the_requested_length() -> None:
    artefact = _music("Calm documentary underscore", 7)
    check_payload(artefact.data or b"", "audio/wav", "audio")
    rate, channels, samples = read_wav(artefact.data or b"")
    assert (rate, channels) == (44100, 2)
    assert len(samples) == 7 * 44100
    assert artefact.diagnostics["durationSeconds"] == 7


def test_music_is_normalised_faded_and_not_silent() -> None:
    _, _, samples = read_wav(_music("Uplifting and bright", 10).data or b"")
    level = np.abs(samples.astype(np.float64)) / 32768
    assert 0.85 < level.max() <= 0.9  # -1 dBFS peak
    assert level[:441].max() < 0.05 and level[-441:].max() < 0.05  # fades in and out
    assert np.sqrt((level[44100:-44100] ** 2).mean()) > 0.05


def test_same_inputs_give_identical_bytes_and_other_prompts_differ() -> None:
    first = _music("Tense, rumbling score", 6).data
    assert _music("Tense, rumbling score", 6).data == first
    assert _music("Tense, rumbling score with drums", 6).data != first


@pytest.mark.parametrize(
    ("prompt", "mood"),
    [
        ("Calm documentary underscore", "calm"),
        ("Dark, ominous and suspenseful", "tense"),
        ("Bright, hopeful and uplifting", "uplifting"),
        ("Reflective orchestral score", "reflective"),
        ("Something", "calm"),
    ],
)
def test_the_prompt_chooses_the_mood(prompt: str, mood: str) -> None:
    assert detect_mood(prompt) == mood
    assert _music(prompt, 3).diagnostics["mood"] == mood


def test_config_mood_overrides_the_prompt_and_is_validated() -> None:
    assert _music("Calm", 3, mood="tense").diagnostics["mood"] == "tense"
    with pytest.raises(ProviderConfigError, match="mood"):
        _music("Calm", 3, mood="angry")


def test_without_a_duration_the_bed_lasts_30_seconds() -> None:
    assert _music("Calm", None).diagnostics["durationSeconds"] == 30
