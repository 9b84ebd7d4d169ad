"""OpenAI text, speech and image handlers against respx-mocked API answers (no network).

The bodies follow the API's documented shapes: a Responses API answer with a ``reasoning`` item before
the ``message``, the ``{"error": {...}}`` envelope, raw audio bytes, base64 images.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
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
from tutopanda.providers.live.openai_api import reset_seconds
from tutopanda.providers.live.openai_media import OpenAIImageHandler, OpenAISpeechHandler, image_size
from tutopanda.providers.live.openai_media import build_handler as build_media
from tutopanda.providers.live.openai_text import OpenAITextHandler
from tutopanda.providers.live.openai_text import build_handler as build_text
from tutopanda.providers.mock.png import write_png
from tutopanda.providers.mock.wav import write_tone_wav
from tutopanda.providers.registry import HandlerSpec
from tutopanda.testing import ProviderContractTests, sample_job_context

API = "https://api.openai.com/v1"
KEY = "sk-proj-canary-Zq81x0TT3BlbkFJ"
SECRETS = {"OPENAI_API_KEY": KEY}
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(400)
PNG = write_png(24, 16, (20, 60, 120), (255, 255, 255))

_EXTRA_INPUTS = {
    "image-prompt": {"Audience": "adult"},
    "video-prompt": {"Style": "cinematic", "Audience": "teen"},
    "music-prompt": {"MusicalStyle": "Warm ambient piano"},
}
_PROMPT_FILES = {
    "script": "script.txt",
    "image-prompt": "image-prompt.txt",
    "video-prompt": "video-prompt.txt",
    "music-prompt": "music-prompt.txt",
    "narration": "narration-style.txt",
}


def bundled_prompt(kind: str) -> str:
    return (
        resources.files("tutopanda.blueprints").joinpath(f"prompts/{_PROMPT_FILES[kind]}").read_text("utf-8")
    )


def text_context(kind: str, *, segments: int = 2, **overrides: Any) -> JobContext:
    """A job like the runner sends for the bundled openai variant of ``kind`` (its prompt file too)."""
    base = sample_job_context(kind, segments=segments)
    arguments: dict[str, Any] = {
        "provider": "openai",
        "model": "gpt-5-mini",
        "mode": "live",
        "secrets": SECRETS,
        "prompt": bundled_prompt(kind),
        "config": {"reasoningEffort": "low"},
        "inputs": {**base.inputs, **_EXTRA_INPUTS.get(kind, {})},
        **overrides,
    }
    return sample_job_context(kind, segments=segments, **arguments)


def media_context(kind: str, model: str, **overrides: Any) -> JobContext:
    arguments: dict[str, Any] = {"provider": "openai", "model": model, "mode": "live", "secrets": SECRETS}
    return sample_job_context(kind, **{**arguments, **overrides})


def run(handler: ProviderHandler, context: JobContext) -> JobResult:
    return asyncio.run(handler.produce(context))


def responses_body(
    text: str, *, status: str = "completed", tokens: tuple[int, int] = (1200, 900)
) -> dict[str, Any]:
    """A Responses API answer as gpt-5-mini sends it: a reasoning item, then the message."""
    return {
        "id": "resp_0888a46c5e1f",
        "object": "response",
        "created_at": 1762941294,
        "status": status,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": None,
        "max_output_tokens": None,
        "model": "gpt-5-mini-2025-08-07",
        "output": [
            {"id": "rs_01", "type": "reasoning", "summary": []},
            {
                "id": "msg_01",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}],
            },
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": "low", "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": tokens[0],
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": tokens[1],
            "output_tokens_details": {"reasoning_tokens": 640},
            "total_tokens": sum(tokens),
        },
        "user": None,
        "metadata": {},
    }


def error_body(message: str, code: str | None, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def sent(route: respx.Route) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls.last.request.content)
    return body


def texts(result: JobResult) -> dict[str, str]:
    return {a.artefact_id: (a.data or b"").decode() for a in result.artefacts if a.status == "succeeded"}


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        yield router


# --- text: success ------------------------------------------------------------------------------


SCRIPT_ANSWER = {
    "title": "How Volcanoes Erupt",
    "summary": "Magma rises, pressure builds, the crust gives way.",
    "segments": ["Deep below us, rock melts.", "Pressure builds in the chamber.", "Then the crust breaks."],
}


def test_a_script_maps_title_summary_and_segments_to_their_artefacts(api: respx.MockRouter) -> None:
    route = api.post("/responses").respond(
        200, json=responses_body(json.dumps(SCRIPT_ANSWER)), headers={"x-request-id": "req_123"}
    )
    result = run(OpenAITextHandler("openai", "gpt-5-mini", "local"), text_context("script", segments=3))

    assert texts(result) == {
        "Artifact:Script.MovieTitle": "How Volcanoes Erupt",
        "Artifact:Script.MovieSummary": "Magma rises, pressure builds, the crust gives way.",
        "Artifact:Script.NarrationScript[0]": "Deep below us, rock melts.",
        "Artifact:Script.NarrationScript[1]": "Pressure builds in the chamber.",
        "Artifact:Script.NarrationScript[2]": "Then the crust breaks.",
    }
    assert all(a.mime_type == "text/plain" for a in result.artefacts)
    narration = next(a for a in result.artefacts if a.artefact_id.endswith("[2]"))
    assert narration.diagnostics["path"] == "$.segments[2]"
    assert route.call_count == 1
    # cost from the reported usage at gpt-5-mini's price: $0.25 / 1M in, $2.00 / 1M out
    assert result.cost == pytest.approx(1200 * 0.25e-6 + 900 * 2.0e-6)
    assert result.diagnostics["usage"]["input_tokens"] == 1200
    assert result.diagnostics["usage"]["total_tokens"] == 2100
    assert result.diagnostics["responseId"] == "resp_0888a46c5e1f"
    assert result.diagnostics["model"] == "gpt-5-mini-2025-08-07"
    assert result.diagnostics["requestId"] == "req_123"


def test_the_script_request_carries_the_rendered_prompt_and_a_strict_schema(api: respx.MockRouter) -> None:
    route = api.post("/responses").respond(200, json=responses_body(json.dumps(SCRIPT_ANSWER)))
    run(OpenAITextHandler("openai", "gpt-5-mini", "local"), text_context("script", segments=3))

    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = sent(route)
    assert set(body) == {"model", "input", "text", "reasoning", "store"}
    assert body["store"] is False
    assert body["model"] == "gpt-5-mini"
    assert body["reasoning"] == {"effort": "low"}
    assert "answers this question: How do volcanoes erupt?" in body["input"]
    assert "exactly 3 segments" in body["input"] and "about 30 seconds" in body["input"]
    assert "{{" not in body["input"]
    text_format = body["text"]["format"]
    assert text_format["type"] == "json_schema" and text_format["strict"] is True
    assert text_format["name"] == "script"
    schema = text_format["schema"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["title", "summary", "segments"]
    assert schema["properties"]["segments"]["description"] == "exactly 3 strings"
    assert "minItems" not in schema["properties"]["segments"]  # outside strict mode's safe subset


def test_image_prompts_are_matched_by_their_last_index(api: respx.MockRouter) -> None:
    answer = {"prompts": ["A magma chamber in cross-section", "\n Lava bursting through the crust  "]}
    route = api.post("/responses").respond(200, json=responses_body(json.dumps(answer)))
    context = text_context(
        "image-prompt",
        produces=[
            ("Artifact:ImagePrompts.ImagePrompt[1][1]", "text"),
            ("Artifact:ImagePrompts.ImagePrompt[1][0]", "text"),
        ],
    )
    result = run(OpenAITextHandler("openai", "gpt-5-mini", "local"), context)

    assert texts(result) == {
        "Artifact:ImagePrompts.ImagePrompt[1][0]": "A magma chamber in cross-section",
        "Artifact:ImagePrompts.ImagePrompt[1][1]": "Lava bursting through the crust",
    }
    body = sent(route)
    assert body["text"]["format"]["name"] == "image_prompts"
    prompts = body["text"]["format"]["schema"]["properties"]["prompts"]
    assert prompts["description"] == "exactly 2 strings" and "maxItems" not in prompts
    assert "Write exactly 2 distinct image prompts" in body["input"]
    assert '"diagram", suitable for a adult audience' in body["input"]


def test_a_music_prompt_in_json_reads_its_prompt_field(api: respx.MockRouter) -> None:
    answer = {"prompt": "Slow, warm piano over a low drone that swells as the magma rises."}
    route = api.post("/responses").respond(200, json=responses_body(json.dumps(answer)))
    context = text_context("music-prompt", config={"textFormat": "json"})
    result = run(OpenAITextHandler("openai", "gpt-5-mini", "local"), context)

    assert texts(result) == {"Artifact:MusicPrompt.MusicPrompt": answer["prompt"]}
    body = sent(route)
    assert body["text"]["format"]["schema"]["properties"] == {"prompt": {"type": "string"}}
    assert "reasoning" not in body  # only what the config sets is sent
    # the fan-in narration renders as numbered lines, one per segment
    assert "\n1. Deep below the surface" in body["input"] and "\n2. Deep below the surface" in body["input"]
    assert 'style "Warm ambient piano"' in body["input"]


def test_a_single_text_job_takes_the_plain_answer(api: respx.MockRouter) -> None:
    shot = "Night. A slow push-in on a glowing fissure [cut] lava fountains against the stars."
    route = api.post("/responses").respond(200, json=responses_body(f"  {shot}\n"))
    result = run(OpenAITextHandler("openai", "gpt-5-mini", "local"), text_context("video-prompt"))

    assert texts(result) == {"Artifact:VideoPrompts.VideoPrompt[0]": shot}
    body = sent(route)
    assert set(body) == {"model", "input", "reasoning", "store"}  # no text.format: plain text is the default
    assert "for a 5-second clip" in body["input"] and "for a teen" in body["input"]
    assert result.diagnostics["textFormat"] == "text"


def test_config_keys_become_request_fields(api: respx.MockRouter) -> None:
    route = api.post("/responses").respond(200, json=responses_body("A prompt."))
    config = {"textFormat": "text", "reasoningEffort": "minimal", "maxOutputTokens": 4000, "temperature": 0.7}
    run(OpenAITextHandler("openai", "gpt-5-mini", "local"), text_context("video-prompt", config=config))

    body = sent(route)
    assert body["reasoning"] == {"effort": "minimal"}
    assert body["max_output_tokens"] == 4000 and body["temperature"] == 0.7
    assert "text" not in body


# --- text: partial and whole-job failures -------------------------------------------------------


def test_a_missing_field_fails_only_that_artefact(api: respx.MockRouter) -> None:
    answer = {"title": "Volcanoes", "summary": "", "segments": ["One.", "Two."]}
    api.post("/responses").respond(200, json=responses_body(json.dumps(answer)))
    result = run(OpenAITextHandler("openai", "gpt-5-mini", "local"), text_context("script", segments=3))

    by_id = {a.artefact_id: a for a in result.artefacts}
    assert [a.artefact_id for a in result.artefacts] == list(text_context("script", segments=3).artefact_ids)
    assert texts(result) == {
        "Artifact:Script.MovieTitle": "Volcanoes",
        "Artifact:Script.NarrationScript[0]": "One.",
        "Artifact:Script.NarrationScript[1]": "Two.",
    }
    missing = by_id["Artifact:Script.NarrationScript[2]"]
    assert missing.status == "failed" and missing.data is None
    assert missing.error is not None and "$.segments has 2 items, no [2]" in missing.error
    empty = by_id["Artifact:Script.MovieSummary"]
    assert empty.status == "failed"
    assert empty.error is not None and "$.summary is an empty string" in empty.error
    assert result.cost is not None and result.cost > 0  # the call was paid for either way


def test_an_answer_that_is_not_json_is_a_retryable_job_failure(api: respx.MockRouter) -> None:
    api.post("/responses").respond(200, json=responses_body("Sure! Here is your script: Volcanoes..."))
    with pytest.raises(ProviderError) as caught:
        run(OpenAITextHandler("openai", "gpt-5-mini", "local"), text_context("script"))
    assert caught.value.retryable and "not the JSON asked for" in caught.value.message


def test_an_incomplete_answer_is_not_recorded(api: respx.MockRouter) -> None:
    api.post("/responses").respond(200, json=responses_body('{"title": "Volc', status="incomplete"))
    with pytest.raises(ProviderError) as caught:
        run(OpenAITextHandler("openai", "gpt-5-mini", "local"), text_context("script"))
    assert "incomplete (max_output_tokens)" in caught.value.message
    assert caught.value.hint is not None and "maxOutputTokens" in caught.value.hint


def test_a_refusal_fails_the_job(api: respx.MockRouter) -> None:
    body = responses_body("")
    body["output"][1]["content"] = [{"type": "refusal", "refusal": "I can't help with that."}]
    api.post("/responses").respond(200, json=body)
    with pytest.raises(ProviderError, match="refused: I can't help with that"):
        run(OpenAITextHandler("openai", "gpt-5-mini", "local"), text_context("video-prompt"))


def test_no_prompt_template_is_a_config_error_before_any_call(api: respx.MockRouter) -> None:
    route = api.post("/responses").respond(200, json=responses_body("x"))
    with pytest.raises(ProviderConfigError, match="no prompt template"):
        run(OpenAITextHandler("openai", "gpt-5-mini", "local"), text_context("script", prompt=None))
    with pytest.raises(ProviderConfigError, match="textFormat"):
        run(
            OpenAITextHandler("openai", "gpt-5-mini", "local"),
            text_context("script", config={"textFormat": "xml"}),
        )
    with pytest.raises(ProviderConfigError, match="makes 4 text artefacts"):
        run(
            OpenAITextHandler("openai", "gpt-5-mini", "local"),
            text_context("script", config={"textFormat": "text"}),
        )
    assert route.call_count == 0


# --- errors ----------------------------------------------------------------------------------------


def _fail(api: respx.MockRouter, response: httpx.Response | Exception) -> tuple[BaseException, respx.Route]:
    route = api.post("/responses")
    if isinstance(response, Exception):
        route.mock(side_effect=response)
    else:
        route.mock(return_value=response)
    with pytest.raises(ProviderError) as caught:
        run(OpenAITextHandler("openai", "gpt-5-mini", "local"), text_context("script"))
    error = caught.value
    assert KEY not in f"{error.message} {error.hint}"
    assert error.__cause__ is None  # the SDK's exception (with its request) is not chained in
    return error, route


def test_a_429_with_retry_after_is_rate_limited_and_called_once(api: respx.MockRouter) -> None:
    response = httpx.Response(
        429,
        json=error_body(
            "Rate limit reached for gpt-5-mini on requests per min", "rate_limit_exceeded", "requests"
        ),
        headers={"retry-after": "7", "x-request-id": "req_rl"},
    )
    error, route = _fail(api, response)
    assert isinstance(error, RateLimitedError) and error.retryable and error.retry_after == 7.0
    assert "Rate limit reached" in error.message
    assert route.call_count == 1  # the SDK's own retries are off: the runner decides


def test_a_429_without_retry_after_waits_for_the_exhausted_limit_to_reset(api: respx.MockRouter) -> None:
    headers = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1.5s",
        "x-ratelimit-remaining-tokens": "150000",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    error, _ = _fail(
        api, httpx.Response(429, json=error_body("Slow down", "rate_limit_exceeded"), headers=headers)
    )
    assert isinstance(error, RateLimitedError) and error.retry_after == 1.5


def test_insufficient_quota_stops_the_run_even_on_a_429(api: respx.MockRouter) -> None:
    body = error_body(
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        "insufficient_quota",
    )
    error, _ = _fail(api, httpx.Response(429, json=body, headers={"retry-after": "1"}))
    assert isinstance(error, ProviderAccountError) and not error.retryable
    assert "insufficient_quota" in error.message


def test_a_refused_key_stops_the_run_and_never_shows_the_key(api: respx.MockRouter) -> None:
    body = error_body(
        f"Incorrect API key provided: {KEY}. You can find your API key at ...", "invalid_api_key"
    )
    error, _ = _fail(api, httpx.Response(401, json=body, headers={"x-request-id": "req_401"}))
    assert isinstance(error, ProviderAccountError) and not error.retryable
    assert "HTTP 401" in error.message and "***" in error.message
    assert error.hint is not None and "OPENAI_API_KEY" in error.hint and "req_401" in error.hint


def test_a_server_error_is_retryable(api: respx.MockRouter) -> None:
    error, route = _fail(
        api, httpx.Response(500, json=error_body("The server had an error", None, "server_error"))
    )
    assert type(error) is ProviderError and error.retryable
    assert route.call_count == 1


def test_a_bad_request_fails_the_job_without_retry(api: respx.MockRouter) -> None:
    body = error_body("Invalid schema for response_format 'script'", "invalid_json_schema")
    error, _ = _fail(api, httpx.Response(400, json=body))
    assert type(error) is ProviderError and not error.retryable
    assert "Invalid schema" in error.message


def test_a_redirect_from_the_api_is_not_followed() -> None:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.post(f"{API}/responses").mock(
            return_value=httpx.Response(307, headers={"location": "https://proxy.example.net/responses"})
        )
        elsewhere = router.route(host="proxy.example.net").mock(
            return_value=httpx.Response(200, json=responses_body(json.dumps(SCRIPT_ANSWER)))
        )
        with pytest.raises(ProviderError) as caught:
            run(OpenAITextHandler("openai", "gpt-5-mini", "local"), text_context("script"))
    assert not elsewhere.called
    error = caught.value
    assert type(error) is ProviderError and not error.retryable
    assert "HTTP 307" in error.message and "redirect" in error.message
    assert "https://proxy.example.net/responses" in error.message and KEY not in error.message


def test_a_timeout_is_a_retryable_timeout(api: respx.MockRouter) -> None:
    error, _ = _fail(api, httpx.ReadTimeout("read timed out"))
    assert isinstance(error, ProviderTimeoutError) and error.retryable


def test_a_dropped_connection_is_retryable(api: respx.MockRouter) -> None:
    error, _ = _fail(api, httpx.ConnectError("connection refused"))
    assert type(error) is ProviderError and error.retryable and "ConnectError" in error.message


def test_a_missing_key_is_named_offline_and_no_call_is_made(api: respx.MockRouter) -> None:
    route = api.post("/responses").respond(200, json=responses_body("x"))
    handler = OpenAITextHandler("openai", "gpt-5-mini", "local")
    assert handler.needs_secrets == ("OPENAI_API_KEY",)
    with pytest.raises(ProviderConfigError, match="OPENAI_API_KEY") as caught:
        handler.warm_start(EnvSecretResolver({}))
    assert caught.value.hint is not None and "platform.openai.com/api-keys" in caught.value.hint
    handler.warm_start(EnvSecretResolver(SECRETS))
    with pytest.raises(ProviderConfigError, match="OPENAI_API_KEY is not set"):
        run(handler, text_context("video-prompt", secrets={}))
    assert route.call_count == 0


def test_the_key_never_reaches_diagnostics(api: respx.MockRouter) -> None:
    api.post("/responses").respond(200, json=responses_body(json.dumps(SCRIPT_ANSWER)))
    result = run(OpenAITextHandler("openai", "gpt-5-mini", "local"), text_context("script", segments=3))
    dumped = json.dumps([result.diagnostics, *[a.diagnostics for a in result.artefacts]])
    assert KEY not in dumped and "Bearer" not in dumped


def test_rate_limit_reset_durations() -> None:
    assert reset_seconds("20ms") == pytest.approx(0.02)
    assert reset_seconds("6m0s") == 360.0
    assert reset_seconds("1h2m3.5s") == pytest.approx(3723.5)
    assert reset_seconds("soon") is None and reset_seconds(None) is None


def test_estimates_come_from_the_price_table() -> None:
    handler = OpenAITextHandler("openai", "gpt-5-mini", "local")
    assert handler.estimate_cost("script", {}, 5) == pytest.approx(1500 * 0.25e-6 + 2500 * 2e-6)
    assert handler.estimate_cost("image-prompt", {}, 2) == pytest.approx(800 * 0.25e-6 + 800 * 2e-6)
    assert OpenAITextHandler("openai", "gpt-5-nano-unpriced", "local").estimate_cost("script", {}, 3) is None
    # auto quality is estimated as high (the dearest it may pick), 1536x1024: 6208 output tokens at $40/1M
    images = OpenAIImageHandler("openai", "gpt-image-1", "local")
    assert images.estimate_cost("image", {}, 1) == pytest.approx(100 * 5e-6 + 6208 * 40e-6)
    assert images.estimate_cost("image", {"quality": "medium", "size": "1024x1024"}, 1) == pytest.approx(
        100 * 5e-6 + 1056 * 40e-6
    )


# --- speech --------------------------------------------------------------------------------------


def speech_context(**overrides: Any) -> JobContext:
    arguments: dict[str, Any] = {"prompt": bundled_prompt("narration"), "config": {"responseFormat": "mp3"}}
    return media_context("narration", "gpt-4o-mini-tts", **{**arguments, **overrides})


def test_speech_returns_the_audio_bytes_with_their_sniffed_type(api: respx.MockRouter) -> None:
    route = api.post("/audio/speech").respond(200, content=MP3, headers={"content-type": "audio/mpeg"})
    result = run(OpenAISpeechHandler("openai", "gpt-4o-mini-tts", "local"), speech_context())

    (audio,) = result.artefacts
    assert audio.status == "succeeded" and audio.data == MP3 and audio.mime_type == "audio/mpeg"
    body = sent(route)
    assert body == {
        "model": "gpt-4o-mini-tts",
        "input": sample_job_context("narration").inputs["Text"],
        "voice": "alloy",
        "response_format": "mp3",
        "instructions": (
            "Read this narration for an educational video in a neutral tone: clear, warm and unhurried."
        ),
    }
    words = len(body["input"].split())
    assert audio.diagnostics["durationSeconds"] == pytest.approx(words / 2.5, abs=0.01)
    assert audio.diagnostics["durationEstimated"] is True
    # $0.60 / 1M input tokens (about 4 characters each) + $0.00025 per second of speech
    tokens = -(-(len(body["input"]) + len(body["instructions"])) // 4)
    assert result.cost == pytest.approx(tokens * 0.6e-6 + words / 2.5 * 0.00025, abs=1e-6)


def test_speech_voice_format_and_speed_come_from_inputs_and_config(api: respx.MockRouter) -> None:
    wav = write_tone_wav(1.5, period=20, amplitude=0.4, sample_rate=24000)
    route = api.post("/audio/speech").respond(200, content=wav, headers={"content-type": "audio/wav"})
    inputs = {"Text": "Lava cools into new rock.", "VoiceId": "Coral", "Language": "en", "Emotion": "calm"}
    context = speech_context(inputs=inputs, config={"responseFormat": "wav", "speed": 1.25})
    result = run(OpenAISpeechHandler("openai", "gpt-4o-mini-tts", "local"), context)

    body = sent(route)
    assert body["voice"] == "coral" and body["response_format"] == "wav" and body["speed"] == 1.25
    assert "in a calm tone" in body["instructions"]
    (audio,) = result.artefacts
    assert audio.mime_type == "audio/wav" and audio.diagnostics["durationSeconds"] == 1.5
    assert audio.diagnostics["durationEstimated"] is False
    assert result.diagnostics["usage"]["seconds"] == 1.5


def test_speech_default_voice_comes_from_config(api: respx.MockRouter) -> None:
    route = api.post("/audio/speech").respond(200, content=MP3)
    run(OpenAISpeechHandler("openai", "gpt-4o-mini-tts", "local"), speech_context(config={"voice": "sage"}))
    assert sent(route)["voice"] == "sage"


def test_speech_that_is_not_audio_is_not_recorded(api: respx.MockRouter) -> None:
    api.post("/audio/speech").respond(200, content=b"<html>gateway</html>")
    with pytest.raises(ProviderError, match="not audio") as caught:
        run(OpenAISpeechHandler("openai", "gpt-4o-mini-tts", "local"), speech_context())
    assert caught.value.retryable


def test_speech_errors_and_bad_config(api: respx.MockRouter) -> None:
    route = api.post("/audio/speech").respond(
        403,
        json=error_body(
            "Country, region, or territory not supported", "unsupported_country_region_territory"
        ),
    )
    with pytest.raises(ProviderAccountError):
        run(OpenAISpeechHandler("openai", "gpt-4o-mini-tts", "local"), speech_context())
    assert route.call_count == 1
    with pytest.raises(ProviderConfigError, match="responseFormat"):
        run(
            OpenAISpeechHandler("openai", "gpt-4o-mini-tts", "local"),
            speech_context(config={"responseFormat": "pcm"}),
        )
    with pytest.raises(ProviderError, match="at most 4096"):
        long_text = {"Text": "word " * 1000, "VoiceId": "default", "Emotion": "calm"}
        run(OpenAISpeechHandler("openai", "gpt-4o-mini-tts", "local"), speech_context(inputs=long_text))
    assert route.call_count == 1


# --- images --------------------------------------------------------------------------------------


def image_answer(data: bytes) -> dict[str, Any]:
    return {
        "created": 1713833628,
        "data": [{"b64_json": base64.b64encode(data).decode()}],
        "background": "opaque",
        "output_format": "png",
        "quality": "medium",
        "size": "1536x1024",
        "usage": {
            "total_tokens": 1100,
            "input_tokens": 44,
            "output_tokens": 1056,
            "input_tokens_details": {"text_tokens": 44, "image_tokens": 0},
        },
    }


def test_an_image_is_decoded_from_base64(api: respx.MockRouter) -> None:
    route = api.post("/images/generations").respond(200, json=image_answer(PNG))
    result = run(OpenAIImageHandler("openai", "gpt-image-1", "local"), media_context("image", "gpt-image-1"))

    (image,) = result.artefacts
    assert image.status == "succeeded" and image.data == PNG and image.mime_type == "image/png"
    assert sent(route) == {
        "model": "gpt-image-1",
        "prompt": "A cutaway diagram of a volcano",
        "size": "1536x1024",
        "n": 1,
    }
    assert result.cost == pytest.approx(44 * 5e-6 + 1056 * 40e-6)  # the usage tokens, not a flat price
    assert result.diagnostics["tokens"]["output_tokens"] == 1056


def test_image_size_follows_the_aspect_ratio_and_quality_the_config(api: respx.MockRouter) -> None:
    route = api.post("/images/generations").respond(200, json=image_answer(PNG))
    inputs = {"Prompt": "A tall column of ash", "AspectRatio": "9:16"}
    context = media_context("image", "gpt-image-1", inputs=inputs, config={"quality": "high"})
    run(OpenAIImageHandler("openai", "gpt-image-1", "local"), context)
    assert sent(route)["size"] == "1024x1536" and sent(route)["quality"] == "high"
    assert [image_size(ratio, "x") for ratio in ("16:9", "4:3", "1:1", "3:4", "9:16")] == [
        "1536x1024",
        "1536x1024",
        "1024x1024",
        "1024x1536",
        "1024x1536",
    ]


def test_an_image_answer_without_an_image_fails_the_artefact(api: respx.MockRouter) -> None:
    api.post("/images/generations").respond(200, json=image_answer(b"just text, not a picture"))
    result = run(OpenAIImageHandler("openai", "gpt-image-1", "local"), media_context("image", "gpt-image-1"))
    (image,) = result.artefacts
    assert image.status == "failed" and image.error is not None and "not an image" in image.error


def test_a_content_policy_refusal_is_not_retried(api: respx.MockRouter) -> None:
    body = error_body("Your request was rejected by the safety system.", "moderation_blocked")
    api.post("/images/generations").respond(400, json=body)
    with pytest.raises(ProviderError, match="safety system") as caught:
        run(OpenAIImageHandler("openai", "gpt-image-1", "local"), media_context("image", "gpt-image-1"))
    assert not caught.value.retryable


def test_the_builders_pick_the_handler_by_model() -> None:
    assert isinstance(build_text(HandlerSpec("openai", "gpt-5-mini", "local", "live")), OpenAITextHandler)
    assert isinstance(
        build_media(HandlerSpec("openai", "gpt-4o-mini-tts", "local", "live")), OpenAISpeechHandler
    )
    assert isinstance(build_media(HandlerSpec("openai", "gpt-image-1", "local", "live")), OpenAIImageHandler)
    with pytest.raises(ProviderConfigError):
        build_media(HandlerSpec("openai", "whisper-1", "local", "live"))


def test_the_registry_resolves_the_openai_models() -> None:
    from tutopanda.providers import ProviderRegistry
    from tutopanda.providers.live.registration import register_live

    registry = ProviderRegistry()
    register_live(registry)
    assert isinstance(
        registry.resolve("openai", "gpt-5-mini", "local", "live", kind="script"), OpenAITextHandler
    )
    narration = registry.resolve("openai", "gpt-4o-mini-tts", "local", "live", kind="narration")
    assert isinstance(narration, OpenAISpeechHandler)


# --- the shipped contract suite, with a fake OpenAI behind respx ----------------------------------


def _fake_answer(schema: Mapping[str, Any]) -> Any:
    """A value that fits ``schema`` (the subset the handlers send)."""
    if schema.get("type") == "object":
        return {name: _fake_answer(part) for name, part in schema["properties"].items()}
    if schema.get("type") == "array":
        count = int(re.search(r"exactly (\d+)", schema.get("description", "exactly 1")).group(1))  # type: ignore[union-attr]
        return [f"item {index}" for index in range(count)]
    return "A fitting text."


def fake_openai(request: httpx.Request) -> httpx.Response:
    """Answers like the API for the three endpoints the handlers call."""
    body = json.loads(request.content)
    if request.url.path.endswith("/responses"):
        text_format = body.get("text", {}).get("format")
        answer = json.dumps(_fake_answer(text_format["schema"])) if text_format else "A plain answer."
        return httpx.Response(200, json=responses_body(answer))
    if request.url.path.endswith("/audio/speech"):
        return httpx.Response(200, content=MP3, headers={"content-type": "audio/mpeg"})
    return httpx.Response(200, json=image_answer(PNG))


class _WithFakeApi:
    @pytest.fixture(autouse=True)
    def _fake_api(self) -> Iterator[None]:
        with respx.mock(base_url=API, assert_all_called=False) as router:
            router.route().mock(side_effect=fake_openai)
            yield


class TestOpenAITextContract(_WithFakeApi, ProviderContractTests):
    def make_handler(self) -> ProviderHandler:
        return OpenAITextHandler("openai", "gpt-5-mini", "local")

    def sample_contexts(self) -> Sequence[JobContext]:
        return [
            text_context("script", segments=3),
            text_context("image-prompt"),
            text_context("video-prompt"),
            text_context("music-prompt"),
            text_context("music-prompt", config={"textFormat": "json"}),
            # a blueprint asking for a field the schema cannot hold: that artefact fails alone
            text_context(
                "script",
                produces=[("Artifact:Script.MovieTitle", "text"), ("Artifact:Script.Keywords", "text")],
            ),
        ]

    def failing_contexts(self) -> Sequence[JobContext]:
        return [
            text_context("script", prompt=None),
            text_context("script", secrets={}),
            text_context("video-prompt", config={"maxOutputTokens": 3}),
        ]


class TestOpenAISpeechContract(_WithFakeApi, ProviderContractTests):
    def make_handler(self) -> ProviderHandler:
        return OpenAISpeechHandler("openai", "gpt-4o-mini-tts", "local")

    def sample_contexts(self) -> Sequence[JobContext]:
        return [speech_context(), speech_context(prompt=None)]

    def failing_contexts(self) -> Sequence[JobContext]:
        return [speech_context(inputs={"Text": " ", "VoiceId": "default"}), speech_context(secrets={})]


class TestOpenAIImageContract(_WithFakeApi, ProviderContractTests):
    def make_handler(self) -> ProviderHandler:
        return OpenAIImageHandler("openai", "gpt-image-1", "local")

    def sample_contexts(self) -> Sequence[JobContext]:
        return [media_context("image", "gpt-image-1")]

    def failing_contexts(self) -> Sequence[JobContext]:
        return [media_context("image", "gpt-image-1", inputs={"Prompt": ""})]
