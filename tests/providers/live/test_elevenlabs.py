"""ElevenLabs speech and music over HTTP, against respx-mocked API answers (no network)."""

from __future__ import annotations

import asyncio
import io
import json
import wave
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx
import pytest
import respx

from tutopanda.core.engine.provider_contract import EnvSecretResolver, JobContext, JobResult, ProviderHandler
from tutopanda.core.errors import (
    ProviderAccountError,
    ProviderConfigError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
)
from tutopanda.providers import HandlerSpec, default_registry
from tutopanda.providers.live.elevenlabs import (
    BUSY_RETRY_AFTER,
    CONCURRENT_RETRY_AFTER,
    DEFAULT_OUTPUT_FORMAT,
    DEFAULT_VOICE_ID,
    ElevenLabsHandler,
    build_handler,
)
from tutopanda.providers.voices import voices_for
from tutopanda.testing import ProviderContractTests, check_payload, make_job_context

KEY = "xi-canary-4b1d9e7f02"
API = "https://api.elevenlabs.io"
TTS = f"{API}/v1/text-to-speech"
MUSIC = f"{API}/v1/music"
VOICE = "EXAVITQu4vr4xnSDxMaL"
TEXT = "Magma rises because it is lighter than the rock around it."
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(400)
NARRATION_OUT = ("Artifact:Narration.SegmentAudio[0]", "audio")
MUSIC_OUT = ("Artifact:Music.Music", "audio")


def speech_context(
    *,
    model: str = "eleven_flash_v2_5",
    voice: str = VOICE,
    language: str = "en",
    text: str = TEXT,
    config: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> JobContext:
    return make_job_context(
        "narration",
        [NARRATION_OUT],
        inputs={"Text": text, "VoiceId": voice, "Language": language, "Emotion": "neutral"},
        job_id="Producer:Narration.Narrator[0]",
        provider="elevenlabs",
        model=model,
        mode="live",
        config=config,
        secrets={"ELEVENLABS_API_KEY": KEY} if secrets is None else secrets,
    )


def music_context(
    *, duration: object = 12, prompt: str = "calm ambient piano", config: Mapping[str, Any] | None = None
) -> JobContext:
    return make_job_context(
        "music",
        [MUSIC_OUT],
        inputs={"Prompt": prompt, "Duration": duration},
        job_id="Producer:Music.Composer",
        provider="elevenlabs",
        model="music_v1",
        mode="live",
        config=config,
        secrets={"ELEVENLABS_API_KEY": KEY},
    )


def handler(model: str = "eleven_flash_v2_5", config: Mapping[str, Any] | None = None) -> ElevenLabsHandler:
    return ElevenLabsHandler("elevenlabs", model, "local", config)


def run(context: JobContext, model: str | None = None) -> JobResult:
    return asyncio.run(handler(model or context.model).produce(context))


def failure(context: JobContext) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        run(context)
    error = caught.value
    assert KEY not in f"{error.message} {error.hint}"
    return error


def audio(headers: Mapping[str, str] | None = None, content: bytes = MP3) -> httpx.Response:
    return httpx.Response(200, content=content, headers={"content-type": "audio/mpeg", **(headers or {})})


def error(status: int, detail: Mapping[str, Any], **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"detail": dict(detail)}, headers=headers)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


# -- speech ----------------------------------------------------------------------------------------


def test_speech_sends_voice_format_key_settings_and_language(api: respx.MockRouter) -> None:
    route = api.post(f"{TTS}/{VOICE}").mock(return_value=audio())
    config = {
        "outputFormat": "mp3_22050_32",
        "stability": 0.4,
        "similarityBoost": 0.8,
        "style": 0.1,
        "useSpeakerBoost": False,
        "speed": 1.1,
        "maxInFlight": 3,
    }
    run(speech_context(language="fr-FR", config=config))

    request = route.calls.last.request
    assert request.url.path == f"/v1/text-to-speech/{VOICE}"
    assert dict(request.url.params) == {"output_format": "mp3_22050_32"}
    assert request.headers["xi-api-key"] == KEY
    assert json.loads(request.content) == {
        "text": TEXT,
        "model_id": "eleven_flash_v2_5",
        "voice_settings": {
            "stability": 0.4,
            "similarity_boost": 0.8,
            "style": 0.1,
            "use_speaker_boost": False,
            "speed": 1.1,
        },
        "language_code": "fr",
    }


