"""Replicate handler: schema check before paying, create/poll/cancel, downloads, errors, costs.

Every HTTP call is mocked at the transport with respx; time is a fake clock advanced by the handler's
injected sleep, so polling and timeouts run instantly and deterministically.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import io
import json
import tempfile
import wave
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from PIL import Image

from tutopanda.core.engine.provider_contract import JobContext, JobResult
from tutopanda.core.errors import (
    ProviderAccountError,
    ProviderConfigError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    TutopandaError,
)
from tutopanda.core.logger import MemoryLogger
from tutopanda.providers import ProviderRegistry
from tutopanda.providers.live import register_live
from tutopanda.providers.live.replicate import MODELS, ReplicateHandler, build_handler
from tutopanda.providers.registry import HandlerSpec
from tutopanda.testing import ProviderContractTests, check_payload, make_job_context, sample_job_context

TOKEN = "r8_canary_token_0123456789abcdef"
API = "https://api.replicate.com/v1"
FILES = "https://replicate.delivery/xezq/abc"
FLUX = "black-forest-labs/flux-schnell"
SEEDANCE = "bytedance/seedance-1-lite"
STABLE_AUDIO = "stability-ai/stable-audio-2.5"
SPEECH = "minimax/speech-02-turbo"


# -- media served as outputs -----------------------------------------------------------------------


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 18), (200, 90, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def wav_bytes(seconds: float = 0.25, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(bytes(range(256)) * int(seconds * rate * 2 / 256))
    return buffer.getvalue()


def mp4_bytes() -> bytes:
    return resources.files("tutopanda.testing").joinpath("sample-clip.mp4").read_bytes()


# -- schemas as Replicate publishes them (enums behind $ref, as cog writes them) ---------------------


def _enum(values: list[str]) -> dict[str, Any]:
    return {"type": "string", "enum": values, "description": "An enumeration."}


def _ref(name: str, **extra: Any) -> dict[str, Any]:
    return {"allOf": [{"$ref": f"#/components/schemas/{name}"}], **extra}


ASPECTS = ["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"]

SCHEMAS: dict[str, dict[str, Any]] = {
    FLUX: {
        "Input": {
            "type": "object",
            "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string"},
                "aspect_ratio": _ref("aspect_ratio", default="1:1"),
                "num_outputs": {"type": "integer", "minimum": 1, "maximum": 4, "default": 1},
                "num_inference_steps": {"type": "integer", "minimum": 1, "maximum": 4, "default": 4},
                "seed": {"type": "integer"},
                "output_format": _ref("output_format", default="webp"),
                "output_quality": {"type": "integer", "minimum": 0, "maximum": 100, "default": 80},
                "disable_safety_checker": {"type": "boolean", "default": False},
                "go_fast": {"type": "boolean", "default": True},
                "megapixels": _ref("megapixels", default="1"),
            },
        },
        "aspect_ratio": _enum(ASPECTS),
        "output_format": _enum(["webp", "jpg", "png"]),
        "megapixels": _enum(["1", "0.25"]),
    },
    SEEDANCE: {
        "Input": {
            "type": "object",
            "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string"},
                "image": {"type": "string", "format": "uri"},
                "duration": {"type": "integer", "minimum": 2, "maximum": 12, "default": 5},
                "resolution": _ref("resolution", default="720p"),
                "aspect_ratio": _ref("aspect_ratio", default="16:9"),
                "fps": _ref("fps", default=24),
                "camera_fixed": {"type": "boolean", "default": False},
                "seed": {"type": "integer"},
            },
        },
        "resolution": _enum(["480p", "720p", "1080p"]),
        "aspect_ratio": _enum(["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "9:21"]),
        "fps": {"type": "integer", "enum": [24]},
    },
    STABLE_AUDIO: {
        "Input": {
            "type": "object",
            "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string"},
                "duration": {"type": "integer", "minimum": 1, "maximum": 190, "default": 190},
                "steps": {"type": "integer", "minimum": 4, "maximum": 8, "default": 8},
                "cfg_scale": {"type": "number", "minimum": 1, "maximum": 25, "default": 1},
                "seed": {"type": "integer"},
            },
        },
    },
    SPEECH: {
        "Input": {
            "type": "object",
            "required": ["text"],
            "properties": {
                "text": {"type": "string", "maxLength": 10000},
                "voice_id": {"type": "string", "default": "Wise_Woman"},
                "emotion": _ref("emotion", default="auto"),
                "speed": {"type": "number", "minimum": 0.5, "maximum": 2, "default": 1},
            },
        },
        "emotion": _enum(["auto", "happy", "sad", "angry", "calm"]),
    },
}


def model_body(model: str, schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    owner, name = model.split("/")
    return {
        "url": f"https://replicate.com/{model}",
        "owner": owner,
        "name": name,
        "visibility": "public",
        "latest_version": {
            "id": "5599ed30703defd1d160a25a63321b4dec97101d98b4674bcc56e41f62f35637",
            "created_at": "2025-01-01T00:00:00Z",
            "openapi_schema": {"openapi": "3.0.2", "components": {"schemas": schemas or SCHEMAS[model]}},
        },
    }


def prediction(model: str, status: str, output: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "p1",
        "model": model,
        "version": "hidden",
        "input": {},
        "logs": "",
        "output": output,
        "error": None,
        "status": status,
        "created_at": "2025-01-01T00:00:00Z",
        "data_removed": False,
        "urls": {"get": f"{API}/predictions/p1", "cancel": f"{API}/predictions/p1/cancel"},
    }
    if status == "succeeded":
        body["metrics"] = {"predict_time": 1.25}
        body["completed_at"] = "2025-01-01T00:00:02Z"
    body.update(extra)
    return body


# -- fixtures --------------------------------------------------------------------------------------


class FakeTime:
    """A monotonic clock that only moves when the handler sleeps; records every pause."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # a real suspension point, where a task cancellation is delivered


