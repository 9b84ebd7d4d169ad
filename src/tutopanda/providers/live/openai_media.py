"""OpenAI media jobs: ``narration`` with ``gpt-4o-mini-tts`` and ``image`` with ``gpt-image-1``.

Speech (``POST /v1/audio/speech``) reads the ``Text`` input with the ``VoiceId`` voice (``default``: config
``voice``, else ``alloy``); the variant's prompt template, rendered with the inputs (``{{Emotion}}``), is
sent as the reading ``instructions``. The answer is the audio file itself; its type is taken from its
bytes. The endpoint reports no usage, so the cost is computed from the text (about 4 characters a
token) and the audio's length (exact for WAV, else estimated at 2.5 words a second).

Images (``POST /v1/images/generations``) draw the ``Prompt`` input (or the rendered prompt template,
when the variant has one) at the size closest to ``AspectRatio``: GPT image models draw 1024x1024,
1536x1024 or 1024x1536 only, and the renderer scales to the movie's ``Resolution``. The image comes back
base64-encoded in the JSON answer; each call costs the price table's per-image price.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import wave
from collections.abc import Mapping
from typing import Any, ClassVar

from tutopanda.core.engine.provider_contract import JobContext, JobResult, ProducedArtefact, ProviderHandler
from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.core.store.media_type import media_type_of_bytes
from tutopanda.providers.job_inputs import config_number, input_text, requested_artefacts
from tutopanda.providers.live.base import LiveHandler
from tutopanda.providers.live.openai_api import OpenAIHandler, call_openai, json_body
from tutopanda.providers.live.templates import render_template
from tutopanda.providers.registry import HandlerSpec

__all__ = [
    "IMAGE_SIZES",
    "MAX_SPEECH_CHARACTERS",
    "OPENAI_VOICES",
    "SPEECH_FORMATS",
    "OpenAIImageHandler",
    "OpenAISpeechHandler",
    "build_handler",
    "image_size",
]

OPENAI_VOICES = (
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse", "marin",
    "cedar",
)  # fmt: skip
"""The built-in voices (custom voices are ids starting ``voice_``)."""
DEFAULT_OPENAI_VOICE = "alloy"
SPEECH_FORMATS = ("mp3", "opus", "flac", "wav")
"""``responseFormat`` values: files whose type shows in their bytes (``aac`` and raw ``pcm`` do not)."""
MAX_SPEECH_CHARACTERS = 4096
"""The speech endpoint's limit on ``input``."""
IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
"""The sizes GPT image models draw."""
IMAGE_FORMATS = ("png", "jpeg", "webp")

_WORDS_PER_SECOND = 2.5
_CHARACTERS_PER_TOKEN = 4


def _where(context: JobContext, handler: LiveHandler) -> str:
    return f"{context.job_id} ({handler.provider}/{handler.model})"


def _choice(
    config: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str | None, where: str
) -> str | None:
    value = config.get(key, default)
    if value is not None and value not in allowed:
        raise ProviderConfigError(
            f"{where}: config {key} = {value!r} is not one of {', '.join(allowed)}",
            f"set {key} to one of {', '.join(allowed)} in the variant's config",
        )
    return value if value is None else str(value)


def _audio_seconds(data: bytes, mime_type: str, text: str) -> tuple[float, bool]:
    """The audio's length in seconds and whether it is estimated (from the words, at 2.5 a second)."""
    if mime_type == "audio/wav":
        try:
            with wave.open(io.BytesIO(data), "rb") as reader:
                frames, rate = reader.getnframes(), reader.getframerate()
            if rate > 0 and 0 < frames < 0x7FFFFFFF:  # streamed WAVs carry a placeholder length
                return round(frames / rate, 3), False
        except (wave.Error, EOFError):
            pass
    return round(max(1.0, len(text.split()) / _WORDS_PER_SECOND), 3), True