def test_default_voice_and_format_and_no_language_for_multilingual_v2(api: respx.MockRouter) -> None:
    route = api.post(f"{TTS}/{DEFAULT_VOICE_ID}").mock(return_value=audio())
    run(speech_context(model="eleven_multilingual_v2", voice="default", language="de"))

    request = route.calls.last.request
    assert request.url.params["output_format"] == DEFAULT_OUTPUT_FORMAT == "mp3_44100_128"
    assert json.loads(request.content) == {"text": TEXT, "model_id": "eleven_multilingual_v2"}


def test_default_voice_id_comes_from_config_when_set(api: respx.MockRouter) -> None:
    route = api.post(f"{TTS}/pNInz6obpgDQGcFmaJgB").mock(return_value=audio())
    run(speech_context(voice="Default", config={"voiceId": "pNInz6obpgDQGcFmaJgB"}))
    assert route.call_count == 1


def test_send_language_code_can_be_forced_either_way(api: respx.MockRouter) -> None:
    route = api.post(f"{TTS}/{VOICE}").mock(return_value=audio())
    run(speech_context(model="eleven_multilingual_v2", language="es", config={"sendLanguageCode": True}))
    assert json.loads(route.calls.last.request.content)["language_code"] == "es"
    run(speech_context(language="es", config={"sendLanguageCode": False}))
    assert "language_code" not in json.loads(route.calls.last.request.content)


def test_speech_result_sniffs_mime_and_reports_request_characters_and_cost(api: respx.MockRouter) -> None:
    api.post(f"{TTS}/{VOICE}").mock(
        return_value=audio(
            {
                "content-type": "application/octet-stream",  # the bytes decide, not the header
                "request-id": "req-abc123",
                "character-cost": "2000",
                "maximum-concurrent-requests": "5",
            }
        )
    )
    result = run(speech_context())

    [artefact] = result.artefacts
    assert artefact.status == "succeeded" and artefact.mime_type == "audio/mpeg"
    assert artefact.data == MP3
    check_payload(MP3, artefact.mime_type, "audio")
    assert result.diagnostics["requestId"] == artefact.diagnostics["requestId"] == "req-abc123"
    # priced on the text sent; the header (credits, whose rate per character varies) is only recorded
    assert result.diagnostics["characters"] == len(TEXT)
    assert result.diagnostics["characterCost"] == 2000
    assert result.diagnostics["usage"] == {"characters": float(len(TEXT))}
    assert result.diagnostics["voiceId"] == VOICE
    assert result.diagnostics["model"] == "eleven_flash_v2_5"
    assert result.diagnostics["outputFormat"] == DEFAULT_OUTPUT_FORMAT
    assert result.diagnostics["maximumConcurrentRequests"] == 5
    assert result.cost == pytest.approx(len(TEXT) * 0.05 / 1000)  # flash: $0.05 per 1k characters


def test_speech_without_character_cost_counts_the_text(api: respx.MockRouter) -> None:
    api.post(f"{TTS}/{VOICE}").mock(return_value=audio())
    result = run(speech_context(model="eleven_multilingual_v2"))
    assert result.diagnostics["characters"] == len(TEXT)
    assert result.cost == pytest.approx(len(TEXT) * 0.10 / 1000)


def test_raw_pcm_is_wrapped_as_a_playable_wav(api: respx.MockRouter) -> None:
    pcm = bytes(range(256)) * 40
    api.post(f"{TTS}/{VOICE}").mock(return_value=httpx.Response(200, content=pcm))
    [artefact] = run(speech_context(config={"outputFormat": "pcm_24000"})).artefacts

    assert artefact.mime_type == "audio/wav" and artefact.data is not None
    check_payload(artefact.data, "audio/wav", "audio")
    with wave.open(io.BytesIO(artefact.data)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, 24000)
        assert reader.readframes(reader.getnframes()) == pcm