@pytest.fixture(autouse=True)
def downloads_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Downloaded outputs land in a per-test directory (cleaned up, and inspectable for leftovers)."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def handler_for(model: str, fake_time: FakeTime) -> ReplicateHandler:
    return ReplicateHandler("replicate", model, "local", sleep=fake_time.sleep, clock=fake_time.clock)


def context_for(model: str, **overrides: Any) -> JobContext:
    kind = MODELS[model].kind
    overrides.setdefault("secrets", {"REPLICATE_API_TOKEN": TOKEN})
    overrides.setdefault("logger", MemoryLogger())
    return sample_job_context(kind, provider="replicate", model=model, mode="live", **overrides)


def run(handler: ReplicateHandler, context: JobContext) -> JobResult:
    return asyncio.run(handler.produce(context))


def mock_model(api: respx.MockRouter, model: str, schemas: dict[str, Any] | None = None) -> respx.Route:
    return api.get(f"{API}/models/{model}").mock(
        return_value=httpx.Response(200, json=model_body(model, schemas))
    )


def mock_create(api: respx.MockRouter, model: str, *responses: httpx.Response) -> respx.Route:
    route = api.post(f"{API}/models/{model}/predictions")
    return (
        route.mock(side_effect=list(responses))
        if len(responses) > 1
        else route.mock(return_value=responses[0])
    )


def sent_input(route: respx.Route, call: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls[call].request.content)
    assert set(body) == {"input"}
    inputs: dict[str, Any] = body["input"]
    return inputs


def logged(context: JobContext, level: str | None = "warning") -> list[str]:
    assert isinstance(context.logger, MemoryLogger)
    return context.logger.messages(level)


def payload(result: JobResult, index: int = 0) -> bytes:
    artefact = result.artefacts[index]
    assert artefact.status == "succeeded", artefact.error
    assert artefact.file is not None and artefact.file.is_file()
    return artefact.file.read_bytes()


# -- happy paths -----------------------------------------------------------------------------------


