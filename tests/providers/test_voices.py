"""Voice lists per speech provider: what ``query --voice`` is checked against, and that they match what
the handlers really accept."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers import (
    HandlerFactory,
    HandlerSpec,
    ProviderRegistry,
    VoiceSet,
    handler_voices,
    voices_for,
)
from tutopanda.providers.local import SpeechHandler, piper_available, plan_speech, speech_voices
from tutopanda.providers.mock import MockHandler


def _espeak_accepts(voice: str) -> bool:
    try:
        plan_speech({"engine": "espeak"}, voice, "en")
    except ProviderConfigError:
        return False
    return True


def test_local_speech_lists_its_espeak_voices_and_default() -> None:
    voices = voices_for("local", "espeak-ng")
    assert voices is not None and (voices.provider, voices.model) == ("local", "espeak-ng")
    assert {"en-us", "fr-fr", "de"} <= set(voices.names)
    for voice in ("default", "DEFAULT", "en-us", "EN-US", " fr-fr ", "en-us+m3", "de+f2"):
        assert voices.accepts(voice), voice
    assert not voices.accepts("nosuch")
    assert not voices.accepts("en-us+nosuch")


def test_every_listed_espeak_voice_is_one_the_engine_takes() -> None:
    voices = speech_voices("espeak")
    assert voices.names and all(_espeak_accepts(name) for name in voices.names)


@settings(max_examples=200)
@given(
    st.one_of(
        st.text(max_size=12),
        st.sampled_from(sorted(speech_voices("espeak").names)).flatmap(
            lambda name: st.sampled_from([name, name.upper(), f"{name}+m3", f"{name}+x9", f"{name}z"])
        ),
    )
)
def test_the_espeak_voice_list_agrees_with_the_engine(voice: str) -> None:
    assert speech_voices("espeak").accepts(voice) == _espeak_accepts(voice)


def test_piper_takes_its_english_voice_and_the_catalogue_voices() -> None:
    voices = voices_for("local", "piper")
    assert voices is not None
    assert all(voices.accepts(voice) for voice in ("default", "joe", "JOE", "en_US-joe-medium"))
    assert voices.accepts("fr_FR-siwis-medium")  # checked for being pulled when it speaks
    assert not voices.accepts("en-us")
    with pytest.raises(ProviderConfigError, match="not a Piper voice"):
        plan_speech({}, "en-us", "en", default_engine="piper")


def test_joe_is_offered_by_espeak_ng_only_when_piper_can_read_it() -> None:
    assert speech_voices("auto").accepts("joe") == piper_available()


def test_the_handlers_expose_their_voices() -> None:
    local = SpeechHandler("local", "piper", default_engine="piper").voices()
    assert local.names[:2] == ("joe", "en_US-joe-medium")
    assert MockHandler().voices() is None  # the mock reads no voice: any id is fine
    assert handler_voices(MockHandler()) is None
    assert handler_voices(object()) is None


def test_unknown_and_live_providers_accept_any_voice() -> None:
    assert voices_for("openai", "gpt-4o-mini-tts") is None
    assert voices_for("elevenlabs", "eleven_multilingual_v2") is None
    assert voices_for("nobody", "nothing") is None


def test_a_plugin_handler_can_list_its_voices() -> None:
    class Speaker(MockHandler):
        def voices(self) -> VoiceSet | None:
            return VoiceSet(self.provider, self.model, ("alto", "bass"))

    def build(spec: HandlerSpec) -> Speaker:
        return Speaker(spec.provider, spec.model, spec.environment, mode=spec.mode)

    registry = ProviderRegistry()
    registry.add(HandlerFactory("acme", "tts-1", "*", "live", build, kinds=frozenset({"narration"})))
    voices = voices_for("acme", "tts-1", registry=registry)
    assert voices is not None and voices.accepts("Alto") and not voices.accepts("tenor")


def test_a_refused_voice_gets_one_line_with_a_suggestion_or_the_list() -> None:
    espeak = speech_voices("espeak")
    refused = espeak.verdict("en-uss").message
    assert refused == "'en-uss' is not a voice of local/espeak-ng; did you mean 'en-us'?"
    assert "en-us+m3" in espeak.verdict("nosuch").hint
    piper = speech_voices("piper", model="piper")
    assert piper.verdict("jo").message.startswith(
        "'jo' is not a voice of local/piper; did you mean 'joe'? (allowed: default, joe, en_US-joe-medium"
    )
    assert piper.verdict("Joe").accepted