def test_an_answer_that_is_not_audio_fails_the_job(api: respx.MockRouter) -> None:
    api.post(f"{TTS}/{VOICE}").mock(return_value=httpx.Response(200, json={"ok": True}))
    assert not failure(speech_context()).retryable


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({"stability": 1.5}, "stability"),
        ({"similarityBoost": "high"}, "similarityBoost"),
        ({"useSpeakerBoost": 1}, "useSpeakerBoost"),
        ({"speed": 0}, "speed"),
        ({"outputFormat": "ulaw_8000"}, "outputFormat"),
        ({"sendLanguageCode": "yes"}, "sendLanguageCode"),
    ],
)
def test_bad_config_is_refused_before_any_call(
    api: respx.MockRouter, config: dict[str, Any], needle: str
) -> None:
    route = api.post(url__startswith=TTS).mock(return_value=audio())
    with pytest.raises(ProviderConfigError, match=needle):
        run(speech_context(config=config))
    assert route.call_count == 0


def test_empty_text_and_a_malformed_voice_id_are_refused_before_any_call(api: respx.MockRouter) -> None:
    route = api.post(url__startswith=TTS).mock(return_value=audio())
    with pytest.raises(ProviderError, match="Text input is empty"):
        run(speech_context(text="  "))
    with pytest.raises(ProviderConfigError, match="voice id"):
        run(speech_context(voice="../v1/user"))
    assert route.call_count == 0


# -- music -----------------------------------------------------------------------------------------


def test_music_sends_prompt_length_model_and_instrumental(api: respx.MockRouter) -> None:
    route = api.post(MUSIC).mock(return_value=audio({"request-id": "mus-1", "song-id": "song-9"}))
    result = run(music_context(config={"forceInstrumental": True}))

    request = route.calls.last.request
    assert request.headers["xi-api-key"] == KEY
    assert "output_format" not in request.url.params  # the API picks per model ("auto")
    assert json.loads(request.content) == {
        "prompt": "calm ambient piano",
        "music_length_ms": 12_000,
        "model_id": "music_v1",
        "force_instrumental": True,
    }
    [artefact] = result.artefacts
    assert artefact.mime_type == "audio/mpeg" and artefact.data == MP3
    assert result.diagnostics["requestId"] == "mus-1"
    assert result.diagnostics["songId"] == "song-9"
    assert result.diagnostics["usage"] == {"seconds": 12.0}
    assert result.cost == pytest.approx(12 * 0.005)


@pytest.mark.parametrize(
    ("duration", "length_ms"), [(1, 3_000), (900, 600_000), ("45", 45_000), (None, 30_000)]
)
def test_music_length_is_clamped_to_the_api_range(
    api: respx.MockRouter, duration: object, length_ms: int
) -> None:
    route = api.post(MUSIC).mock(return_value=audio())
    result = run(music_context(duration=duration, config={"outputFormat": "mp3_44100_192"}))
    body = json.loads(route.calls.last.request.content)
    assert body["music_length_ms"] == length_ms
    assert "force_instrumental" not in body
    assert route.calls.last.request.url.params["output_format"] == "mp3_44100_192"
    assert result.diagnostics["usage"] == {"seconds": length_ms / 1000}


def test_music_refuses_wav_and_an_empty_prompt(api: respx.MockRouter) -> None:
    route = api.post(MUSIC).mock(return_value=audio())
    with pytest.raises(ProviderConfigError, match="outputFormat"):  # music formats have no wav_*
        run(music_context(config={"outputFormat": "wav_44100"}))
    with pytest.raises(ProviderError, match="Prompt input is empty"):
        run(music_context(prompt=""))
    assert route.call_count == 0


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "detail",
    [
        {"status": "too_many_concurrent_requests", "message": "Too many concurrent requests."},
        {"type": "rate_limit_error", "code": "concurrent_limit_exceeded", "message": "Concurrency limit."},
    ],
)
def test_429_too_many_concurrent_requests_retries_soon(api: respx.MockRouter, detail: dict[str, str]) -> None:
    api.post(f"{TTS}/{VOICE}").mock(
        return_value=error(429, detail, **{"request-id": "r-429", "maximum-concurrent-requests": "2"})
    )
    caught = failure(speech_context())
    assert isinstance(caught, RateLimitedError) and caught.retryable
    assert caught.retry_after == CONCURRENT_RETRY_AFTER == 1.0
    assert "HTTP 429" in caught.message
    assert caught.hint is not None and "maxInFlight" in caught.hint and "allows 2" in caught.hint
    assert "r-429" in caught.hint