def test_image_from_a_terminal_create_is_downloaded_and_sniffed(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    image = png_bytes()
    schema = mock_model(api, FLUX)
    create = mock_create(
        api, FLUX, httpx.Response(201, json=prediction(FLUX, "succeeded", [f"{FILES}/out-0.png"]))
    )
    download = api.get(f"{FILES}/out-0.png").mock(
        return_value=httpx.Response(200, content=image, headers={"content-type": "application/octet-stream"})
    )
    context = context_for(FLUX, config={"outputFormat": "png", "numInferenceSteps": 4})

    result = run(handler_for(FLUX, fake_time), context)

    assert sent_input(create) == {
        "prompt": "A cutaway diagram of a volcano",
        "aspect_ratio": "16:9",
        "output_format": "png",
        "num_outputs": 1,
        "num_inference_steps": 4,
    }
    request = create.calls[0].request
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["prefer"] == "wait=30"
    assert request.headers["cancel-after"] == "11m"  # our 600 s deadline plus a minute, server side
    assert "authorization" not in download.calls[0].request.headers  # the token stays with the API
    assert schema.call_count == 1 and fake_time.sleeps == []  # no polling needed
    [artefact] = result.artefacts
    assert artefact.artefact_id == "Artifact:Images.SegmentImage[0][0]"
    assert artefact.mime_type == "image/png"  # sniffed from the bytes, not the content-type header
    assert payload(result) == image
    check_payload(image, artefact.mime_type, "image")
    assert result.cost == pytest.approx(0.003)
    assert result.diagnostics["cost"] == pytest.approx(0.003)
    assert result.diagnostics["predictTime"] == 1.25
    assert result.diagnostics["predictionId"] == "p1"
    assert result.diagnostics["status"] == "succeeded"
    assert result.diagnostics["usage"] == {"images": 1.0}
    assert result.diagnostics["schemaChecked"] is True


def test_video_that_is_still_starting_is_polled_with_backoff_until_it_succeeds(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    clip = mp4_bytes()
    mock_model(api, SEEDANCE)
    create = mock_create(api, SEEDANCE, httpx.Response(201, json=prediction(SEEDANCE, "starting")))
    poll = api.get(f"{API}/predictions/p1").mock(
        side_effect=[
            httpx.Response(200, json=prediction(SEEDANCE, "processing")),
            httpx.Response(200, json=prediction(SEEDANCE, "processing")),
            httpx.Response(200, json=prediction(SEEDANCE, "succeeded", f"{FILES}/clip.mp4")),
        ]
    )
    api.get(f"{FILES}/clip.mp4").mock(return_value=httpx.Response(200, content=clip))
    context = context_for(
        SEEDANCE, inputs={"Prompt": "Lava at night", "SegmentDuration": 7}, config={"fps": 24}
    )

    result = run(handler_for(SEEDANCE, fake_time), context)

    assert sent_input(create) == {
        "prompt": "Lava at night",
        "duration": 7,
        "resolution": "480p",
        "aspect_ratio": "16:9",
        "fps": 24,
    }
    assert poll.call_count == 3
    assert fake_time.sleeps == [0.5, 1.0, 2.0]
    assert result.artefacts[0].mime_type == "video/mp4"
    check_payload(payload(result), "video/mp4", "video")
    assert result.cost == pytest.approx(7 * 0.018)  # seedance-1-lite at 480p
    assert result.diagnostics["priceTier"] == {"resolution": "480p"}


def test_video_duration_comes_from_config_without_a_segment_duration_and_is_fitted_to_the_model(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    mock_model(api, SEEDANCE)
    create = mock_create(
        api, SEEDANCE, httpx.Response(201, json=prediction(SEEDANCE, "succeeded", f"{FILES}/c.mp4"))
    )
    api.get(f"{FILES}/c.mp4").mock(return_value=httpx.Response(200, content=mp4_bytes()))

    run(handler_for(SEEDANCE, fake_time), context_for(SEEDANCE, config={"duration": 9}))
    assert sent_input(create)["duration"] == 9

    context = context_for(SEEDANCE, inputs={"Prompt": "Lava", "SegmentDuration": 1})
    result = run(handler_for(SEEDANCE, fake_time), context)
    assert sent_input(create)["duration"] == 2  # the model's minimum; the renderer trims the clip
    assert result.diagnostics["fittedInput"] == {"duration": {"requested": 1, "sent": 2}}
    assert any("duration 1" in line for line in logged(context))


def test_music_always_sends_a_duration_and_caps_it_at_the_models_maximum(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    mock_model(api, STABLE_AUDIO)
    create = mock_create(
        api, STABLE_AUDIO, httpx.Response(201, json=prediction(STABLE_AUDIO, "succeeded", f"{FILES}/m.wav"))
    )
    api.get(f"{FILES}/m.wav").mock(return_value=httpx.Response(200, content=wav_bytes()))
    handler = handler_for(STABLE_AUDIO, fake_time)

    result = run(handler, context_for(STABLE_AUDIO, config={"steps": 8}))
    assert sent_input(create) == {"prompt": "Slow, rumbling orchestral score", "duration": 12, "steps": 8}
    assert result.artefacts[0].mime_type == "audio/wav"
    check_payload(payload(result), "audio/wav", "audio")
    assert result.cost == pytest.approx(0.20)  # priced per call

    run(handler, context_for(STABLE_AUDIO, inputs={"Prompt": "Calm piano"}))
    assert sent_input(create)["duration"] == 30  # no Duration input: never the model's 190 s default

    run(handler, context_for(STABLE_AUDIO, inputs={"Prompt": "Calm piano", "Duration": 600}))
    assert sent_input(create)["duration"] == 190


def test_speech_maps_voice_emotion_and_language_and_drops_what_the_model_does_not_take(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    mock_model(api, SPEECH)
    create = mock_create(
        api, SPEECH, httpx.Response(201, json=prediction(SPEECH, "succeeded", f"{FILES}/s.wav"))
    )
    api.get(f"{FILES}/s.wav").mock(return_value=httpx.Response(200, content=wav_bytes()))
    text = "Deep below the surface, rock melts into magma."
    inputs = {"Text": text, "VoiceId": "default", "Language": "en", "Emotion": "calm"}
    context = context_for(SPEECH, inputs=inputs)

    result = run(handler_for(SPEECH, fake_time), context)

    # language_boost is not in this schema: a best-effort field, left out with a warning.
    assert sent_input(create) == {"text": text, "voice_id": "Wise_Woman", "emotion": "calm"}
    assert result.diagnostics["droppedInput"] == ["language_boost"]
    assert any("language_boost" in line for line in logged(context))
    assert result.cost == pytest.approx(len(text) / 1000 * 0.015)
    assert result.artefacts[0].mime_type == "audio/wav"

    inputs = {**inputs, "VoiceId": "English_CalmWoman", "Emotion": "neutral"}
    run(handler_for(SPEECH, fake_time), context_for(SPEECH, inputs=inputs))
    assert sent_input(create) == {"text": text, "voice_id": "English_CalmWoman"}


def test_config_input_adds_raw_replicate_fields(api: respx.MockRouter, fake_time: FakeTime) -> None:
    mock_model(api, FLUX)
    create = mock_create(
        api, FLUX, httpx.Response(201, json=prediction(FLUX, "succeeded", [f"{FILES}/a.png"]))
    )
    api.get(f"{FILES}/a.png").mock(return_value=httpx.Response(200, content=png_bytes()))

    run(
        handler_for(FLUX, fake_time),
        context_for(FLUX, config={"input": {"megapixels": "0.25", "go_fast": False}}),
    )

    assert sent_input(create)["megapixels"] == "0.25"
    assert sent_input(create)["go_fast"] is False


def test_the_schema_is_fetched_once_per_handler(api: respx.MockRouter, fake_time: FakeTime) -> None:
    schema = mock_model(api, FLUX)
    mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "succeeded", [f"{FILES}/a.png"])))
    api.get(f"{FILES}/a.png").mock(return_value=httpx.Response(200, content=png_bytes()))
    handler = handler_for(FLUX, fake_time)

    for _ in range(3):
        run(handler, context_for(FLUX))

    assert schema.call_count == 1


# -- schema validation before paying ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "inputs", "expected"),
    [
        ({"numInferenceSteps": 8}, {}, ["num_inference_steps", "above the maximum 4", "numInferenceSteps"]),
        ({"outputFormat": "gif"}, {}, ["output_format", "'webp', 'jpg', 'png'", "outputFormat"]),
        ({}, {"AspectRatio": "7:3"}, ["aspect_ratio", "must be one of", "AspectRatio"]),
        ({"input": {"guidance": 3.5}}, {}, ["no input 'guidance'", "config input.guidance"]),
        ({"input": {"go_fast": "yes"}}, {}, ["go_fast", "type boolean"]),
        ({"input": {"output_quality": -1}}, {}, ["output_quality", "below the minimum 0"]),
    ],
)
def test_input_that_does_not_fit_the_schema_is_refused_before_any_prediction(
    api: respx.MockRouter,
    fake_time: FakeTime,
    config: dict[str, Any],
    inputs: dict[str, Any],
    expected: list[str],
) -> None:
    mock_model(api, FLUX)
    create = mock_create(
        api, FLUX, httpx.Response(201, json=prediction(FLUX, "succeeded", [f"{FILES}/a.png"]))
    )
    context = context_for(FLUX, config=config, inputs={"Prompt": "A volcano", **inputs})

    with pytest.raises(ProviderConfigError) as raised:
        run(handler_for(FLUX, fake_time), context)

    text = f"{raised.value.message} {raised.value.hint}"
    for fragment in expected:
        assert fragment in text
    assert not create.called


def test_a_required_field_the_job_does_not_set_is_refused(api: respx.MockRouter, fake_time: FakeTime) -> None:
    schemas = json.loads(json.dumps(SCHEMAS[STABLE_AUDIO]))
    schemas["Input"]["required"] = ["prompt", "negative_prompt"]
    schemas["Input"]["properties"]["negative_prompt"] = {"type": "string"}
    mock_model(api, STABLE_AUDIO, schemas)
    create = mock_create(api, STABLE_AUDIO, httpx.Response(201, json=prediction(STABLE_AUDIO, "starting")))

    with pytest.raises(ProviderConfigError, match="requires input negative_prompt"):
        run(handler_for(STABLE_AUDIO, fake_time), context_for(STABLE_AUDIO))
    assert not create.called


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(503, json={"detail": "Service Unavailable"}), httpx.ConnectError("connection refused")],
)
def test_a_schema_fetch_that_fails_on_the_network_or_server_side_is_retryable(
    api: respx.MockRouter, fake_time: FakeTime, failure: httpx.Response | Exception
) -> None:
    route = api.get(f"{API}/models/{FLUX}")
    route.mock(side_effect=failure) if isinstance(failure, Exception) else route.mock(return_value=failure)
    create = mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "starting")))

    with pytest.raises(ProviderError) as raised:
        run(handler_for(FLUX, fake_time), context_for(FLUX))

    assert raised.value.retryable
    assert not create.called


