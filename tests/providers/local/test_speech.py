"""Local narration: real, deterministic speech from eSpeak NG (always) and Piper (when installed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.core.provider_contract import EnvSecretResolver
from tutopanda.providers.local import PIPER_VOICE, SpeechHandler, piper_available, plan_speech
from tutopanda.providers.local.piper_engine import verify_piper_model
from tutopanda.providers.mock.wav import read_wav_info
from tutopanda.testing import check_payload

from .conftest import Transcriber, local_context, run

needs_piper = pytest.mark.skipif(not piper_available(), reason="the neural extra is not installed")


def _speak(
    text: str, *, engine: str = "espeak", voice: str = "default", language: str = "en", **config: object
):
    inputs = {"Text": text, "VoiceId": voice, "Language": language, "Emotion": "neutral"}
    context = local_context(
        "narration",
        [("Artifact:Narration.SegmentAudio[0]", "audio")],
        inputs,
        model="espeak-ng",
        config={"engine": engine, "wordsPerMinute": 160, **config},
    )
    [artefact] = run(SpeechHandler("local", "espeak-ng"), context).artefacts
    assert artefact.status == "succeeded" and artefact.data is not None
    return artefact


def test_espeak_gives_byte_identical_audio_for_the_same_text_and_voice() -> None:
    text = "Rivers carry water to the sea."
    first, second = _speak(text), _speak(text)
    assert first.data == second.data
    assert _speak("Clouds carry water over the land.").data != first.data


def test_espeak_writes_a_valid_16_bit_mono_wav_of_plausible_length() -> None:
    text = "The moon moves around the earth once a month, and the earth moves around the sun once a year."
    artefact = _speak(text, wordsPerMinute=150)
    assert artefact.mime_type == "audio/wav"
    check_payload(artefact.data or b"", "audio/wav", "audio")
    info = read_wav_info(artefact.data or b"")
    assert (info.channels, info.sample_width) == (1, 2)
    words = len(text.split())
    assert words / 150 * 60 * 0.6 < info.duration < words / 150 * 60 * 1.8


def test_espeak_diagnostics_name_engine_voice_duration_and_word_timings() -> None:
    artefact = _speak("Welcome to the water cycle.", voice="en-gb-x-rp")
    diagnostics = artefact.diagnostics
    assert diagnostics["engine"] == "espeak-ng"
    assert diagnostics["voice"] == "en-gb-x-rp"
    assert diagnostics["durationSeconds"] > 0.5
    words = diagnostics["words"]
    assert [word["text"] for word in words] == ["Welcome", "to", "the", "water", "cycle"]
    starts = [word["start"] for word in words]
    assert starts == sorted(starts) and starts[0] == 0


def test_a_slower_rate_gives_longer_audio() -> None:
    text = "Plants turn light into sugar."
    fast = read_wav_info(_speak(text, wordsPerMinute=260).data or b"").duration
    slow = read_wav_info(_speak(text, wordsPerMinute=110).data or b"").duration
    assert slow > fast * 1.5


def test_espeak_audio_is_speech_a_recogniser_can_follow(transcribe: Transcriber) -> None:
    heard = transcribe(_speak("One, two, three, four, five.", wordsPerMinute=140).data or b"")
    assert len({"one", "two", "three", "four", "five"} & set(heard)) >= 3, heard


def test_default_voice_follows_the_language_and_other_languages_speak() -> None:
    assert plan_speech({}, "default", "en", default_engine="espeak").voice == "en-us"
    assert plan_speech({}, "default", "fr", default_engine="espeak").voice == "fr"
    artefact = _speak("Bonjour, le soleil brille.", language="fr")
    assert artefact.diagnostics["voice"] == "fr"


def test_an_unknown_voice_is_a_config_error_listing_real_voices() -> None:
    with pytest.raises(ProviderConfigError) as caught:
        _speak("Hello.", voice="klingon-warrior")
    assert "klingon-warrior" in caught.value.message
    assert "en-us" in (caught.value.hint or "")


def test_a_variant_voice_is_accepted() -> None:
    assert _speak("Hello there.", voice="en-us+m3").diagnostics["voice"] == "en-us+m3"


@pytest.mark.parametrize(
    "config",
    [{"engine": "festival"}, {"wordsPerMinute": 10}, {"wordsPerMinute": "fast"}, {"pitch": 150}],
)
def test_bad_config_is_a_config_error(config: dict[str, object]) -> None:
    with pytest.raises(ProviderConfigError):
        plan_speech(config, "default", "en")


def test_empty_text_fails_the_job() -> None:
    with pytest.raises(ProviderError, match="empty"):
        _speak("   ")


def test_piper_refuses_other_languages_and_voices() -> None:
    with pytest.raises(ProviderConfigError, match="English"):
        plan_speech({"engine": "piper"}, "default", "de")
    with pytest.raises(ProviderConfigError, match="one voice"):
        plan_speech({"engine": "piper"}, "en-gb-x-rp", "en")


def test_auto_picks_espeak_for_an_espeak_voice_or_another_language() -> None:
    assert plan_speech({}, "en-gb-x-rp", "en").engine == "espeak-ng"
    assert plan_speech({}, "default", "de").engine == "espeak-ng"


def test_a_voice_model_with_the_wrong_hash_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "en_US-joe-medium.onnx"
    fake.write_bytes(b"not the pinned model")
    with pytest.raises(ProviderConfigError, match="not loading it"):
        verify_piper_model(fake)


@needs_piper
def test_auto_picks_piper_for_english_when_installed() -> None:
    plan = plan_speech({}, "default", "en")
    assert (plan.engine, plan.voice) == ("piper", PIPER_VOICE)


@needs_piper
def test_piper_is_deterministic_intelligible_and_recorded(transcribe: Transcriber) -> None:
    text = "The sun is hot. Water is wet."
    first, second = _speak(text, engine="piper"), _speak(text, engine="piper")
    assert first.data == second.data
    assert first.diagnostics["engine"] == "piper" and first.diagnostics["voice"] == PIPER_VOICE
    assert len(first.diagnostics["sentences"]) == 2
    heard = transcribe(first.data or b"")
    assert len({"sun", "hot", "water", "wet"} & set(heard)) >= 3, heard
    assert _speak("The sun is cold.", engine="piper").data != first.data


@needs_piper
def test_warm_start_verifies_the_installed_piper_model() -> None:
    SpeechHandler().warm_start(EnvSecretResolver({}))