def test_429_concurrent_honours_a_retry_after_header(api: respx.MockRouter) -> None:
    api.post(MUSIC).mock(
        return_value=error(429, {"code": "concurrent_limit_exceeded"}, **{"retry-after": "3"})
    )
    caught = failure(music_context())
    assert isinstance(caught, RateLimitedError) and caught.retry_after == 3.0


@pytest.mark.parametrize(
    "detail",
    [
        {"status": "system_busy", "message": "We are experiencing heavy traffic."},
        {"code": "rate_limit_exceeded", "message": "Rate limit exceeded."},
        {"message": "something new"},
    ],
)
def test_429_system_busy_backs_off_longer(api: respx.MockRouter, detail: dict[str, str]) -> None:
    api.post(f"{TTS}/{VOICE}").mock(return_value=error(429, detail))
    caught = failure(speech_context())
    assert isinstance(caught, RateLimitedError)
    assert caught.retry_after is not None and caught.retry_after >= BUSY_RETRY_AFTER >= 5.0


def test_429_system_busy_takes_a_longer_header_value(api: respx.MockRouter) -> None:
    api.post(f"{TTS}/{VOICE}").mock(
        return_value=error(429, {"status": "system_busy"}, **{"retry-after": "20"})
    )
    caught = failure(speech_context())
    assert isinstance(caught, RateLimitedError) and caught.retry_after == 20.0


@pytest.mark.parametrize(("status", "field"), [(401, "status"), (429, "code")])
def test_quota_exceeded_stops_the_run_with_the_providers_words(
    api: respx.MockRouter, status: int, field: str
) -> None:
    message = "This request exceeds your quota of 10000. You have 0 credits remaining."
    api.post(f"{TTS}/{VOICE}").mock(return_value=error(status, {field: "quota_exceeded", "message": message}))
    caught = failure(speech_context())
    assert isinstance(caught, ProviderAccountError) and not caught.retryable
    assert message in caught.message and "quota_exceeded" in caught.message
    assert caught.hint is not None and "credits" in caught.hint


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        (401, {"status": "invalid_api_key", "message": "Invalid API key"}),
        (402, {"message": "Payment required"}),
        (403, {"message": "Forbidden"}),
    ],
)
def test_account_refusals_stop_the_run(api: respx.MockRouter, status: int, detail: dict[str, str]) -> None:
    api.post(f"{TTS}/{VOICE}").mock(return_value=error(status, detail))
    caught = failure(speech_context())
    assert isinstance(caught, ProviderAccountError)
    assert caught.hint is not None and "ELEVENLABS_API_KEY" in caught.hint


def test_5xx_is_retryable(api: respx.MockRouter) -> None:
    api.post(f"{TTS}/{VOICE}").mock(return_value=httpx.Response(500, text="Internal Server Error"))
    caught = failure(speech_context())
    assert type(caught) is ProviderError and caught.retryable


def test_voice_not_found_fails_the_job_without_retry(api: respx.MockRouter) -> None:
    detail = {"status": "voice_not_found", "message": "A voice with the voice_id was not found."}
    api.post(f"{TTS}/{VOICE}").mock(return_value=error(400, detail))
    caught = failure(speech_context())
    assert type(caught) is ProviderError and not caught.retryable
    assert "voice_not_found" in caught.message


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_so_the_key_stays_with_elevenlabs(
    api: respx.MockRouter, status: int
) -> None:
    # httpx strips only Authorization on a cross-origin redirect: xi-api-key would go along.
    api.post(f"{TTS}/{VOICE}").mock(
        return_value=httpx.Response(status, headers={"location": "https://collector.example.net/tts"})
    )
    elsewhere = api.route(host="collector.example.net").mock(return_value=audio())
    caught = failure(speech_context())
    assert not elsewhere.called
    assert type(caught) is ProviderError and not caught.retryable
    assert f"HTTP {status}" in caught.message and "redirect" in caught.message
    assert "https://collector.example.net/tts" in caught.message


def test_timeout_is_a_provider_timeout(api: respx.MockRouter) -> None:
    api.post(MUSIC).mock(side_effect=httpx.ReadTimeout("read timed out"))
    caught = failure(music_context())
    assert isinstance(caught, ProviderTimeoutError) and caught.retryable