def test_an_unknown_model_on_replicate_is_a_config_error(api: respx.MockRouter, fake_time: FakeTime) -> None:
    api.get(f"{API}/models/{FLUX}").mock(return_value=httpx.Response(404, json={"detail": "Not found."}))
    with pytest.raises(ProviderConfigError, match="Replicate has no model"):
        run(handler_for(FLUX, fake_time), context_for(FLUX))


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "wait"),
    [
        (
            httpx.Response(429, json={"detail": "Request was throttled.", "status": 429, "retry_after": 8}),
            8.0,
        ),
        (httpx.Response(429, json={"detail": "Request was throttled."}, headers={"Retry-After": "3"}), 3.0),
        (
            httpx.Response(
                429, json={"title": "Request was throttled", "detail": "Your rate limit resets in ~12s."}
            ),
            12.0,
        ),
    ],
)
def test_a_throttled_create_is_rate_limited_with_the_wait_replicate_asks_for(
    api: respx.MockRouter, fake_time: FakeTime, response: httpx.Response, wait: float
) -> None:
    mock_model(api, FLUX)
    mock_create(api, FLUX, response)

    with pytest.raises(RateLimitedError) as raised:
        run(handler_for(FLUX, fake_time), context_for(FLUX))

    assert raised.value.retry_after == wait
    assert raised.value.retryable


