"""ElevenLabs over HTTP: text-to-speech (``eleven_*`` models, narration) and music (``music_*``, music).

Why httpx and not the ``elevenlabs`` SDK: both calls are one POST answered with audio bytes, the SDK
retries 429/5xx on its own (the runner owns retries here, so a plan's attempt counts stay true) and it
would add ``requests`` and ``websockets`` to the install for nothing.

* **Speech**: ``POST /v1/text-to-speech/{voice_id}?output_format=...`` with ``text``, ``model_id``,
  ``voice_settings`` (only the keys the variant config sets), ``language_code`` (the ``Language``
  input, for the models that take it), ``seed`` (config) and ``previous_text``/``next_text`` (the
  ``PreviousText``/``NextText`` inputs when a blueprint wires them, so a segment is not read cold).
  ``VoiceId`` ``default`` means config ``voiceId``, else :data:`DEFAULT_VOICE_ID`; a voice *name*
  (``Rachel``, ``name:George``) is looked up once per handler in the account's voice list. With config
  ``timestamps: true`` the call goes to ``/with-timestamps`` and the character alignment becomes word
  timings: in the artefact's ``words`` diagnostic, and inside the WAV (the ``tpwt`` chunk the captions
  read, :mod:`tutopanda.providers.local.speech_clip`) when the output is ``pcm_*`` — the default format
  when ``timestamps`` is on (:data:`TIMED_OUTPUT_FORMAT`); an MP3 keeps them in the diagnostics only.
  Cost: priced on the length of the text sent. The ``character-cost`` header is kept as
  ``characterCost`` but not priced: its unit is the account's credits, which differ from characters by
  model and plan.
* **Music**: ``POST /v1/music`` with ``prompt``, ``music_length_ms`` (the ``Duration`` input, clamped to
  the API's 3 s..10 min) and ``model_id``; ``force_instrumental`` when the config sets it.
* **Where**: ``https://api.elevenlabs.io``, a data-residency host (``ELEVENLABS_RESIDENCY`` or config
  ``residency``: ``us``, ``eu``, ``in``), ``ELEVENLABS_BASE_URL`` or config ``baseUrl``.
* **Preflight** (``check_config``, before any job): voice settings in their documented ranges (``speed``
  0.7-1.2), output formats per call (speech: mp3/opus/pcm/wav; music: mp3/opus/pcm, no wav), ``seed``.
* **Errors**: a 429 is either *too many concurrent requests* (the plan's concurrency is used up: retry as
  soon as a slot frees, about a second) or *system busy* / *rate limited* (back off at least
  :data:`BUSY_RETRY_AFTER` seconds); both the legacy ``detail.status`` and the current ``detail.code``
  vocabularies are read. 401 (bad key, ``quota_exceeded``), 402 and 403 stop the run. 5xx, timeouts and
  dropped connections are retried by the runner.
* **Concurrency**: at most :data:`DEFAULT_MAX_IN_FLIGHT` calls at once (the free plan's limit) unless the
  variant config's ``maxInFlight`` says otherwise (Starter 3, Creator 5, Pro 10, Scale/Business 15).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import os
import re
import wave
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from tutopanda.core.engine.provider_contract import JobContext, JobResult, ProducedArtefact, ProviderHandler
from tutopanda.core.errors import ProviderConfigError, ProviderError, RateLimitedError
from tutopanda.core.store.media_type import media_type_of_bytes
from tutopanda.providers.job_inputs import input_int, input_text, requested_artefacts
from tutopanda.providers.live import http
from tutopanda.providers.live.base import LiveHandler
from tutopanda.providers.live.endpoints import Endpoint, resolve_endpoint
from tutopanda.providers.local.speech_clip import WordTiming, text_tokens, with_word_timings
from tutopanda.providers.pricing import PriceTable
from tutopanda.providers.registry import HandlerSpec
from tutopanda.providers.voice_set import DEFAULT_VOICE, VoiceSet

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
TIMED_OUTPUT_FORMAT = "pcm_24000"
"""The speech format when config ``timestamps`` is on and ``outputFormat`` is not set: 16-bit PCM,
wrapped as a WAV that carries the word timings to the captions (any plan may ask for 24 kHz PCM)."""

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
ACCOUNT_CODES = frozenset({"quota_exceeded", "invalid_api_key"})

LANGUAGE_CODE_MODELS = frozenset({"eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_v3"})
"""Models sent ``language_code`` (the API rejects it for ``eleven_multilingual_v2``); config
``sendLanguageCode`` overrides for other models."""

VOICE_SETTINGS: dict[str, tuple[str, str]] = {
    "stability": ("stability", "unit"),
    "similarityBoost": ("similarity_boost", "unit"),
    "style": ("style", "unit"),
    "useSpeakerBoost": ("use_speaker_boost", "bool"),
    "speed": ("speed", "speed"),
}
"""Config key -> (API ``voice_settings`` field, value check)."""

_OUTPUT_FORMAT = re.compile(r"^(?P<codec>mp3|opus|pcm|wav)_(?P<rate>\d{4,6})(?:_(?P<bitrate>\d{2,3}))?$")
_VOICE_ID = re.compile(r"^[A-Za-z0-9]{20}$")
"""The shape of ElevenLabs voice ids; anything else that is a plain name is looked up by name."""
_VOICE_NAME = re.compile(r"^[\w .'()-]{1,64}$")
SPEED_RANGE = (0.7, 1.2)
"""``voice_settings.speed`` bounds the API documents."""
SEED_MAX = 4_294_967_295
MUSIC_CODECS = ("mp3", "opus", "pcm")
SPEECH_CODECS = ("mp3", "opus", "pcm", "wav")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _output_format(config: Mapping[str, Any], where: str, *, speech: bool) -> str | None:
    """Config ``outputFormat`` checked; None when unset. Music has no ``wav_*`` formats; raw ``pcm_*``
    (16-bit mono) is wrapped in a WAV header for both."""
    value = config.get("outputFormat")
    if value is None:
        return None
    match = _OUTPUT_FORMAT.match(value) if isinstance(value, str) else None
    codecs_allowed = SPEECH_CODECS if speech else MUSIC_CODECS
    if match is None or match["codec"] not in codecs_allowed:
        codecs = ", ".join(codecs_allowed)
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
            ok = _is_number(value) and SPEED_RANGE[0] <= value <= SPEED_RANGE[1]
            wanted = f"a number from {SPEED_RANGE[0]} to {SPEED_RANGE[1]} (1 is normal speed)"
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


def word_timings(text: str, alignment: Mapping[str, Any]) -> list[WordTiming]:
    """Word timings from ElevenLabs' character alignment (``characters``,
    ``character_start_times_seconds``, ``character_end_times_seconds``), one per whitespace token of
    ``text``. Empty when the alignment does not spell ``text`` (the words could not be placed)."""
    characters = alignment.get("characters")
    starts = alignment.get("character_start_times_seconds")
    ends = alignment.get("character_end_times_seconds")
    if not (isinstance(characters, list) and isinstance(starts, list) and isinstance(ends, list)):
        return []
    if not len(characters) == len(starts) == len(ends) or "".join(map(str, characters)) != text:
        return []
    words: list[WordTiming] = []
    for start, end, token in text_tokens(text):
        first, last = starts[start], ends[end - 1]
        if not (_is_number(first) and _is_number(last)):
            return []
        words.append(WordTiming(token, float(first), float(last)))
    return words


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
        {
            *VOICE_SETTINGS,
            "outputFormat",
            "voiceId",
            "sendLanguageCode",
            "forceInstrumental",
            "seed",
            "timestamps",
        }
    )
    endpoint_keys: ClassVar[frozenset[str]] = frozenset({"baseUrl", "residency"})
    default_max_in_flight = DEFAULT_MAX_IN_FLIGHT

    def __init__(
        self,
        provider: str,
        model: str,
        environment: str,
        config: Mapping[str, Any] | None = None,
        *,
        base_url: str = BASE_URL,
        prices: PriceTable | None = None,
    ) -> None:
        super().__init__(provider, model, environment, config, prices=prices)
        self.base_url = base_url
        self._voices_by_name: dict[str, str] | None = None
        self._voices_lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def endpoint(self, config: Mapping[str, Any], where: str = "") -> Endpoint:
        """The constructor's ``base_url`` when given, else config/environment (residency), else the API."""
        if self.base_url != BASE_URL:
            return Endpoint(self.provider, self.base_url, "handler")
        return resolve_endpoint("elevenlabs", config, os.environ.get, where=where)

    def check_config(self, kind: str, config: Mapping[str, Any]) -> None:
        """Before any job: keys, ranges and enums the API documents, so nothing is paid for a refusal."""
        super().check_config(kind, config)
        where = f"{self.provider}/{self.model} ({kind})"
        if kind == "narration":
            voice_settings(config, where)
        _output_format(config, where, speech=kind != "music")
        seed = config.get("seed")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX
        ):
            raise ProviderConfigError(
                f"{where}: config seed = {seed!r} is not a whole number from 0 to {SEED_MAX}"
            )
        if kind == "music":
            spoken = sorted(
                key for key in ("seed", "timestamps", "voiceId", *VOICE_SETTINGS) if key in config
            )
            if spoken:
                raise ProviderConfigError(
                    f"{where}: config {spoken[0]} is for speech; the music call does not take it",
                    "remove it from the music variant's config",
                )
        for flag in ("timestamps", "forceInstrumental", "sendLanguageCode"):
            if flag in config and not isinstance(config[flag], bool):
                raise ProviderConfigError(f"{where}: config {flag} = {config[flag]!r} is not true or false")
        self.endpoint(config, where)

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
        """One text-to-speech call: the request checked and built offline, sent, decoded, reported.

        Every input and config problem is raised before the key is read or a byte is sent, so a bad
        variant costs nothing; the steps are split out so each reads on its own.
        """
        where = f"{context.job_id} ({self.provider}/{self.model})"
        config = context.config
        text = input_text(context.inputs, "Text")
        if not text:
            raise ProviderError(f"{where}: the Text input is empty, there is nothing to read")
        timestamps = config.get("timestamps", False)
        # Word timings reach the captions only inside a WAV (the tpwt chunk): timestamps default to PCM.
        default_format = TIMED_OUTPUT_FORMAT if timestamps else DEFAULT_OUTPUT_FORMAT
        output_format = _output_format(config, where, speech=True) or default_format
        endpoint = self.endpoint(config, where)
        voice = self._voice(context, where)
        body = self._speech_body(context, text, where)

        key = self.api_key(context)
        async with http.client(
            base_url=endpoint.base_url, headers={"xi-api-key": key}, timeout=SPEECH_TIMEOUT
        ) as client:
            voice_id = await self._voice_id(client, voice, key, where)
            path = f"/v1/text-to-speech/{voice_id}" + ("/with-timestamps" if timestamps else "")
            response = await http.send(
                client,
                "POST",
                path,
                provider=self.provider,
                params={"output_format": output_format},
                json=body,
            )
        self._raise_for_response(response, "text-to-speech", key)
        data, mime_type, words = self._speech_audio(response, text, output_format, timestamps, where)
        usage = {"characters": float(len(text))}
        diagnostics = self._speech_diagnostics(
            response, body, voice=(voice, voice_id), output=(output_format, data, mime_type), words=words
        )
        return self._audio_result(context, data, mime_type, usage, diagnostics)

    def _speech_body(self, context: JobContext, text: str, where: str) -> dict[str, Any]:
        """The JSON of a speech call: text, model, neighbours, seed, voice settings, language.

        Built (and its config checked) before the key is read, so a bad ``sendLanguageCode`` or voice
        setting is refused offline. The neighbouring segments' text goes only when it says something,
        so a segment is not read cold.
        """
        config = context.config
        body: dict[str, Any] = {"text": text, "model_id": self.model}
        for alias, field in (("PreviousText", "previous_text"), ("NextText", "next_text")):
            neighbour = input_text(context.inputs, alias, "")
            if neighbour.strip():
                body[field] = neighbour
        if config.get("seed") is not None:
            body["seed"] = config["seed"]
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
        return body

    def _speech_audio(
        self, response: httpx.Response, text: str, output_format: str, timestamps: bool, where: str
    ) -> tuple[bytes, str, list[WordTiming] | None]:
        """The audio bytes, their type, and the word timings (None: not asked for) of a speech answer.

        A timestamped answer is JSON (base64 audio plus a character alignment); its word timings are
        written into a WAV's ``tpwt`` chunk, the only place the captions read them from.
        """
        if not timestamps:
            data, mime_type = self._audio(response, output_format, where)
            return data, mime_type, None
        raw, alignment = self._timestamped(response, where)
        data, mime_type = self._audio_bytes(raw, output_format, where, response)
        words = word_timings(text, alignment)
        if words and mime_type == "audio/wav":
            data = with_word_timings(data, words)
        return data, mime_type, words

    def _speech_diagnostics(
        self,
        response: httpx.Response,
        body: Mapping[str, Any],
        *,
        voice: tuple[str, str],
        output: tuple[str, bytes, str],
        words: list[WordTiming] | None,
    ) -> dict[str, Any]:
        """What a speech call sent and got back, for the event diagnostics (and so ``build status``).

        ``voice`` is (asked for, id used), ``output`` (format, bytes, media type). ``characterCost`` is
        the header's figure in the account's credits, kept for the user but not priced (see the module
        docstring): the bill is priced on the text length.
        """
        (voice_asked, voice_id), (output_format, data, mime_type) = voice, output
        characters = len(body["text"])
        diagnostics: dict[str, Any] = {
            **self._response_diagnostics(response),
            "voiceId": voice_id,
            "model": self.model,
            "outputFormat": output_format,
            "characters": characters,
            "characterSource": "text length",
            "bytes": len(data),
        }
        credits = _header_int(response, "character-cost")
        if credits is not None:
            diagnostics["characterCost"] = credits
        if voice_id != voice_asked:
            diagnostics["voiceName"] = voice_asked
        if words is not None:
            diagnostics["words"] = [
                {"text": w.text, "start": round(w.start, 3), "end": round(w.stop, 3)} for w in words
            ]
            diagnostics["wordTimingsInAudio"] = bool(words) and mime_type == "audio/wav"
        for field in ("previous_text", "next_text", "seed"):
            if field in body:
                diagnostics[field] = body[field] if field == "seed" else len(body[field])
        if "language_code" in body:
            diagnostics["languageCode"] = body["language_code"]
        if body.get("voice_settings"):
            diagnostics["voiceSettings"] = body["voice_settings"]
        return diagnostics

    def _voice(self, context: JobContext, where: str) -> str:
        """The voice id or name asked for (``default`` -> config ``voiceId`` -> George); checked offline."""
        voice = input_text(context.inputs, "VoiceId", DEFAULT_VOICE)
        if voice.lower() == DEFAULT_VOICE:
            configured = context.config.get("voiceId", DEFAULT_VOICE_ID)
            if not isinstance(configured, str):
                raise ProviderConfigError(f"{where}: config voiceId = {configured!r} is not a voice id")
            voice = configured
        name = voice.removeprefix("name:").strip()
        if not _VOICE_ID.match(voice) and not _VOICE_NAME.match(name):
            raise ProviderConfigError(
                f"{where}: {voice!r} is not an ElevenLabs voice id or name",
                "use the voice's id (20 letters and digits, e.g. JBFqnCBsd6RMkjVDRZzb), its name "
                "(e.g. George), or 'default'",
            )
        return voice

    async def _voice_id(self, client: httpx.AsyncClient, voice: str, key: str, where: str) -> str:
        """``voice`` when it is an id; a name is looked up in the account's voices (listed once)."""
        if _VOICE_ID.match(voice) and not voice.startswith("name:"):
            return voice
        name = voice.removeprefix("name:").strip()
        voices = await self._voice_list(client, key)
        found = voices.get(name.casefold())
        if found is None:
            matches = {
                vid for label, vid in voices.items() if label.split(" - ")[0].strip() == name.casefold()
            }
            found = matches.pop() if len(matches) == 1 else None
        if found is None:
            names = ", ".join(sorted(voices)[:12]) or "(none)"
            raise ProviderConfigError(
                f"{where}: the ElevenLabs account has no voice named {name!r}",
                f"voices (by name, lower case): {names}",
            )
        return found

    async def _voice_list(self, client: httpx.AsyncClient, key: str) -> dict[str, str]:
        """Lower-case voice name -> id, from ``GET /v1/voices``, once per handler (jobs share one call)."""
        loop = asyncio.get_running_loop()
        if self._voices_lock is None or self._lock_loop is not loop:
            self._voices_lock, self._lock_loop = asyncio.Lock(), loop
        async with self._voices_lock:
            if self._voices_by_name is not None:
                return self._voices_by_name
            response = await http.send(client, "GET", "/v1/voices", provider=self.provider)
            self._raise_for_response(response, "voice list", key)
            try:
                listed = response.json().get("voices")
            except (ValueError, UnicodeDecodeError, AttributeError):
                listed = None
            if not isinstance(listed, list):
                raise ProviderError(f"{self.provider} voice list: the answer has no voices", retryable=True)
            self._voices_by_name = {
                str(item["name"]).casefold(): str(item["voice_id"])
                for item in listed
                if isinstance(item, dict) and item.get("name") and item.get("voice_id")
            }
            return self._voices_by_name

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
        endpoint = self.endpoint(config, where)

        key = self.api_key(context)
        async with http.client(
            base_url=endpoint.base_url, headers={"xi-api-key": key}, timeout=MUSIC_TIMEOUT
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

    def _timestamped(self, response: httpx.Response, where: str) -> tuple[bytes, Mapping[str, Any]]:
        """The audio and the character alignment of a ``with-timestamps`` answer."""
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        encoded = body.get("audio_base64") if isinstance(body, dict) else None
        if not isinstance(encoded, str) or not encoded:
            raise ProviderError(f"{where}: the timestamped answer has no audio_base64", retryable=True)
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ProviderError(
                f"{where}: the timestamped answer's audio is not base64", retryable=True
            ) from None
        assert isinstance(body, dict)
        alignment = body.get("alignment")
        return raw, alignment if isinstance(alignment, dict) else {}

    def _audio(self, response: httpx.Response, output_format: str | None, where: str) -> tuple[bytes, str]:
        """The response's audio and its media type, sniffed from the bytes (raw PCM wrapped as WAV)."""
        return self._audio_bytes(response.content, output_format, where, response)

    def _audio_bytes(
        self, data: bytes, output_format: str | None, where: str, response: httpx.Response
    ) -> tuple[bytes, str]:
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
    return ElevenLabsHandler(spec.provider, spec.model, spec.environment, prices=spec.prices)