def test_the_key_never_appears_in_errors_or_diagnostics(api: respx.MockRouter) -> None:
    echo = {"status": "invalid_api_key", "message": f"Invalid API key: {KEY}"}
    api.post(f"{TTS}/BadVoiceIdAAAAAAAAAA").mock(return_value=error(401, echo))
    api.post(f"{TTS}/{VOICE}").mock(return_value=audio({"request-id": "r1", "character-cost": "9"}))
    caught = failure(speech_context(voice="BadVoiceIdAAAAAAAAAA"))
    assert "***" in caught.message
    result = run(speech_context())
    dumped = json.dumps([result.diagnostics, [a.diagnostics for a in result.artefacts]])
    assert KEY not in dumped


# -- binding, secrets, limits, voices ---------------------------------------------------------------


def test_missing_key_fails_warm_start_and_the_call_naming_the_variable(api: respx.MockRouter) -> None:
    route = api.post(url__startswith=API).mock(return_value=audio())
    built = build_handler(HandlerSpec("elevenlabs", "eleven_multilingual_v2", "local", "live"))
    assert isinstance(built, ElevenLabsHandler)
    assert built.needs_secrets == ("ELEVENLABS_API_KEY",)
    with pytest.raises(ProviderConfigError, match="ELEVENLABS_API_KEY") as caught:
        built.warm_start(EnvSecretResolver({}))
    assert caught.value.hint is not None and "elevenlabs.io/app/settings/api-keys" in caught.value.hint
    built.warm_start(EnvSecretResolver({"ELEVENLABS_API_KEY": KEY}))
    with pytest.raises(ProviderConfigError, match="ELEVENLABS_API_KEY"):
        run(speech_context(secrets={}))
    assert route.call_count == 0


def test_limits_default_to_the_free_plan_and_follow_max_in_flight() -> None:
    default = build_handler(HandlerSpec("elevenlabs", "music_v1", "local", "live")).limits
    assert (default.key, default.max_in_flight, default.requests_per_minute) == ("elevenlabs", 2, None)
    assert handler(config={"maxInFlight": 10}).limits.max_in_flight == 10
    with pytest.raises(ProviderConfigError, match="maxInFlight"):
        handler(config={"maxInFlight": 0})


def test_registry_serves_speech_and_music_and_accepts_any_voice() -> None:
    registry = default_registry()
    speech = registry.resolve("elevenlabs", "eleven_multilingual_v2", "local", "live", "narration")
    music = registry.resolve("elevenlabs", "music_v1", "local", "live", "music")
    assert isinstance(speech, ElevenLabsHandler) and isinstance(music, ElevenLabsHandler)
    assert speech.voices() is None
    assert voices_for("elevenlabs", "eleven_multilingual_v2", registry=registry) is None
    assert speech.estimate_cost("narration", {}, 1) == pytest.approx(0.04)  # 400 characters at $0.10/1k
    assert music.estimate_cost("music", {}, 1) == pytest.approx(0.15)  # 30 s at $0.005/s


# -- the shipped contract suite ---------------------------------------------------------------------


class TestElevenLabsContract(ProviderContractTests):
    @pytest.fixture(autouse=True)
    def _api(self) -> Iterator[None]:
        with respx.mock(assert_all_called=False) as router:
            router.post(f"{TTS}/{VOICE}").mock(return_value=audio({"request-id": "c1"}))
            router.post(f"{TTS}/BrokenVoiceIdAAAAAAA").mock(
                return_value=httpx.Response(503, text="unavailable")
            )
            router.post(MUSIC).mock(return_value=audio())
            yield

    def make_handler(self) -> ProviderHandler:
        return handler()

    def sample_contexts(self) -> Sequence[JobContext]:
        speech = speech_context(config={"stability": 0.5, "similarityBoost": 0.75})
        return [speech, music_context(), make_job_context(**_with_text_output(speech))]

    def failing_contexts(self) -> Sequence[JobContext]:
        return [
            speech_context(voice="BrokenVoiceIdAAAAAAA"),
            speech_context(secrets={}),
            speech_context(text=""),
            music_context(prompt=" "),
        ]


def _with_text_output(context: JobContext) -> dict[str, Any]:
    """``context`` asking for an extra text artefact, which the handler must report as failed."""
    return {
        "kind": context.kind,
        "produces": [*context.produces, ("Artifact:Narration.Transcript[0]", "text")],
        "inputs": context.inputs,
        "provider": context.provider,
        "model": context.model,
        "mode": context.mode,
        "config": context.config,
        "secrets": context.secrets,
    }
