"""Issue 19 at the transport level (respx): endpoints, Azure, new request shapes, preflight, prices.

Each test checks what a user of these APIs would notice: where a request goes and with which key
header, which fields it carries, what is refused before anything is paid, and what a call costs.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import wave
from collections.abc import Iterator
from typing import Any

import pytest
import respx

from tests.providers.live.test_elevenlabs import KEY as EL_KEY
from tests.providers.live.test_elevenlabs import MP3, TEXT, VOICE, audio, speech_context
from tests.providers.live.test_openai import KEY as OPENAI_KEY
from tests.providers.live.test_openai import image_answer, media_context, responses_body, text_context
from tests.providers.live.test_replicate import (
    TOKEN,
    FakeTime,
    mock_model,
    png_bytes,
    prediction,
    wav_bytes,
)
from tutopanda.core.blueprint.expand import accept_unlisted_variants, select_variants
from tutopanda.core.blueprint.loader import load_blueprint
from tutopanda.core.engine.provider_contract import JobContext, JobResult
from tutopanda.core.errors import InputValidationError, ProviderConfigError
from tutopanda.providers.live.elevenlabs import ElevenLabsHandler, word_timings
from tutopanda.providers.live.endpoints import resolve_endpoint
from tutopanda.providers.live.openai_media import OpenAIImageHandler, OpenAISpeechHandler
from tutopanda.providers.live.openai_text import OpenAITextHandler
from tutopanda.providers.live.replicate import ReplicateHandler
from tutopanda.providers.local.speech_clip import read_word_timings
from tutopanda.providers.pricing import PriceTable
from tutopanda.providers.variant_policy import RegistryVariants
from tutopanda.testing import sample_job_context

PNG = png_bytes()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture(autouse=True)
def no_endpoint_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION", "REPLICATE_BASE_URL",
        "ELEVENLABS_BASE_URL", "ELEVENLABS_RESIDENCY",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def run(handler: Any, context: JobContext) -> JobResult:
    result: JobResult = asyncio.run(handler.produce(context))
    return result


# -- endpoints -------------------------------------------------------------------------------------


def env(values: dict[str, str]) -> Any:
    return values.get


def test_base_url_precedence_is_config_then_variable_then_default() -> None:
    assert resolve_endpoint("replicate", {}, env({})).base_url == "https://api.replicate.com/v1"
    variable = resolve_endpoint("replicate", {}, env({"REPLICATE_BASE_URL": "https://proxy.example/v1/"}))
    assert (variable.base_url, variable.source) == ("https://proxy.example/v1", "REPLICATE_BASE_URL")
    configured = resolve_endpoint(
        "replicate", {"baseUrl": "http://127.0.0.1:9000/v1"}, env({"REPLICATE_BASE_URL": "https://x.example"})
    )
    assert (configured.base_url, configured.source) == ("http://127.0.0.1:9000/v1", "config baseUrl")


@pytest.mark.parametrize(
    ("region", "host"),
    [("eu", "https://api.eu.residency.elevenlabs.io"), ("in", "https://api.in.residency.elevenlabs.io"),
     ("US", "https://api.us.elevenlabs.io")],
)  # fmt: skip
def test_elevenlabs_residency_picks_the_regional_host(region: str, host: str) -> None:
    assert resolve_endpoint("elevenlabs", {}, env({"ELEVENLABS_RESIDENCY": region})).base_url == host
    assert resolve_endpoint("elevenlabs", {"residency": region}, env({})).base_url == host


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({"baseUrl": "http://api.example.com/v1"}, "plain http to a remote host"),
        ({"baseUrl": "https://user:secret@api.example.com"}, "credentials"),
        ({"baseUrl": "ftp://api.example.com"}, "not an http"),
        ({"residency": "mars"}, "not an ElevenLabs region"),
    ],
)
def test_an_unusable_endpoint_is_refused_before_any_call(config: dict[str, str], needle: str) -> None:
    with pytest.raises(ProviderConfigError, match=needle) as raised:
        resolve_endpoint("elevenlabs", config, env({}))
    assert "secret" not in raised.value.message


def test_azure_is_chosen_by_its_endpoint_and_needs_its_own_key(monkeypatch: pytest.MonkeyPatch) -> None:
    azure = resolve_endpoint(
        "openai", {"deployment": "img"}, env({"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com"})
    )
    assert azure.azure and azure.deployment == "img" and azure.api_version
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com")
    assert OpenAIImageHandler("openai", "gpt-image-1", "local").needs_secrets == ("AZURE_OPENAI_API_KEY",)
    monkeypatch.setenv("OPENAI_BASE_URL", "https://gateway.example/v1")  # an explicit base URL wins
    assert OpenAIImageHandler("openai", "gpt-image-1", "local").needs_secrets == ("OPENAI_API_KEY",)


# -- OpenAI ----------------------------------------------------------------------------------------


def test_openai_base_url_variable_is_honoured(api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://gateway.example/openai/v1")
    route = api.post("https://gateway.example/openai/v1/images/generations").respond(
        200, json=image_answer(PNG)
    )
    run(OpenAIImageHandler("openai", "gpt-image-1", "local"), media_context("image", "gpt-image-1"))
    assert route.call_count == 1
    assert route.calls.last.request.headers["authorization"] == f"Bearer {OPENAI_KEY}"


def test_azure_images_go_to_the_deployment_with_api_key_and_api_version(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
    route = api.post(
        "https://res.openai.azure.com/openai/deployments/painter/images/generations",
        params={"api-version": "2025-04-01-preview"},
    ).respond(200, json=image_answer(PNG))
    context = media_context(
        "image", "gpt-image-1", config={"deployment": "painter"}, secrets={"AZURE_OPENAI_API_KEY": "az-key-1"}
    )
    result = run(OpenAIImageHandler("openai", "gpt-image-1", "local"), context)
    assert result.artefacts[0].status == "succeeded"
    request = route.calls.last.request
    assert request.headers["api-key"] == "az-key-1" and "authorization" not in request.headers
    assert json.loads(request.content)["model"] == "painter"


def test_responses_store_nothing_unless_asked(api: respx.MockRouter) -> None:
    route = api.post("https://api.openai.com/v1/responses").respond(200, json=responses_body("Lava flows."))
    run(OpenAITextHandler("openai", "gpt-5-mini", "local"), text_context("video-prompt", segments=1))
    assert json.loads(route.calls.last.request.content)["store"] is False
    run(
        OpenAITextHandler("openai", "gpt-5-mini", "local"),
        text_context("video-prompt", segments=1, config={"store": True}),
    )
    assert json.loads(route.calls.last.request.content)["store"] is True


@pytest.mark.parametrize(
    ("handler", "kind", "config", "needle"),
    [
        (OpenAITextHandler("openai", "gpt-5-mini", "local"), "script", {"temperature": 0.3}, "reasoning"),
        (OpenAISpeechHandler("openai", "gpt-4o-mini-tts", "local"), "narration", {"speed": 5}, "speed"),
        (OpenAISpeechHandler("openai", "gpt-4o-mini-tts", "local"), "narration", {"responseFormat": "aac"},
         "responseFormat"),
        (OpenAIImageHandler("openai", "gpt-image-1", "local"), "image", {"quality": "ultra"}, "quality"),
        (OpenAIImageHandler("openai", "gpt-image-1", "local"), "image", {"size": "800x600"}, "size"),
    ],
)  # fmt: skip
def test_openai_preflight_refuses_what_the_api_would(
    handler: Any, kind: str, config: dict[str, Any], needle: str
) -> None:
    with pytest.raises(ProviderConfigError, match=needle):
        handler.check_config(kind, config)


def test_temperature_is_fine_on_a_non_reasoning_model() -> None:
    OpenAITextHandler("openai", "gpt-4.1-mini", "local").check_config("script", {"temperature": 0.3})


# -- Replicate -------------------------------------------------------------------------------------

REPLICATE = "https://api.replicate.com/v1"
VERSION = "ab" * 32
VEO = "google/veo-3.1-fast"
VEO_SCHEMA = {
    "Input": {
        "type": "object",
        "required": ["prompt"],
        "properties": {
            "prompt": {"type": "string"},
            "aspect_ratio": {"type": "string", "enum": ["16:9", "9:16"]},
            "resolution": {"type": "string", "enum": ["720p", "1080p"]},
            "duration": {"type": "integer", "enum": [4, 6, 8]},
            "seed": {"type": "integer"},
            "generate_audio": {"type": "boolean"},
        },
    }
}


def replicate_handler(model: str, fake_time: FakeTime | None = None) -> ReplicateHandler:
    clock = fake_time or FakeTime()
    return ReplicateHandler("replicate", model, "local", sleep=clock.sleep, clock=clock.clock)


def replicate_context(kind: str, model: str, **overrides: Any) -> JobContext:
    overrides.setdefault("secrets", {"REPLICATE_API_TOKEN": TOKEN})
    return sample_job_context(kind, provider="replicate", model=model, mode="live", **overrides)


def test_an_unlisted_video_model_is_mapped_from_its_schema_with_durations_fitted_to_its_enum(
    api: respx.MockRouter,
) -> None:
    mock_model(api, VEO, VEO_SCHEMA)
    create = api.post(f"{REPLICATE}/models/{VEO}/predictions").respond(
        201, json=prediction(VEO, "succeeded", "https://replicate.delivery/v.mp4")
    )
    api.get("https://replicate.delivery/v.mp4").respond(200, content=_mp4())
    inputs = {"Prompt": "Lava at dusk", "AspectRatio": "16:9", "Resolution": "720p", "SegmentDuration": 5}
    result = run(replicate_handler(VEO), replicate_context("video", VEO, inputs=inputs, config={"seed": 3}))
    sent = json.loads(create.calls.last.request.content)["input"]
    assert sent == {
        "prompt": "Lava at dusk",
        "aspect_ratio": "16:9",
        "resolution": "720p",
        "duration": 6,
        "seed": 3,
    }
    assert result.diagnostics["fittedInput"] == {"duration": {"requested": 5, "sent": 6}}
    assert result.cost == pytest.approx(6 * 0.15)  # the bundled price entry, per second


def test_a_model_whose_schema_cannot_take_the_job_names_every_unmappable_field(api: respx.MockRouter) -> None:
    model = "acme/odd-image"
    properties = {"caption_text": {"type": "string"}, "style_id": {"type": "integer"}}
    schema = {"Input": {"type": "object", "required": ["caption_text", "style_id"], "properties": properties}}
    mock_model(api, model, schema)
    create = api.post(f"{REPLICATE}/models/{model}/predictions")
    with pytest.raises(ProviderConfigError) as raised:
        run(replicate_handler(model), replicate_context("image", model, config={"seed": 1}))
    message = raised.value.message
    assert "Prompt input" in message and "config seed" in message
    assert "required field caption_text" in message and "required field style_id" in message
    assert "config input" in (raised.value.hint or "") and create.call_count == 0


def test_a_pinned_version_reads_that_versions_schema_and_creates_by_version(api: respx.MockRouter) -> None:
    model = f"acme/painter:{VERSION}"
    schema = {
        "Input": {"type": "object", "required": ["prompt"], "properties": {"prompt": {"type": "string"}}}
    }
    version_route = api.get(f"{REPLICATE}/models/acme/painter/versions/{VERSION}").respond(
        200, json={"id": VERSION, "openapi_schema": {"components": {"schemas": schema}}}
    )
    create = api.post(f"{REPLICATE}/predictions").respond(
        201, json=prediction("acme/painter", "succeeded", ["https://replicate.delivery/a.png"])
    )
    api.get("https://replicate.delivery/a.png").respond(200, content=PNG)
    result = run(replicate_handler(model), replicate_context("image", model))
    assert version_route.call_count == 1
    assert json.loads(create.calls.last.request.content) == {
        "version": VERSION,
        "input": {"prompt": sample_prompt()},
    }
    assert result.cost is None  # no price entry: unknown, never $0
    assert result.diagnostics["catalogued"] is False


def sample_prompt() -> str:
    prompt = sample_job_context("image").inputs["Prompt"]
    assert isinstance(prompt, str)
    return prompt


def test_jobs_starting_together_fetch_the_schema_once(api: respx.MockRouter) -> None:
    flux = "black-forest-labs/flux-schnell"
    schema_route = mock_model(api, flux)
    api.post(f"{REPLICATE}/models/{flux}/predictions").respond(
        201, json=prediction(flux, "succeeded", ["https://replicate.delivery/a.png"])
    )
    api.get("https://replicate.delivery/a.png").respond(200, content=PNG)
    handler = replicate_handler(flux)

    async def three() -> list[JobResult]:
        return list(
            await asyncio.gather(*(handler.produce(replicate_context("image", flux)) for _ in range(3)))
        )

    results = asyncio.run(three())
    assert all(result.artefacts[0].status == "succeeded" for result in results)
    assert schema_route.call_count == 1 and handler.schema_fetches == 1


def test_replicate_base_url_receives_schema_create_and_poll(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = "https://replicate-proxy.example/v1"
    monkeypatch.setenv("REPLICATE_BASE_URL", base)
    flux = "black-forest-labs/flux-schnell"
    from tests.providers.live.test_replicate import model_body

    api.get(f"{base}/models/{flux}").respond(200, json=model_body(flux))
    urls = {"get": f"{base}/predictions/p1", "cancel": f"{base}/predictions/p1/cancel"}
    api.post(f"{base}/models/{flux}/predictions").respond(201, json=prediction(flux, "starting", urls=urls))
    poll = api.get(f"{base}/predictions/p1").respond(
        200, json=prediction(flux, "succeeded", ["https://replicate.delivery/a.png"], urls=urls)
    )
    api.get("https://replicate.delivery/a.png").respond(200, content=PNG)
    result = run(replicate_handler(flux), replicate_context("image", flux))
    assert result.artefacts[0].status == "succeeded" and poll.call_count == 1


def _mp4() -> bytes:
    from tests.providers.live.test_replicate import mp4_bytes

    return mp4_bytes()


# -- ElevenLabs ------------------------------------------------------------------------------------

TTS = "https://api.elevenlabs.io/v1/text-to-speech"


def eleven(model: str = "eleven_flash_v2_5") -> ElevenLabsHandler:
    return ElevenLabsHandler("elevenlabs", model, "local")


def alignment(text: str) -> dict[str, Any]:
    return {
        "characters": list(text),
        "character_start_times_seconds": [i * 0.05 for i in range(len(text))],
        "character_end_times_seconds": [i * 0.05 + 0.04 for i in range(len(text))],
    }


def test_with_timestamps_puts_word_timings_in_a_pcm_wav_and_the_diagnostics(api: respx.MockRouter) -> None:
    pcm = wav_bytes(0.5, 24000)[44:]
    route = api.post(f"{TTS}/{VOICE}/with-timestamps").respond(
        200, json={"audio_base64": base64.b64encode(pcm).decode(), "alignment": alignment(TEXT)}
    )
    context = speech_context(config={"timestamps": True, "outputFormat": "pcm_24000"})
    result = run(eleven(), context)
    [artefact] = result.artefacts
    assert route.calls.last.request.url.params["output_format"] == "pcm_24000"
    assert artefact.mime_type == "audio/wav" and artefact.data is not None
    words = read_word_timings(artefact.data)
    assert words is not None and [w.text for w in words] == TEXT.split()
    assert words[1].start == pytest.approx(TEXT.index(TEXT.split()[1]) * 0.05)
    assert result.diagnostics["wordTimingsInAudio"] is True
    assert len(result.diagnostics["words"]) == len(TEXT.split())
    with wave.open(io.BytesIO(artefact.data)) as reader:
        assert reader.getframerate() == 24000


def test_timestamps_default_to_pcm_so_the_timings_reach_the_captions(api: respx.MockRouter) -> None:
    pcm = wav_bytes(0.5, 24000)[44:]
    route = api.post(f"{TTS}/{VOICE}/with-timestamps").respond(
        200, json={"audio_base64": base64.b64encode(pcm).decode(), "alignment": alignment(TEXT)}
    )
    [artefact] = run(eleven(), speech_context(config={"timestamps": True})).artefacts
    assert route.calls.last.request.url.params["output_format"] == "pcm_24000"
    assert artefact.data is not None and read_word_timings(artefact.data)


def test_with_timestamps_in_mp3_keeps_the_timings_in_the_diagnostics(api: respx.MockRouter) -> None:
    api.post(f"{TTS}/{VOICE}/with-timestamps").respond(
        200, json={"audio_base64": base64.b64encode(MP3).decode(), "alignment": alignment(TEXT)}
    )
    result = run(eleven(), speech_context(config={"timestamps": True, "outputFormat": "mp3_44100_128"}))
    assert result.artefacts[0].data == MP3
    assert (
        result.diagnostics["wordTimingsInAudio"] is False
        and result.diagnostics["words"][0]["text"] == "Magma"
    )


def test_word_timings_are_dropped_when_the_alignment_does_not_spell_the_text() -> None:
    assert word_timings("Hello world", alignment("Hello there")) == []


def test_neighbouring_text_and_seed_are_sent(api: respx.MockRouter) -> None:
    route = api.post(f"{TTS}/{VOICE}").mock(return_value=audio())
    context = speech_context(config={"seed": 42})
    inputs = {**context.inputs, "PreviousText": "Before this.", "NextText": "After this."}
    import dataclasses

    run(eleven(), dataclasses.replace(context, inputs=inputs))
    body = json.loads(route.calls.last.request.content)
    assert (body["previous_text"], body["next_text"], body["seed"]) == ("Before this.", "After this.", 42)


def test_a_voice_name_is_looked_up_once_for_all_jobs(api: respx.MockRouter) -> None:
    voices = api.get("https://api.elevenlabs.io/v1/voices").respond(
        200, json={"voices": [{"voice_id": VOICE, "name": "Sarah"}, {"voice_id": "x" * 20, "name": "George"}]}
    )
    route = api.post(f"{TTS}/{VOICE}").mock(return_value=audio())
    handler = eleven()
    for _ in range(2):
        result = run(handler, speech_context(voice="sarah"))
        assert result.diagnostics["voiceId"] == VOICE and result.diagnostics["voiceName"] == "sarah"
    assert voices.call_count == 1 and route.call_count == 2
    with pytest.raises(ProviderConfigError, match="no voice named 'Nobody'") as raised:
        run(handler, speech_context(voice="Nobody"))
    assert "george" in (raised.value.hint or "")


def test_residency_sends_the_call_to_the_regional_host(api: respx.MockRouter) -> None:
    route = api.post(f"https://api.eu.residency.elevenlabs.io/v1/text-to-speech/{VOICE}").mock(
        return_value=audio()
    )
    run(eleven(), speech_context(config={"residency": "eu"}))
    assert route.calls.last.request.headers["xi-api-key"] == EL_KEY


@pytest.mark.parametrize(
    ("kind", "config", "needle"),
    [
        ("narration", {"speed": 1.5}, "speed"),
        ("narration", {"speed": 0.5}, "speed"),
        ("narration", {"outputFormat": "ulaw_8000"}, "outputFormat"),
        ("music", {"outputFormat": "wav_44100"}, "outputFormat"),
        ("narration", {"seed": -1}, "seed"),
        ("narration", {"timestamps": "yes"}, "timestamps"),
    ],
)
def test_elevenlabs_preflight_refuses_what_the_api_would(
    kind: str, config: dict[str, Any], needle: str
) -> None:
    with pytest.raises(ProviderConfigError, match=needle):
        eleven("music_v1" if kind == "music" else "eleven_v3").check_config(kind, config)
    eleven("music_v1").check_config("music", {"outputFormat": "pcm_44100"})  # music has pcm


# -- prices ----------------------------------------------------------------------------------------


def test_every_bundled_price_names_its_source_and_date() -> None:
    table = PriceTable.load()
    for price in table:  # type: ignore[attr-defined]
        assert price.source and price.source.startswith("https://"), (price.provider, price.model)
        assert price.checked and len(price.checked) == 10, (price.provider, price.model)


def test_a_call_at_a_tier_without_a_price_is_unknown_not_free(tmp_path: Any) -> None:
    price = PriceTable.load().get("replicate", "bytedance/seedance-1-pro-fast")
    assert price is not None
    assert price.cost({"seconds": 5}, {"resolution": "1080p"}) == pytest.approx(5 * 0.06)
    assert price.cost({"seconds": 5}, {"resolution": "4k"}) is None


# -- any registered model via --provider -----------------------------------------------------------


def test_a_selection_may_name_any_registered_handler_of_the_modules_kind() -> None:
    blueprint = load_blueprint("image-audio")
    accept_unlisted_variants(RegistryVariants())
    try:
        chosen = select_variants(
            blueprint, {"Images": ("openai", "gpt-image-1"), "Narration": ("elevenlabs", "eleven_v3")}
        )
        assert (chosen["Images"].provider, chosen["Images"].model) == ("openai", "gpt-image-1")
        assert chosen["Narration"].config.get("stability") == 0.5  # the listed ElevenLabs variant's config
        with pytest.raises(InputValidationError) as raised:
            select_variants(blueprint, {"Images": ("openai", "gpt-5-mini")})
        assert "openai/gpt-image-*" in (raised.value.hint or "")
        with pytest.raises(InputValidationError):
            select_variants(blueprint, {"Images": ("replicate", "not a model")})
    finally:
        accept_unlisted_variants(None)
    with pytest.raises(InputValidationError):  # without the policy, only listed variants
        select_variants(blueprint, {"Images": ("openai", "gpt-image-1")})