def test_a_server_error_is_retryable_and_the_runners_next_attempt_succeeds(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    schema = mock_model(api, FLUX)
    create = mock_create(
        api,
        FLUX,
        httpx.Response(500, json={"detail": "Internal server error"}),
        httpx.Response(201, json=prediction(FLUX, "succeeded", [f"{FILES}/a.png"])),
    )
    api.get(f"{FILES}/a.png").mock(return_value=httpx.Response(200, content=png_bytes()))
    handler = handler_for(FLUX, fake_time)

    with pytest.raises(ProviderError) as raised:
        run(handler, context_for(FLUX))
    assert raised.value.retryable and not isinstance(raised.value, ProviderAccountError)

    result = run(handler, context_for(FLUX, attempt=2))
    assert result.artefacts[0].status == "succeeded"
    assert create.call_count == 2 and schema.call_count == 1


@pytest.mark.parametrize("status", [401, 402, 403])
def test_a_refused_account_stops_the_run_and_never_shows_the_token(
    api: respx.MockRouter, fake_time: FakeTime, status: int
) -> None:
    mock_model(api, FLUX)
    body = {"title": "Unauthenticated", "detail": f"You did not pass a valid authentication token ({TOKEN})"}
    mock_create(api, FLUX, httpx.Response(status, json=body))

    with pytest.raises(ProviderAccountError) as raised:
        run(handler_for(FLUX, fake_time), context_for(FLUX))

    assert not raised.value.retryable
    assert f"HTTP {status}" in raised.value.message
    assert "REPLICATE_API_TOKEN" in (raised.value.hint or "")
    assert TOKEN not in f"{raised.value} {raised.value.message} {raised.value.hint} {raised.value.args}"


def test_a_401_on_the_schema_fetch_is_an_account_error_too(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    api.get(f"{API}/models/{FLUX}").mock(return_value=httpx.Response(401, json={"title": "Unauthenticated"}))
    with pytest.raises(ProviderAccountError):
        run(handler_for(FLUX, fake_time), context_for(FLUX))


def test_invalid_input_refused_by_replicate_is_not_retried_and_names_the_field(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    mock_model(api, FLUX)
    body = {
        "title": "Input validation failed",
        "detail": "- input.prompt: Invalid type. Expected: string",
        "status": 422,
        "invalid_fields": [
            {"type": "invalid_type", "field": "input.prompt", "description": "Expected string"}
        ],
    }
    mock_create(api, FLUX, httpx.Response(422, json=body))

    with pytest.raises(ProviderError) as raised:
        run(handler_for(FLUX, fake_time), context_for(FLUX))

    assert not raised.value.retryable
    assert "HTTP 422" in raised.value.message and "input.prompt: Expected string" in raised.value.message


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        ("NSFW content detected. Try running it again, or try a different prompt.", False),
        ("CUDA out of memory. Tried to allocate 2.00 GiB", True),
        ("Prediction interrupted; please retry (code: PA)", True),
    ],
)
def test_a_failed_prediction_raises_its_error_text(
    api: respx.MockRouter, fake_time: FakeTime, error: str, retryable: bool
) -> None:
    mock_model(api, FLUX)
    mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "starting")))
    api.get(f"{API}/predictions/p1").mock(
        return_value=httpx.Response(200, json=prediction(FLUX, "failed", error=error))
    )
    cancel = api.post(f"{API}/predictions/p1/cancel").mock(return_value=httpx.Response(200, json={}))

    with pytest.raises(ProviderError) as raised:
        run(handler_for(FLUX, fake_time), context_for(FLUX))

    assert error in raised.value.message and "p1" in raised.value.message
    assert raised.value.retryable is retryable
    assert not cancel.called  # a terminal prediction is not cancelled


def test_a_prediction_canceled_elsewhere_fails_the_job(api: respx.MockRouter, fake_time: FakeTime) -> None:
    mock_model(api, FLUX)
    mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "canceled")))
    with pytest.raises(ProviderError, match="was canceled") as raised:
        run(handler_for(FLUX, fake_time), context_for(FLUX))
    assert not raised.value.retryable


# -- polling, timeout and cancellation ---------------------------------------------------------------


def test_polling_honours_a_429_retry_after_and_rides_out_server_errors(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    mock_model(api, FLUX)
    mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "starting")))
    api.get(f"{API}/predictions/p1").mock(
        side_effect=[
            httpx.Response(429, json={"detail": "Request was throttled.", "retry_after": 7}),
            httpx.Response(503, text="upstream busy"),
            httpx.ConnectError("reset"),
            httpx.Response(200, json=prediction(FLUX, "succeeded", [f"{FILES}/a.png"])),
        ]
    )
    api.get(f"{FILES}/a.png").mock(return_value=httpx.Response(200, content=png_bytes()))

    result = run(handler_for(FLUX, fake_time), context_for(FLUX))

    assert result.artefacts[0].status == "succeeded"
    assert fake_time.sleeps == [0.5, 7.0, 5.0, 5.0]  # 0.5, then as told, then doubling capped at 5


def test_a_prediction_past_its_deadline_is_cancelled_and_times_out(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    mock_model(api, SEEDANCE)
    create = mock_create(api, SEEDANCE, httpx.Response(201, json=prediction(SEEDANCE, "starting")))
    poll = api.get(f"{API}/predictions/p1").mock(
        return_value=httpx.Response(200, json=prediction(SEEDANCE, "processing"))
    )
    cancel = api.post(f"{API}/predictions/p1/cancel").mock(
        return_value=httpx.Response(200, json=prediction(SEEDANCE, "canceled"))
    )
    context = context_for(SEEDANCE, config={"timeoutSeconds": 20, "waitSeconds": 0})

    with pytest.raises(ProviderTimeoutError, match="did not finish within 20 s") as raised:
        run(handler_for(SEEDANCE, fake_time), context)

    assert raised.value.retryable
    assert cancel.call_count == 1
    assert cancel.calls[0].request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "prefer" not in create.calls[0].request.headers
    assert create.calls[0].request.headers["cancel-after"] == "2m"
    assert fake_time.sleeps == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 2.5]  # the last pause stops at the deadline
    assert sum(fake_time.sleeps) == 20 and poll.call_count == len(fake_time.sleeps)
    assert any("cancelled prediction p1" in line for line in logged(context))