class OpenAISpeechHandler(OpenAIHandler):
    """``narration`` jobs: the ``Text`` input read aloud (see the module docstring)."""

    kinds: ClassVar[frozenset[str]] = frozenset({"narration"})
    config_keys: ClassVar[frozenset[str] | None] = frozenset({"voice", "speed", "responseFormat"})

    def typical_usage(self, kind: str, config: Mapping[str, Any], produces: int) -> Mapping[str, float]:
        """A 30-second segment: about 75 words (450 characters, some 120 tokens with the instructions)."""
        return {"characters": 450, "input_tokens": 120, "seconds": 30}

    def check_config(self, kind: str, config: Mapping[str, Any]) -> None:
        """Before any call: ``responseFormat`` and ``speed`` (0.25-4) as the speech endpoint documents."""
        super().check_config(kind, config)
        where = f"{self.provider}/{self.model} ({kind})"
        _choice(config, "responseFormat", SPEECH_FORMATS, None, where)
        if "speed" in config:
            config_number(config, "speed", 1.0, low=0.25, high=4.0, where=where)

    def _voice(self, context: JobContext) -> str | dict[str, str]:
        voice = input_text(context.inputs, "VoiceId", "default")
        if voice.lower() == "default":
            configured = context.config.get("voice", DEFAULT_OPENAI_VOICE)
            voice = str(configured).strip() or DEFAULT_OPENAI_VOICE
        if voice.startswith("voice_"):
            return {"id": voice}
        return voice.lower() if voice.lower() in OPENAI_VOICES else voice

    def _request(self, context: JobContext, text: str, where: str) -> dict[str, Any]:
        config = context.config
        response_format = _choice(config, "responseFormat", SPEECH_FORMATS, "mp3", where)
        request: dict[str, Any] = {
            "model": self.model,
            "input": text,
            "voice": self._voice(context),
            "response_format": response_format,
        }
        if context.prompt and context.prompt.strip() and not self.model.startswith("tts-1"):
            instructions = render_template(context.prompt, context.inputs, where=where).strip()
            if instructions:
                request["instructions"] = instructions
        if "speed" in config:
            request["speed"] = config_number(config, "speed", 1.0, low=0.25, high=4.0, where=where)
        return request

    async def produce(self, context: JobContext) -> JobResult:
        """One speech call; every requested audio artefact gets the clip."""
        where = _where(context, self)
        if not any(kind == "audio" for _, kind in context.produces):
            raise ProviderConfigError(f"{where}: this job makes no audio artefact for a speech model")
        text = input_text(context.inputs, "Text")
        if not text:
            raise ProviderError(f"{where}: the Text input is empty, there is nothing to read")
        if len(text) > MAX_SPEECH_CHARACTERS:
            raise ProviderError(
                f"{where}: the narration has {len(text)} characters; OpenAI speech reads at most "
                f"{MAX_SPEECH_CHARACTERS} per call",
                "use more segments (NumOfSegments) or a shorter Duration",
            )
        endpoint = self.endpoint(context.config, where)
        request = self._request(context, text, where)
        request["model"] = self.request_model(endpoint)
        what = f"speech for {context.job_id}"
        data, request_id = await call_openai(
            self,
            context,
            what,
            where,
            lambda client: client.audio.speech.with_raw_response.create(**request),
            endpoint,
        )
        if not data:
            raise ProviderError(f"{where}: the speech answer is empty", retryable=True)
        mime_type = media_type_of_bytes(data[:512])
        if not mime_type.startswith("audio/"):
            raise ProviderError(f"{where}: the speech answer is not audio ({mime_type})", retryable=True)
        seconds, estimated = _audio_seconds(data, mime_type, text)
        prompt_characters = len(text) + len(str(request.get("instructions", "")))
        usage = {
            "characters": float(len(text)),
            "input_tokens": float(math.ceil(prompt_characters / _CHARACTERS_PER_TOKEN)),
            "seconds": seconds,
        }
        voice = request["voice"]
        details: dict[str, Any] = {
            "voice": voice["id"] if isinstance(voice, dict) else voice,
            "responseFormat": request["response_format"],
            "durationSeconds": seconds,
            "durationEstimated": estimated,
            "usageEstimated": True,
        }
        if request_id:
            details["requestId"] = request_id
        artefacts = [
            ProducedArtefact(artefact_id, mime_type=mime_type, data=data, diagnostics=dict(details))
            if kind == "audio"
            else ProducedArtefact(artefact_id, status="failed", error=f"OpenAI speech cannot make a {kind}")
            for artefact_id, kind in context.produces
        ]
        return self.result(artefacts, usage, details)


IMAGE_QUALITIES = ("low", "medium", "high", "auto")
IMAGE_OUTPUT_TOKENS: dict[str, dict[str, float]] = {
    "low": {"1024x1024": 272, "1024x1536": 408, "1536x1024": 400},
    "medium": {"1024x1024": 1056, "1024x1536": 1584, "1536x1024": 1568},
    "high": {"1024x1024": 4160, "1024x1536": 6240, "1536x1024": 6208},
}
"""Image output tokens of one GPT image by quality and size (OpenAI's image-generation guide, cost
section); the bill is these at the model's output-token price. Used when an answer reports no usage."""


