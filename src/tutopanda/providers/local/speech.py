"""The local narration handlers: text to a 16-bit mono WAV, offline, with per-word timings inside it.

Why the model names the engine: what made an artefact is part of its trace, and the trace holds the
variant (provider, model, config), not what happens to be installed. So ``local/piper`` always speaks
with Piper and ``local/espeak-ng`` always with eSpeak NG; an engine that is missing is an error with a
fix, never a silent switch (which would leave a movie half Piper, half eSpeak, under one trace).
Choosing the best engine *here* is done once, when a movie is made (:func:`choose_local_speech`, used
by ``tutopanda query``), and recorded as the movie's Narration variant: after that, ``movie.toml``,
``providers list`` and the viewer name the engine that actually speaks.

Voices: Piper reads English with the packaged en_US-joe-medium and other languages with the first
catalogue voice of the models store for that language (``tutopanda models pull``); eSpeak NG reads
100+ languages. Config ``engine`` (``auto`` | ``espeak`` | ``piper``) may only confirm the variant's
engine; ``wordsPerMinute`` (80-450, default 160) sets the rate of both and ``pitch`` (0-99) eSpeak's.
The engine, voice, duration and word times go into the artefact's diagnostics, and the word times into
the WAV's ``tpwt`` chunk (:mod:`.speech_clip`) for captions and reveals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tutopanda.core.engine.provider_contract import JobContext, JobResult, ProducedArtefact, SecretResolver
from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.providers.job_inputs import config_number, input_text, requested_artefacts
from tutopanda.providers.local.espeak_engine import espeak_voices, synthesise_espeak
from tutopanda.providers.local.local_handler import LocalHandler
from tutopanda.providers.local.piper_engine import (
    PIPER_VOICE,
    PIPER_VOICE_ALIASES,
    PiperVoiceFiles,
    missing_voice_hint,
    packaged_piper_voice,
    piper_available,
    piper_voice_files,
    store_piper_voice,
    store_voice_names,
    synthesise_piper,
    verify_piper_model,
)
from tutopanda.providers.local.speech_clip import SpeechClip
from tutopanda.providers.voice_set import VoiceSet

__all__ = [
    "ENGINES",
    "ENGINE_NAMES",
    "LocalSpeechChoice",
    "SpeechHandler",
    "SpeechPlan",
    "choose_local_speech",
    "plan_speech",
    "speech_voices",
]

ENGINES = ("auto", "espeak", "piper")
"""Values of the ``engine`` config key."""


class SpeechPlan:
    """Which engine and voice will read a clip, at which rate and pitch (decided before any work)."""

    def __init__(
        self,
        engine: str,
        voice: str,
        rate: int,
        pitch: int,
        *,
        language: str = "en",
        piper: PiperVoiceFiles | None = None,
    ) -> None:
        self.engine = engine
        self.voice = voice
        self.rate = rate
        self.pitch = pitch
        self.language = language
        self.piper = piper

    def __repr__(self) -> str:
        return f"SpeechPlan({self.engine!r}, {self.voice!r}, rate={self.rate}, pitch={self.pitch})"

    @property
    def label(self) -> str:
        """What speaks, for people: ``Piper en_US-joe-medium`` or ``eSpeak NG en-us``."""
        return f"{ENGINE_NAMES.get(self.engine, self.engine)} {self.voice}"

    def synthesise(self, text: str) -> SpeechClip:
        """Read ``text`` aloud (blocking)."""
        if self.engine == "piper":
            return synthesise_piper(text, rate=self.rate, language=self.language, voice=self.piper)
        return synthesise_espeak(text, self.voice, rate=self.rate, pitch=self.pitch)


ENGINE_NAMES = {"piper": "Piper", "espeak-ng": "eSpeak NG"}
"""Engine id -> the name shown to people."""


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
        piper = "; Piper voices (joe, fr_FR-siwis-medium, ...) need the narration variant local/piper"
        raise ProviderConfigError(
            f"{where}: unknown eSpeak NG voice {voice_id!r}",
            f"use 'default' or an eSpeak voice such as {voices.examples()}{piper}",
        )
    return voice_id.lower()


def _is_piper_voice_name(voice_id: str) -> bool:
    """``joe``, ``en_US-joe-medium`` or a name shaped like a Piper voice (``fr_FR-siwis-medium``)."""
    name = voice_id.strip()
    return name.lower() in PIPER_VOICE_ALIASES - {"default"} or (
        "_" in name.split("-")[0] and name.count("-") >= 2
    )


def _piper_voice(voice_id: str, language: str, where: str) -> PiperVoiceFiles:
    """The Piper voice ``voice_id`` names for ``language``; :class:`ProviderConfigError` if not here."""
    name = voice_id.strip()
    english = language.strip().lower().startswith("en")
    if name.lower() in PIPER_VOICE_ALIASES:
        if name.lower() != "default" and not english:
            raise ProviderConfigError(
                f"{where}: the Piper voice {PIPER_VOICE} speaks English, not {language!r}",
                "set VoiceId to default (the language's Piper voice) or pick the variant local/espeak-ng",
            )
        found = piper_voice_files(language)
    else:
        if not _is_piper_voice_name(name):
            raise ProviderConfigError(
                f"{where}: {voice_id!r} is not a Piper voice",
                "set VoiceId to default, joe or a pulled Piper voice (tutopanda models list), "
                "or pick the narration variant local/espeak-ng for eSpeak voices",
            )
        found = store_piper_voice(name)
        if found is None:
            raise ProviderConfigError(
                f"{where}: the Piper voice {name!r} is not installed",
                f"tutopanda models pull {name}, or set VoiceId to default",
            )
        return found
    if found is None:
        raise ProviderConfigError(
            f"{where}: no Piper voice for language {language!r} is installed",
            f"{missing_voice_hint(language)}, or pick the narration variant local/espeak-ng",
        )
    return found


def plan_speech(
    config: dict[str, Any],
    voice_id: str,
    language: str,
    *,
    default_engine: str = "auto",
    where: str = "narration",
) -> SpeechPlan:
    """Resolve engine, voice, rate and pitch; :class:`ProviderConfigError` for anything unusable.

    ``default_engine`` is the handler's engine (``piper`` or ``espeak``; ``auto`` picks Piper when it
    has a voice for ``language`` here, see :func:`choose_local_speech`). Config ``engine`` may confirm
    it but not contradict it: the engine belongs to the variant's name.
    """
    engine, rate, pitch = speech_settings(config, default_engine=default_engine, where=where)
    if engine == "auto":
        engine = choose_local_speech(language, voice_id).engine
    if engine == "piper":
        files = _piper_voice(voice_id, language, where)
        return SpeechPlan("piper", files.name, rate, pitch, language=language, piper=files)
    voice = _espeak_voice(voice_id.strip(), language, where)
    return SpeechPlan("espeak-ng", voice, rate, pitch, language=language)


def speech_settings(config: Mapping[str, Any], *, default_engine: str, where: str) -> tuple[str, int, int]:
    """The config's engine (``auto`` when it is still to be chosen), words per minute and pitch.

    Checked on their own, without a voice or a text, so the preflight (:meth:`SpeechHandler.check_config`)
    refuses ``wordsPerMinute = 9999`` before any job of the build runs, not at the first narration.
    """
    engine = config.get("engine", "auto")
    if engine not in ENGINES:
        raise ProviderConfigError(
            f"{where}: config engine = {engine!r} is not one of {', '.join(ENGINES)}",
            "leave engine unset (or auto); pick the variant local/piper or local/espeak-ng for the engine",
        )
    if default_engine != "auto" and engine not in ("auto", default_engine):
        variant = "local/piper" if engine == "piper" else "local/espeak-ng"
        raise ProviderConfigError(
            f"{where}: config engine = {engine} contradicts this variant, which speaks with "
            f"{ENGINE_NAMES['piper' if default_engine == 'piper' else 'espeak-ng']}",
            f"pick the narration variant {variant} instead (the engine is part of the variant's name)",
        )
    engine = default_engine if engine == "auto" else engine
    rate = round(config_number(config, "wordsPerMinute", 160, low=80, high=450, where=where))
    pitch = round(config_number(config, "pitch", 50, low=0, high=99, where=where))
    return str(engine), rate, pitch


@dataclass(frozen=True)
class LocalSpeechChoice:
    """The local narration variant a new movie should record, and a warning to show (or None)."""

    model: str
    """``piper`` or ``espeak-ng``: the model of the ``local`` narration variant."""
    engine: str
    voice: str
    warning: str | None

    @property
    def label(self) -> str:
        """``Piper en_US-joe-medium`` or ``eSpeak NG fr``."""
        return f"{ENGINE_NAMES.get(self.engine, self.engine)} {self.voice}"


def choose_local_speech(language: str, voice_id: str = "default") -> LocalSpeechChoice:
    """The best local voice for ``language`` on this machine: Piper when it has a voice for it, else
    eSpeak NG with a one-line warning naming how to get the Piper voice.

    An explicit eSpeak voice (``en-gb-x-rp``) keeps eSpeak, silently; an explicit Piper voice is Piper.
    """
    name = voice_id.strip() or "default"
    if name.lower() != "default" and not _is_piper_voice_name(name):
        return LocalSpeechChoice("espeak-ng", "espeak-ng", name.lower(), None)
    try:
        files = _piper_voice(name, language, "narration")
    except ProviderConfigError:
        files = None
    if files is not None:
        return LocalSpeechChoice("piper", "piper", files.name, None)
    fallback = espeak_voices().default_for(language) or language
    pull = missing_voice_hint(language)
    warning = (
        f"warning: no Piper voice for {language!r} is installed; the narration uses eSpeak NG "
        f"{fallback} (robotic). For a natural voice: {pull}"
    )
    return LocalSpeechChoice("espeak-ng", "espeak-ng", fallback, warning)


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
        store_names = tuple(name for name in store_voice_names("") if name not in piper_names)
        return VoiceSet(provider, model, (*piper_names, *store_names))
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

    def speaks(self, language: str = "en") -> str:
        """What reads ``language`` with this handler here, for listings: ``Piper en_US-joe-medium`` or
        ``eSpeak NG en-us``, or why nothing can (``Piper: not installed (...)``)."""
        try:
            return plan_speech({}, "default", language, default_engine=self.default_engine).label
        except ProviderConfigError as exc:
            engine = ENGINE_NAMES["piper" if self.default_engine == "piper" else "espeak-ng"]
            return f"{engine}: not available ({exc.hint or exc.message})"

    def check_config(self, kind: str, config: Mapping[str, Any]) -> None:
        """The preflight's offline check of a narration config (engine, wordsPerMinute, pitch)."""
        speech_settings(config, default_engine=self.default_engine, where=f"{self.provider}/{self.model}")

    def warm_start(self, secrets: SecretResolver) -> None:
        """Offline check that eSpeak NG's voices are readable and, for Piper, the English model is intact."""
        espeak_voices()
        packaged = packaged_piper_voice()
        if packaged is not None and self.default_engine in ("auto", "piper"):
            verify_piper_model(packaged.model, packaged.sha256, packaged.hint)

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
        diagnostics = {"engine": clip.engine, "voice": clip.voice, "speaker": plan.label}
        return JobResult(artefacts, diagnostics=diagnostics, cost=0.0)