def test_cancelling_the_task_mid_poll_cancels_the_prediction(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    mock_model(api, SEEDANCE)
    mock_create(api, SEEDANCE, httpx.Response(201, json=prediction(SEEDANCE, "starting")))
    cancel = api.post(f"{API}/predictions/p1/cancel").mock(
        return_value=httpx.Response(200, json=prediction(SEEDANCE, "canceled"))
    )
    handler = handler_for(SEEDANCE, fake_time)
    polls: list[int] = []

    async def scenario() -> None:
        task = asyncio.current_task()
        assert task is not None

        def processing(request: httpx.Request) -> httpx.Response:
            polls.append(1)
            if len(polls) == 2:
                task.cancel()  # Ctrl-C while the prediction runs
            return httpx.Response(200, json=prediction(SEEDANCE, "processing"))

        api.get(f"{API}/predictions/p1").mock(side_effect=processing)
        await handler.produce(context_for(SEEDANCE))

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(scenario())

    assert len(polls) == 2
    assert cancel.call_count == 1


def test_a_cancel_that_fails_is_logged_and_the_original_error_kept(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    mock_model(api, SEEDANCE)
    mock_create(api, SEEDANCE, httpx.Response(201, json=prediction(SEEDANCE, "starting")))
    api.get(f"{API}/predictions/p1").mock(
        return_value=httpx.Response(200, json=prediction(SEEDANCE, "processing"))
    )
    api.post(f"{API}/predictions/p1/cancel").mock(side_effect=httpx.ConnectError("down"))
    context = context_for(SEEDANCE, config={"timeoutSeconds": 3})

    with pytest.raises(ProviderTimeoutError):
        run(handler_for(SEEDANCE, fake_time), context)

    assert any("could not cancel prediction p1" in line for line in logged(context))


# -- outputs -------------------------------------------------------------------------------------


def test_an_output_that_is_not_the_artefacts_kind_fails_that_artefact_and_is_deleted(
    api: respx.MockRouter, fake_time: FakeTime, downloads_in_tmp: Path
) -> None:
    mock_model(api, FLUX)
    mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "succeeded", [f"{FILES}/a.png"])))
    api.get(f"{FILES}/a.png").mock(return_value=httpx.Response(200, text="<html>gone</html>"))

    [artefact] = run(handler_for(FLUX, fake_time), context_for(FLUX)).artefacts

    assert artefact.status == "failed" and artefact.file is None
    assert "text/plain, not image" in (artefact.error or "")
    assert list(downloads_in_tmp.iterdir()) == []


def test_several_images_are_requested_and_downloaded_at_once(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    produces = [(f"Artifact:Images.SegmentImage[0][{i}]", "image") for i in range(3)]
    mock_model(api, FLUX)
    urls = [f"{FILES}/out-{i}.png" for i in range(3)]
    create = mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "succeeded", urls)))
    images = []
    for i, url in enumerate(urls):
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), (i * 60, 0, 0)).save(buffer, format="PNG")
        images.append(buffer.getvalue())
        api.get(url).mock(return_value=httpx.Response(200, content=images[-1]))

    result = run(handler_for(FLUX, fake_time), context_for(FLUX, produces=produces))

    assert sent_input(create)["num_outputs"] == 3
    assert [payload(result, i) for i in range(3)] == images
    assert result.cost == pytest.approx(3 * 0.003)


def test_a_succeeded_prediction_without_output_is_not_a_success(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    mock_model(api, FLUX)
    mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "succeeded", None)))
    with pytest.raises(ProviderError, match="without a file output"):
        run(handler_for(FLUX, fake_time), context_for(FLUX))


def test_a_failed_download_is_retried_then_fails_retryable_leaving_no_files(
    api: respx.MockRouter, fake_time: FakeTime, downloads_in_tmp: Path
) -> None:
    produces = [(f"Artifact:Images.SegmentImage[0][{i}]", "image") for i in range(2)]
    mock_model(api, FLUX)
    urls = [f"{FILES}/ok.png", f"{FILES}/bad.png"]
    mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "succeeded", urls)))
    api.get(urls[0]).mock(return_value=httpx.Response(200, content=png_bytes()))
    bad = api.get(urls[1]).mock(return_value=httpx.Response(502, text="bad gateway"))

    with pytest.raises(ProviderError) as raised:
        run(handler_for(FLUX, fake_time), context_for(FLUX, produces=produces))

    assert raised.value.retryable and bad.call_count == 3
    assert list(downloads_in_tmp.iterdir()) == []