def image_usage(body: Mapping[str, Any], request: Mapping[str, Any], images: int) -> dict[str, float]:
    """What a generation is billed on: the answer's ``usage`` tokens (text and image input, image output).

    Without ``usage`` (older models, some compatible servers) the output tokens come from the answer's
    size and quality (:data:`IMAGE_OUTPUT_TOKENS`, ``auto`` as high) and the prompt at 4 characters a token.
    """
    found: dict[str, float] = {"images": float(images)}
    usage = body.get("usage")
    if isinstance(usage, Mapping):
        details = usage.get("input_tokens_details")
        image_in = details.get("image_tokens") if isinstance(details, Mapping) else None
        total_in = usage.get("input_tokens")
        out = usage.get("output_tokens")
        if isinstance(total_in, int | float) and not isinstance(total_in, bool):
            found["input_tokens"] = float(total_in)
            if isinstance(image_in, int | float) and not isinstance(image_in, bool) and image_in:
                found["input_tokens"] = float(total_in - image_in)
                found["image_input_tokens"] = float(image_in)
        if isinstance(out, int | float) and not isinstance(out, bool):
            found["output_tokens"] = float(out)
        return found
    size = str(body.get("size") or request.get("size"))
    quality = str(body.get("quality") or request.get("quality") or "auto")
    per_image = IMAGE_OUTPUT_TOKENS.get(quality, IMAGE_OUTPUT_TOKENS["high"])
    found["output_tokens"] = per_image.get(size, per_image["1536x1024"]) * images
    found["input_tokens"] = float(math.ceil(len(str(request.get("prompt", ""))) / _CHARACTERS_PER_TOKEN))
    return found


def image_size(aspect_ratio: str, where: str) -> str:
    """The GPT image size nearest ``aspect_ratio``: ``16:9`` -> ``1536x1024``, ``9:16`` -> ``1024x1536``."""
    width, _, height = aspect_ratio.partition(":")
    try:
        ratio = float(width) / float(height)
    except (ValueError, ZeroDivisionError):
        raise ProviderConfigError(
            f"{where}: AspectRatio {aspect_ratio!r} is not W:H", "use e.g. 16:9, 9:16 or 1:1"
        ) from None
    if not math.isfinite(ratio) or ratio <= 0:
        raise ProviderConfigError(f"{where}: AspectRatio {aspect_ratio!r} is not W:H", "use e.g. 16:9")
    if ratio > 1.2:
        return "1536x1024"
    if ratio < 1 / 1.2:
        return "1024x1536"
    return "1024x1024"


