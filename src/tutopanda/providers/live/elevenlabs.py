"""ElevenLabs over HTTP: text-to-speech (``eleven_*`` models, narration) and music (``music_*``, music).

Why httpx and not the ``elevenlabs`` SDK: both calls are one POST answered with audio bytes, the SDK
retries 429/5xx on its own (the runner owns retries here, so a plan's attempt counts stay true) and it
would add ``requests`` and ``websockets`` to the install for nothing.

* **Speech**: ``POST /v1/text-to-speech/{voice_id}?output_format=...`` with ``text``, ``model_id``,
  ``voice_settings`` (only the keys the variant config sets) and ``language_code`` (the ``Language``
  input, for the models that take it). ``VoiceId`` ``default`` means config ``voiceId``, else
  :data:`DEFAULT_VOICE_ID`. Billed characters come from the ``character-cost`` response header, else the
  length of the text.
* **Music**: ``POST /v1/music`` with ``prompt``, ``music_length_ms`` (the ``Duration`` input, clamped to
  the API's 3 s..10 min) and ``model_id``; ``force_instrumental`` when the config sets it.
* **Errors**: a 429 is either *too many concurrent requests* (the plan's concurrency is used up: retry as
  soon as a slot frees, about a second) or *system busy* / *rate limited* (back off at least
  :data:`BUSY_RETRY_AFTER` seconds); both the legacy ``detail.status`` and the current ``detail.code``
  vocabularies are read. 401 (bad key, ``quota_exceeded``), 402 and 403 stop the run. 5xx, timeouts and
  dropped connections are retried by the runner.
* **Concurrency**: at most :data:`DEFAULT_MAX_IN_FLIGHT` calls at once (the free plan's limit) unless the
  variant config's ``maxInFlight`` says otherwise (Starter 3, Creator 5, Pro 10, Scale/Business 15).
"""

from __future__ import annotations

import io
import re
import wave
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from tutopanda.core.errors import ProviderConfigError, ProviderError, RateLimitedError
from tutopanda.core.media_type import media_type_of_bytes
from tutopanda.core.provider_contract import JobContext, JobResult, ProducedArtefact, ProviderHandler
from tutopanda.providers.job_inputs import input_int, input_text, requested_artefacts
from tutopanda.providers.live import http
from tutopanda.providers.live.base import LiveHandler
from tutopanda.providers.registry import HandlerSpec
from tutopanda.providers.voices import DEFAULT_VOICE, VoiceSet

__all__ = [
    "BASE_URL",
    "BUSY_RETRY_AFTER",
    "CONCURRENT_RETRY_AFTER",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_MUSIC_SECONDS",
    "DEFAULT_OUTPUT_FORMAT",
    "DEFAULT_VOICE_ID",
    "ElevenLabsHandler",
    "build_handler",
]

BASE_URL = "https://api.elevenlabs.io"

DEFAULT_VOICE_ID = "JBFqnCBsd6RMkjVDRZzb"
""""George", a premade voice ElevenLabs uses in its own examples; read when ``VoiceId`` is ``default``
and the variant config sets no ``voiceId``."""

DEFAULT_OUTPUT_FORMAT = "mp3_44100_128"
"""The speech ``output_format`` when config ``outputFormat`` is not set (the API's own default)."""

DEFAULT_MAX_IN_FLIGHT = 2
"""Concurrent requests of the free plan; config ``maxInFlight`` raises it to the account's plan."""

CONCURRENT_RETRY_AFTER = 1.0
"""Seconds to wait after "too many concurrent requests": one of our own calls will finish soon."""

BUSY_RETRY_AFTER = 5.0
"""Least seconds to wait after "system busy" / "rate limit exceeded" (server load: back off)."""

DEFAULT_MUSIC_SECONDS = 30
"""Music length when the job has no usable ``Duration`` input."""

MUSIC_MIN_MS = 3_000
MUSIC_MAX_MS = 600_000
"""``music_length_ms`` bounds of ``POST /v1/music``."""

TYPICAL_NARRATION_CHARACTERS = 400
"""Characters of a typical narration segment (about 25 s of speech), for plan estimates."""

SPEECH_TIMEOUT = httpx.Timeout(180.0, connect=15.0)
MUSIC_TIMEOUT = httpx.Timeout(600.0, connect=15.0)
"""Music is composed within the one request, so its answer can take minutes."""

CONCURRENT_CODES = frozenset({"too_many_concurrent_requests", "concurrent_limit_exceeded"})
BUSY_CODES = frozenset({"system_busy", "rate_limit_exceeded"})
ACCOUNT_CODES = frozenset({"quota_exceeded", "invalid_api_key"})