def test_an_expired_or_refused_output_url_fails_the_job_but_never_stops_the_run(
    api: respx.MockRouter, fake_time: FakeTime, downloads_in_tmp: Path
) -> None:
    mock_model(api, FLUX)
    mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "succeeded", [f"{FILES}/a.png"])))
    gone = api.get(f"{FILES}/a.png").mock(return_value=httpx.Response(403, text="Signature expired"))

    with pytest.raises(ProviderError) as raised:
        run(handler_for(FLUX, fake_time), context_for(FLUX))

    assert not isinstance(raised.value, ProviderAccountError)  # the account is fine: no run stop
    assert not raised.value.retryable and gone.call_count == 1  # asking again will not help
    assert raised.value.hint is not None and "expired" in raised.value.hint
    assert list(downloads_in_tmp.iterdir()) == []


def test_an_output_that_redirects_is_followed_without_the_token(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    image = png_bytes()
    mock_model(api, FLUX)
    mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "succeeded", [f"{FILES}/a.png"])))
    first = api.get(f"{FILES}/a.png").mock(
        return_value=httpx.Response(302, headers={"location": "https://cdn.example.net/a.png?sig=1"})
    )
    final = api.get("https://cdn.example.net/a.png").mock(return_value=httpx.Response(200, content=image))

    result = run(handler_for(FLUX, fake_time), context_for(FLUX))

    assert payload(result) == image
    for route in (first, final):
        assert "authorization" not in route.calls[0].request.headers


def test_the_api_answering_with_a_redirect_is_not_followed(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    api.get(f"{API}/models/{FLUX}").mock(
        return_value=httpx.Response(307, headers={"location": "https://example.com/models"})
    )
    elsewhere = api.route(host="example.com").mock(return_value=httpx.Response(200, json={}))

    with pytest.raises(ProviderError) as raised:
        run(handler_for(FLUX, fake_time), context_for(FLUX))

    assert "redirect" in raised.value.message and "https://example.com/models" in raised.value.message
    assert not raised.value.retryable and not elsewhere.called


def test_an_output_sent_inline_as_a_data_uri_is_decoded_to_a_file(
    api: respx.MockRouter, fake_time: FakeTime, downloads_in_tmp: Path
) -> None:
    """Sync mode (``Prefer: wait``) may answer with the file itself, base64 in a ``data:`` URI."""
    image = png_bytes()
    uri = "data:image/png;base64," + base64.b64encode(image).decode()
    mock_model(api, FLUX)
    mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "succeeded", [uri])))

    result = run(handler_for(FLUX, fake_time), context_for(FLUX))

    [artefact] = result.artefacts
    assert artefact.mime_type == "image/png"
    assert payload(result) == image
    assert artefact.file is not None and artefact.file.parent == downloads_in_tmp  # the runner's to move
    assert artefact.diagnostics["output"] == "data:image/png;base64"  # not the whole payload
    assert artefact.diagnostics["bytes"] == len(image)
    assert result.diagnostics["outputs"] == 1


def test_a_data_uri_of_the_wrong_kind_fails_the_artefact_and_leaves_no_file(
    api: respx.MockRouter, fake_time: FakeTime, downloads_in_tmp: Path
) -> None:
    uri = "data:image/png;base64," + base64.b64encode(b"<html>not an image</html>").decode()
    mock_model(api, FLUX)
    mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "succeeded", uri)))

    [artefact] = run(handler_for(FLUX, fake_time), context_for(FLUX)).artefacts

    assert artefact.status == "failed" and "text/plain, not image" in (artefact.error or "")
    assert "PGh0bWw" not in (artefact.error or "")  # the base64 payload is not echoed
    assert list(downloads_in_tmp.iterdir()) == []


def test_polling_ignores_an_unreadable_retry_after(api: respx.MockRouter, fake_time: FakeTime) -> None:
    mock_model(api, FLUX)
    mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "starting")))
    api.get(f"{API}/predictions/p1").mock(
        side_effect=[
            httpx.Response(429, headers={"retry-after": "later"}, json={"detail": "slow down"}),
            httpx.Response(200, json=prediction(FLUX, "succeeded", [f"{FILES}/a.png"])),
        ]
    )
    api.get(f"{FILES}/a.png").mock(return_value=httpx.Response(200, content=png_bytes()))

    result = run(handler_for(FLUX, fake_time), context_for(FLUX))

    assert result.artefacts[0].status == "succeeded"
    assert fake_time.sleeps == [0.5, 1.0]  # the usual backoff: the bad header is not a wait


# -- binding, secrets, registry ---------------------------------------------------------------------


def test_any_owner_name_is_a_model_but_a_malformed_name_is_refused() -> None:
    assert build_handler(HandlerSpec("replicate", "acme/unknown", "local", "live")).known is None
    pinned = "acme/unknown:" + "ab" * 32
    assert build_handler(HandlerSpec("replicate", pinned, "local", "live")).name.version == "ab" * 32
    for bad in ("unknown", "acme/unknown:v1", "acme/un known"):
        with pytest.raises(ProviderConfigError, match="owner/name"):
            build_handler(HandlerSpec("replicate", bad, "local", "live"))


def test_a_model_asked_for_another_kind_is_a_config_error(fake_time: FakeTime) -> None:
    context = context_for(FLUX)
    with pytest.raises(ProviderConfigError, match="makes image jobs, not music"):
        run(handler_for(FLUX, fake_time), dataclasses.replace(context, kind="music"))