class OpenAIImageHandler(OpenAIHandler):
    """``image`` jobs: one drawing per requested image artefact (see the module docstring)."""

    kinds: ClassVar[frozenset[str]] = frozenset({"image"})
    config_keys: ClassVar[frozenset[str] | None] = frozenset({"size", "quality", "outputFormat"})

    def typical_usage(self, kind: str, config: Mapping[str, Any], produces: int) -> Mapping[str, float]:
        """The image tokens of the configured quality and size (``auto`` counted as high: the dearest
        it may pick), plus a typical 100-token prompt, per requested image."""
        count = float(max(1, produces))
        size = config.get("size") if config.get("size") in IMAGE_OUTPUT_TOKENS["high"] else "1536x1024"
        quality = config.get("quality") if config.get("quality") in IMAGE_OUTPUT_TOKENS else "high"
        tokens = IMAGE_OUTPUT_TOKENS[str(quality)][str(size)]
        return {"images": count, "input_tokens": 100.0, "output_tokens": tokens * count}

    def check_config(self, kind: str, config: Mapping[str, Any]) -> None:
        """Before any call: the size, quality and format the Images API documents for GPT image models."""
        super().check_config(kind, config)
        where = f"{self.provider}/{self.model} ({kind})"
        _choice(config, "size", IMAGE_SIZES, None, where)
        _choice(config, "outputFormat", IMAGE_FORMATS, None, where)
        if self.model.startswith("gpt-image"):
            _choice(config, "quality", IMAGE_QUALITIES, None, where)

    def _request(self, context: JobContext, count: int, where: str) -> dict[str, Any]:
        config = context.config
        if context.prompt and context.prompt.strip():
            prompt = render_template(context.prompt, context.inputs, where=where).strip()
        else:
            prompt = input_text(context.inputs, "Prompt")
        if not prompt:
            raise ProviderError(f"{where}: the Prompt input is empty, there is nothing to draw")
        size = _choice(config, "size", IMAGE_SIZES, None, where) or image_size(
            input_text(context.inputs, "AspectRatio", "16:9"), where
        )
        request: dict[str, Any] = {"model": self.model, "prompt": prompt, "size": size, "n": count}
        quality = config.get("quality")
        if quality is not None:
            if not isinstance(quality, str) or not quality.strip():
                raise ProviderConfigError(
                    f"{where}: config quality = {quality!r} is not a word", "use low, medium, high or auto"
                )
            request["quality"] = quality.strip()
        output_format = _choice(config, "outputFormat", IMAGE_FORMATS, None, where)
        if output_format is not None:
            request["output_format"] = output_format
        return request

    async def produce(self, context: JobContext) -> JobResult:
        """One generation call for all requested images; each decoded from its base64 answer."""
        where = _where(context, self)
        images = [item for item in requested_artefacts(context) if item.kind == "image"]
        if not 1 <= len(images) <= 10:
            raise ProviderConfigError(
                f"{where}: one call draws 1 to 10 images, this job asks for {len(images)}"
            )
        endpoint = self.endpoint(context.config, where)
        request = self._request(context, len(images), where)
        request["model"] = self.request_model(endpoint)
        what = f"image for {context.job_id}"
        content, request_id = await call_openai(
            self,
            context,
            what,
            where,
            lambda client: client.images.with_raw_response.generate(**request),
            endpoint,
        )
        body = json_body(content, provider=self.provider, what=what)
        data = body.get("data")
        entries = data if isinstance(data, list) else []
        if not entries:
            raise ProviderError(f"{where}: the answer holds no image", retryable=True)
        details: dict[str, Any] = {
            "size": body.get("size", request["size"]),
            "quality": body.get("quality"),
            "outputFormat": body.get("output_format"),
        }
        tokens = body.get("usage")
        if isinstance(tokens, dict):
            details["tokens"] = {
                key: value
                for key, value in tokens.items()
                if isinstance(value, int) and not isinstance(value, bool)
            }
        if request_id:
            details["requestId"] = request_id
        by_id = {
            item.artefact_id: self._artefact(item.artefact_id, entries, index, where)
            for index, item in enumerate(images)
        }
        artefacts = [
            by_id.get(artefact_id)
            or ProducedArtefact(artefact_id, status="failed", error=f"OpenAI images cannot make a {kind}")
            for artefact_id, kind in context.produces
        ]
        usage = image_usage(body, request, len(entries))
        if "usage" not in body:
            details["usageEstimated"] = True
        return self.result(artefacts, usage, details)

    def _artefact(self, artefact_id: str, entries: list[Any], index: int, where: str) -> ProducedArtefact:
        entry = entries[index] if index < len(entries) else None
        encoded = entry.get("b64_json") if isinstance(entry, dict) else None
        if not isinstance(encoded, str) or not encoded:
            got = "a URL" if isinstance(entry, dict) and entry.get("url") else "nothing"
            return ProducedArtefact(
                artefact_id,
                status="failed",
                error=f"{where}: image {index} of the answer has no b64_json ({got})",
            )
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return ProducedArtefact(
                artefact_id, status="failed", error=f"{where}: image {index} is not base64"
            )
        mime_type = media_type_of_bytes(data[:512])
        if not data or not mime_type.startswith("image/"):
            return ProducedArtefact(
                artefact_id, status="failed", error=f"{where}: image {index} is not an image ({mime_type})"
            )
        diagnostics: dict[str, Any] = {"bytes": len(data)}
        if isinstance(entry, dict) and isinstance(entry.get("revised_prompt"), str):
            diagnostics["revisedPrompt"] = entry["revised_prompt"]
        return ProducedArtefact(artefact_id, mime_type=mime_type, data=data, diagnostics=diagnostics)


def build_handler(spec: HandlerSpec) -> ProviderHandler:
    """The registry's builder for OpenAI speech (``*tts*``) and image (``*image*``, ``dall-e*``) models."""
    if "tts" in spec.model:
        return OpenAISpeechHandler(spec.provider, spec.model, spec.environment, prices=spec.prices)
    if "image" in spec.model or spec.model.startswith("dall-e"):
        return OpenAIImageHandler(spec.provider, spec.model, spec.environment, prices=spec.prices)
    raise ProviderConfigError(
        f"{spec.provider}/{spec.model} is neither a speech (tts) nor an image model",
        "use gpt-4o-mini-tts for narration or gpt-image-1 for images",
    )