LANGUAGE_CODE_MODELS = frozenset({"eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_v3"})
"""Models sent ``language_code`` (the API rejects it for ``eleven_multilingual_v2``); config
``sendLanguageCode`` overrides for other models."""

VOICE_SETTINGS: dict[str, tuple[str, str]] = {
    "stability": ("stability", "unit"),
    "similarityBoost": ("similarity_boost", "unit"),
    "style": ("style", "unit"),
    "useSpeakerBoost": ("use_speaker_boost", "bool"),
    "speed": ("speed", "positive"),
}
"""Config key -> (API ``voice_settings`` field, value check)."""

_OUTPUT_FORMAT = re.compile(r"^(?P<codec>mp3|opus|pcm|wav)_(?P<rate>\d{4,6})(?:_(?P<bitrate>\d{2,3}))?$")
_VOICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _output_format(config: Mapping[str, Any], where: str, *, speech: bool) -> str | None:
    """Config ``outputFormat`` checked; None when unset. Raw ``pcm_*`` is for speech only (it is wrapped
    as mono WAV, and the channel layout of raw music is not documented)."""
    value = config.get("outputFormat")
    if value is None:
        return None
    match = _OUTPUT_FORMAT.match(value) if isinstance(value, str) else None
    if match is None or (match["codec"] == "pcm" and not speech):
        codecs = "mp3, opus, pcm or wav" if speech else "mp3, opus or wav"
        raise ProviderConfigError(
            f"{where}: config outputFormat = {value!r} is not an ElevenLabs output format the pipeline "
            "can use here",
            f"use codec_samplerate[_bitrate] with codec {codecs}, e.g. mp3_44100_128 or wav_44100 "
            "(telephony ulaw/alaw are not supported)",
        )
    return match.string