def test_a_missing_token_is_a_config_error_before_any_request(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    schema = mock_model(api, FLUX)
    with pytest.raises(ProviderConfigError, match="REPLICATE_API_TOKEN"):
        run(handler_for(FLUX, fake_time), context_for(FLUX, secrets={}))
    assert not schema.called


def test_the_live_registry_builds_this_handler_offline_with_a_price_estimate() -> None:
    registry = ProviderRegistry()
    register_live(registry)
    with respx.mock(assert_all_mocked=True):  # building or estimating must not touch the network
        handler = registry.resolve("replicate", FLUX, "local", "live", kind="image")
        assert isinstance(handler, ReplicateHandler)
        assert handler.needs_secrets == ("REPLICATE_API_TOKEN",)
        assert handler.estimate_cost("image", {}, 2) == pytest.approx(0.006)
        audio = registry.resolve("replicate", STABLE_AUDIO, "local", "live", kind="music")
        assert audio.estimate_cost("music", {}, 1) == pytest.approx(0.20)


def test_the_token_never_appears_in_results_errors_or_logs(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    """Replicate echoing the token back (in errors, logs, even outputs' URLs) must not leak it."""
    mock_model(api, FLUX)
    mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "starting", logs=TOKEN)))
    api.get(f"{API}/predictions/p1").mock(
        side_effect=[
            httpx.Response(200, json=prediction(FLUX, "succeeded", [f"{FILES}/a.png?token=x"])),
            httpx.Response(200, json=prediction(FLUX, "failed", error=f"bad key {TOKEN}")),
        ]
    )
    api.get(f"{FILES}/a.png").mock(return_value=httpx.Response(200, content=png_bytes()))
    handler = handler_for(FLUX, fake_time)
    context = context_for(FLUX)

    result = run(handler, context)
    with pytest.raises(TutopandaError) as raised:
        run(handler, context)

    texts = [
        json.dumps(result.diagnostics),
        *(json.dumps(artefact.diagnostics) for artefact in result.artefacts),
        str(raised.value),
        raised.value.hint or "",
        repr(raised.value.args),
        *logged(context, None),
    ]
    assert all(TOKEN not in text for text in texts)
    assert "a.png?token" not in json.dumps(result.artefacts[0].diagnostics)  # signed queries dropped


# -- the shared contract suite, against mocked Replicate --------------------------------------------


class TestReplicateContract(ProviderContractTests):
    """The same checks every handler passes, one sample job per supported model."""

    @pytest.fixture(autouse=True)
    def _replicate(self, api: respx.MockRouter) -> None:
        outputs: dict[str, tuple[str | list[str], bytes]] = {
            FLUX: ([f"{FILES}/i.png"], png_bytes()),
            SEEDANCE: (f"{FILES}/v.mp4", mp4_bytes()),
            STABLE_AUDIO: (f"{FILES}/m.wav", wav_bytes()),
            SPEECH: (f"{FILES}/s.wav", wav_bytes()),
        }
        for model, (output, data) in outputs.items():
            mock_model(api, model)
            mock_create(api, model, httpx.Response(201, json=prediction(model, "succeeded", output)))
            url = output[0] if isinstance(output, list) else output
            api.get(url).mock(return_value=httpx.Response(200, content=data))

    def make_handler(self) -> ReplicateHandler:
        return _ContractHandler()

    def sample_contexts(self) -> list[JobContext]:
        return [
            make_job_context(
                MODELS[model].kind,
                sample.produces,
                inputs=sample.inputs,
                provider="replicate",
                model=model,
                mode="live",
                secrets={"REPLICATE_API_TOKEN": TOKEN},
            )
            for model in (FLUX, SEEDANCE, STABLE_AUDIO, SPEECH)  # the mocked ones
            for sample in [sample_job_context(MODELS[model].kind)]
        ]


class _ContractHandler(ReplicateHandler):
    """Serves every supported model from one handler, as the suite makes a single handler."""

    def __init__(self) -> None:
        super().__init__("replicate", FLUX, "local")
        self._handlers = {
            model: ReplicateHandler("replicate", model, "local")
            for model in (FLUX, SEEDANCE, STABLE_AUDIO, SPEECH)
        }

    async def produce(self, context: JobContext) -> JobResult:
        return await self._handlers[context.model].produce(context)


def test_the_token_is_only_sent_to_the_api_even_if_a_prediction_points_elsewhere(
    api: respx.MockRouter, fake_time: FakeTime
) -> None:
    elsewhere = {"get": "https://example.com/steal", "cancel": "https://example.com/steal/cancel"}
    mock_model(api, FLUX)
    mock_create(api, FLUX, httpx.Response(201, json=prediction(FLUX, "starting", urls=elsewhere)))
    poll = api.get(f"{API}/predictions/p1").mock(
        return_value=httpx.Response(200, json=prediction(FLUX, "succeeded", [f"{FILES}/a.png"]))
    )
    api.get(f"{FILES}/a.png").mock(return_value=httpx.Response(200, content=png_bytes()))

    run(handler_for(FLUX, fake_time), context_for(FLUX))  # respx refuses the unmocked example.com

    assert poll.call_count == 1