def voice_settings(config: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The ``voice_settings`` body from the camelCase config keys that are set (empty when none is)."""
    settings: dict[str, Any] = {}
    for key, (field, check) in VOICE_SETTINGS.items():
        if key not in config:
            continue
        value = config[key]
        if check == "bool":
            ok = isinstance(value, bool)
            wanted = "true or false"
        elif check == "unit":
            ok = _is_number(value) and 0 <= value <= 1
            wanted = "a number from 0 to 1"
        else:
            ok = _is_number(value) and value > 0
            wanted = "a number > 0 (1 is normal speed)"
        if not ok:
            raise ProviderConfigError(
                f"{where}: config {key} = {value!r} is not {wanted}", f"set {key} to {wanted}"
            )
        settings[field] = value
    return settings


def _language_code(language: str) -> str:
    """``en-US`` / ``en_us`` / ``EN`` -> ``en`` (ISO 639-1, as the API wants)."""
    return re.split(r"[-_]", language.strip(), maxsplit=1)[0].lower()


def _wav_from_pcm(pcm: bytes, sample_rate: int) -> bytes:
    """Raw 16-bit little-endian mono PCM (the ``pcm_*`` formats) wrapped in a WAV header."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(pcm[: len(pcm) - len(pcm) % 2])
    return buffer.getvalue()


def _header_int(response: httpx.Response, name: str) -> int | None:
    raw = response.headers.get(name, "").strip()
    return int(raw) if raw.isdigit() else None


def error_codes(response: httpx.Response) -> frozenset[str]:
    """``detail.code`` and ``detail.status`` of an error body (current and legacy vocabularies)."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return frozenset()
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, dict):
        return frozenset()
    return frozenset(str(detail[key]) for key in ("code", "status") if isinstance(detail.get(key), str))


class ElevenLabsHandler(LiveHandler):
    """``narration`` (text-to-speech) and ``music`` jobs on ElevenLabs (see the module docstring)."""

    secret_name = "ELEVENLABS_API_KEY"
    secret_hint = "https://elevenlabs.io/app/settings/api-keys"
    kinds = frozenset({"narration", "music"})
    config_keys: ClassVar[frozenset[str] | None] = frozenset(
        {*VOICE_SETTINGS, "outputFormat", "voiceId", "sendLanguageCode", "forceInstrumental"}
    )
    default_max_in_flight = DEFAULT_MAX_IN_FLIGHT

    def __init__(
        self,
        provider: str,
        model: str,
        environment: str,
        config: Mapping[str, Any] | None = None,
        *,
        base_url: str = BASE_URL,
    ) -> None:
        super().__init__(provider, model, environment, config)
        self.base_url = base_url

    def voices(self) -> VoiceSet | None:
        """None: any voice id is accepted here (ElevenLabs checks it; an unknown id fails the job with
        its ``voice_not_found`` message). Listing an account's voices needs the network and the key."""
        return None

    def typical_usage(self, kind: str, config: Mapping[str, Any], produces: int) -> Mapping[str, float]:
        if kind == "music":
            return {"seconds": float(DEFAULT_MUSIC_SECONDS)}
        return {"characters": float(TYPICAL_NARRATION_CHARACTERS)}

    async def produce(self, context: JobContext) -> JobResult:
        """Speech for ``narration`` jobs, a composed track for ``music`` jobs."""
        if context.kind == "music":
            return await self._music(context)
        if context.kind == "narration":
            return await self._speech(context)
        raise ProviderConfigError(
            f"{context.job_id}: {self.provider}/{self.model} makes narration and music, not {context.kind}"
        )

    # -- speech ------------------------------------------------------------------------------------

    async def _speech(self, context: JobContext) -> JobResult:
        where = f"{context.job_id} ({self.provider}/{self.model})"
        config = context.config
        text = input_text(context.inputs, "Text")
        if not text:
            raise ProviderError(f"{where}: the Text input is empty, there is nothing to read")
        output_format = _output_format(config, where, speech=True) or DEFAULT_OUTPUT_FORMAT
        voice_id = self._voice_id(context, where)
        body: dict[str, Any] = {"text": text, "model_id": self.model}
        settings = voice_settings(config, where)
        if settings:
            body["voice_settings"] = settings
        language = input_text(context.inputs, "Language")
        send_language = config.get("sendLanguageCode", self.model in LANGUAGE_CODE_MODELS)
        if not isinstance(send_language, bool):
            raise ProviderConfigError(
                f"{where}: config sendLanguageCode = {send_language!r} is not true or false",
                "remove sendLanguageCode to send the language to the models known to take it",
            )
        if send_language and language:
            body["language_code"] = _language_code(language)

        key = self.api_key(context)
        async with http.client(
            base_url=self.base_url, headers={"xi-api-key": key}, timeout=SPEECH_TIMEOUT
        ) as client:
            response = await http.send(
                client,
                "POST",
                f"/v1/text-to-speech/{voice_id}",
                provider=self.provider,
                params={"output_format": output_format},
                json=body,
            )
        self._raise_for_response(response, "text-to-speech", key)
        data, mime_type = self._audio(response, output_format, where)
        characters = _header_int(response, "character-cost")
        usage = {"characters": float(characters if characters is not None else len(text))}
        diagnostics = {
            **self._response_diagnostics(response),
            "voiceId": voice_id,
            "model": self.model,
            "outputFormat": output_format,
            "characters": int(usage["characters"]),
            "characterSource": "character-cost header" if characters is not None else "text length",
            "bytes": len(data),
        }
        if "language_code" in body:
            diagnostics["languageCode"] = body["language_code"]
        if settings:
            diagnostics["voiceSettings"] = settings
        return self._audio_result(context, data, mime_type, usage, diagnostics)

    def _voice_id(self, context: JobContext, where: str) -> str:
        voice = input_text(context.inputs, "VoiceId", DEFAULT_VOICE)
        if voice.lower() == DEFAULT_VOICE:
            configured = context.config.get("voiceId", DEFAULT_VOICE_ID)
            if not isinstance(configured, str):
                raise ProviderConfigError(f"{where}: config voiceId = {configured!r} is not a voice id")
            voice = configured
        if not _VOICE_ID.match(voice):
            raise ProviderConfigError(
                f"{where}: {voice!r} is not an ElevenLabs voice id",
                "use the voice's id (letters and digits, e.g. JBFqnCBsd6RMkjVDRZzb) from the ElevenLabs "
                "voice library, or 'default'",
            )
        return voice

    # -- music -------------------------------------------------------------------------------------

    async def _music(self, context: JobContext) -> JobResult:
        where = f"{context.job_id} ({self.provider}/{self.model})"
        config = context.config
        prompt = input_text(context.inputs, "Prompt")
        if not prompt:
            raise ProviderError(f"{where}: the Prompt input is empty, there is nothing to compose")
        seconds = input_int(context.inputs, "Duration", DEFAULT_MUSIC_SECONDS)
        length_ms = min(max(seconds * 1000, MUSIC_MIN_MS), MUSIC_MAX_MS)
        body: dict[str, Any] = {"prompt": prompt, "music_length_ms": length_ms, "model_id": self.model}
        if "forceInstrumental" in config:
            instrumental = config["forceInstrumental"]
            if not isinstance(instrumental, bool):
                raise ProviderConfigError(
                    f"{where}: config forceInstrumental = {instrumental!r} is not true or false"
                )
            body["force_instrumental"] = instrumental
        output_format = _output_format(config, where, speech=False)
        params = {"output_format": output_format} if output_format else {}

        key = self.api_key(context)
        async with http.client(
            base_url=self.base_url, headers={"xi-api-key": key}, timeout=MUSIC_TIMEOUT
        ) as client:
            response = await http.send(
                client, "POST", "/v1/music", provider=self.provider, params=params, json=body
            )
        self._raise_for_response(response, "music", key)
        data, mime_type = self._audio(response, output_format, where)
        usage = {"seconds": length_ms / 1000}
        diagnostics: dict[str, Any] = {
            **self._response_diagnostics(response),
            "model": self.model,
            "outputFormat": output_format or "auto",
            "musicLengthMs": length_ms,
            "bytes": len(data),
        }
        if length_ms != seconds * 1000:
            diagnostics["requestedSeconds"] = seconds
        if "force_instrumental" in body:
            diagnostics["forceInstrumental"] = body["force_instrumental"]
        song_id = response.headers.get("song-id")
        if song_id:
            diagnostics["songId"] = song_id
        return self._audio_result(context, data, mime_type, usage, diagnostics)

    # -- shared ------------------------------------------------------------------------------------

    def _raise_for_response(self, response: httpx.Response, what: str, key: str) -> None:
        """The runner's error for a failed response (see the module docstring); quiet on success."""
        if response.is_success:
            return
        codes = error_codes(response)
        request_id = response.headers.get("request-id")
        suffix = f" (request id {request_id})" if request_id else ""
        if response.status_code == 429 and not codes & ACCOUNT_CODES:
            message, code = http.error_detail(response)
            text = http.redact(
                f"{self.provider} {what}: HTTP 429: {message}" + (f" ({code})" if code else ""), [key]
            )
            wait = http.retry_after_of(response)
            if codes & CONCURRENT_CODES:
                ceiling = _header_int(response, "maximum-concurrent-requests")
                plan = f"the account allows {ceiling} at once; " if ceiling else ""
                raise RateLimitedError(
                    text,
                    f"more requests than the ElevenLabs plan's concurrency; {plan}the runner retries when "
                    f"a slot frees (set maxInFlight in the variant config to your plan's limit){suffix}",
                    retry_after=wait if wait is not None else CONCURRENT_RETRY_AFTER,
                )
            raise RateLimitedError(
                text,
                f"ElevenLabs is busy or rate-limiting; the runner backs off and retries{suffix}",
                retry_after=max(wait or 0.0, BUSY_RETRY_AFTER),
            )
        hint = self.account_hint
        if "quota_exceeded" in codes:
            hint = (
                "the ElevenLabs account has too few credits left for this request: wait for the plan's "
                "monthly reset or upgrade the plan, then build again (paid artefacts are kept)"
            )
        http.raise_for_response(
            response,
            provider=self.provider,
            what=what,
            account_hint=hint,
            account_codes=ACCOUNT_CODES,
            secrets=[key],
        )

    def _audio(self, response: httpx.Response, output_format: str | None, where: str) -> tuple[bytes, str]:
        """The response's audio and its media type, sniffed from the bytes (raw PCM wrapped as WAV)."""
        data = response.content
        if not data:
            raise ProviderError(f"{where}: ElevenLabs answered with no audio", retryable=True)
        match = _OUTPUT_FORMAT.match(output_format or "")
        if match and match["codec"] == "pcm":
            return _wav_from_pcm(data, int(match["rate"])), "audio/wav"
        mime_type = media_type_of_bytes(data[:512])
        if not mime_type.startswith("audio/"):
            raise ProviderError(
                f"{where}: ElevenLabs answered {response.headers.get('content-type', 'without a type')} "
                f"that is not audio (sniffed {mime_type})"
            )
        return data, mime_type

    @staticmethod
    def _response_diagnostics(response: httpx.Response) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if response.headers.get("request-id"):
            found["requestId"] = response.headers["request-id"]
        for header, name in (
            ("current-concurrent-requests", "currentConcurrentRequests"),
            ("maximum-concurrent-requests", "maximumConcurrentRequests"),
        ):
            value = _header_int(response, header)
            if value is not None:
                found[name] = value
        return found

    def _audio_result(
        self,
        context: JobContext,
        data: bytes,
        mime_type: str,
        usage: Mapping[str, float],
        diagnostics: Mapping[str, Any],
    ) -> JobResult:
        artefacts = [
            ProducedArtefact(
                requested.artefact_id,
                mime_type=mime_type,
                data=data,
                diagnostics={"mimeType": mime_type, **diagnostics},
            )
            if requested.kind == "audio"
            else ProducedArtefact(
                requested.artefact_id,
                status="failed",
                error=f"{self.provider}/{self.model} cannot make a {requested.kind}",
            )
            for requested in requested_artefacts(context)
        ]
        return self.result(artefacts, usage, diagnostics)


def build_handler(spec: HandlerSpec) -> ProviderHandler:
    """The ElevenLabs handler for ``spec`` (no network: the key is checked by ``warm_start``)."""
    return ElevenLabsHandler(spec.provider, spec.model, spec.environment)
