"""What Replicate models are fed: the bundled catalogue, and a mapping for any other model.

Why a catalogue: each Replicate model names its inputs its own way (``prompt`` or ``text``,
``aspect_ratio``, ``duration``...). The bundled models (:data:`MODELS`) have a hand-written builder
(the four first supported) or are mapped from their schema like any other model, and each says how its
calls are billed (images, seconds at a resolution, characters), so plans and results are priced.

Any other ``owner/name`` or ``owner/name:version`` works too: :func:`map_from_schema` maps the job's
inputs onto the model's published OpenAPI input schema by the field names these models share
(``prompt``/``text``, ``aspect_ratio``, ``resolution``, ``duration``, ``voice_id``, ``seed``,
``num_outputs``...). A required field it cannot fill, or a job input the model has no field for when the
input is the job's content, is one error naming every such field, raised before the prediction is
created; config ``input`` fills what the mapping cannot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tutopanda.core.engine.provider_contract import JobContext
from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.providers.job_inputs import input_int, input_text
from tutopanda.providers.live.replicate_schema import input_schema

__all__ = [
    "DEFAULT_MUSIC_SECONDS",
    "DEFAULT_SPEECH_VOICE",
    "DEFAULT_VIDEO_SECONDS",
    "KIND_ARTEFACTS",
    "MODELS",
    "SPEECH_EMOTIONS",
    "SPEECH_LANGUAGES",
    "BuiltInput",
    "ModelName",
    "ReplicateModel",
    "config_int",
    "map_from_schema",
    "model_for",
    "parse_model_name",
]

DEFAULT_MUSIC_SECONDS = 30
DEFAULT_VIDEO_SECONDS = 5
DEFAULT_SPEECH_VOICE = "Wise_Woman"
KIND_ARTEFACTS = {"image": "image", "video": "video", "music": "audio", "narration": "audio"}
"""Job kind -> the artefact kind a Replicate model makes for it."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*(?::[0-9a-f]{64})?$", re.IGNORECASE)


@dataclass(frozen=True)
class ModelName:
    """``owner/name`` with an optional pinned ``version`` (64 hex digits)."""

    name: str
    version: str | None = None


def parse_model_name(model: str) -> ModelName:
    """``owner/name[:version]``; ProviderConfigError for anything else (offline, at handler build)."""
    if not _NAME.match(model):
        raise ProviderConfigError(
            f"replicate model {model!r} is not owner/name or owner/name:version",
            "e.g. replicate/black-forest-labs/flux-schnell or replicate/owner/name:<64-hex version id>",
        )
    name, _, version = model.partition(":")
    return ModelName(name, version or None)


# -- the bundled models' builders ------------------------------------------------------------------


@dataclass
class BuiltInput:
    """A model's input for one job, with where each field came from (named in validation errors)."""

    values: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)
    fitted: frozenset[str] = frozenset()
    """Numeric fields moved into the schema's minimum/maximum instead of rejected (durations)."""
    optional: frozenset[str] = frozenset()
    """Best-effort fields dropped (with a warning) when the model's schema does not accept them."""
    unmapped: list[str] = field(default_factory=list)
    """Job inputs the model has no field for (left out; recorded in the diagnostics)."""

    def set(self, name: str, value: Any, source: str) -> None:
        if value is not None:
            self.values[name] = value
            self.sources[name] = source


@dataclass(frozen=True)
class ReplicateModel:
    """One model: the job kind it serves, its artefact kind, its input and its usage."""

    name: str
    kind: str
    artefact_kind: str
    build: Callable[[JobContext, int, str], BuiltInput] | None
    """``(context, number of artefacts to make, where) -> input``; None: mapped from the schema."""
    usage: Callable[[Mapping[str, Any], int], dict[str, float]]
    """``(input sent, outputs returned) -> usage`` priced by the price table."""
    typical: Callable[[Mapping[str, Any], int], dict[str, float]]
    """``(config, artefacts) -> usage`` of a typical call, for plan estimates."""
    tier: Callable[[Mapping[str, Any]], dict[str, str] | None] = lambda values: None
    """``(input sent) -> price tier`` (``{"resolution": "720p"}``) for models priced by tier."""
    bundled: bool = True


def config_int(config: Mapping[str, Any], key: str, default: int | None, where: str) -> int | None:
    value = config.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ProviderConfigError(
            f"{where}: config {key} = {value!r} is not a whole number", f"set {key} to a whole number"
        )
    return int(value)


def _config_str(config: Mapping[str, Any], key: str, default: str | None, where: str) -> str | None:
    value = config.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ProviderConfigError(f"{where}: config {key} = {value!r} is not a string", f"quote {key}")
    return value


def _prompt(context: JobContext, alias: str, where: str) -> str:
    text = input_text(context.inputs, alias)
    if not text:
        raise ProviderError(f"{where}: the {alias} input is empty", f"give the job a non-empty {alias}")
    return text


def _seed(built: BuiltInput, context: JobContext, where: str) -> None:
    built.set("seed", config_int(context.config, "seed", None, where), "config seed")


def _flux_schnell(context: JobContext, count: int, where: str) -> BuiltInput:
    built = BuiltInput({})
    built.set("prompt", _prompt(context, "Prompt", where), "input Prompt")
    built.set("aspect_ratio", input_text(context.inputs, "AspectRatio", "16:9"), "input AspectRatio")
    built.set(
        "output_format", _config_str(context.config, "outputFormat", "png", where), "config outputFormat"
    )
    built.set("num_outputs", count, "the number of image artefacts the job makes")
    built.set(
        "num_inference_steps",
        config_int(context.config, "numInferenceSteps", 4, where),
        "config numInferenceSteps",
    )
    _seed(built, context, where)
    return built


def _seedance_lite(context: JobContext, count: int, where: str) -> BuiltInput:
    built = BuiltInput({}, fitted=frozenset({"duration"}))
    built.set("prompt", _prompt(context, "Prompt", where), "input Prompt")
    if "SegmentDuration" in context.inputs:
        configured = config_int(context.config, "duration", DEFAULT_VIDEO_SECONDS, where)
        seconds = input_int(context.inputs, "SegmentDuration", configured or DEFAULT_VIDEO_SECONDS)
        built.set("duration", seconds, "input SegmentDuration")
    else:
        built.set(
            "duration",
            config_int(context.config, "duration", DEFAULT_VIDEO_SECONDS, where),
            "config duration",
        )
    built.set("resolution", input_text(context.inputs, "Resolution", "480p"), "input Resolution")
    built.set("aspect_ratio", input_text(context.inputs, "AspectRatio", "16:9"), "input AspectRatio")
    built.set("fps", config_int(context.config, "fps", None, where), "config fps")
    camera_fixed = context.config.get("cameraFixed")
    if camera_fixed is not None and not isinstance(camera_fixed, bool):
        raise ProviderConfigError(f"{where}: config cameraFixed = {camera_fixed!r} is not true or false")
    built.set("camera_fixed", camera_fixed, "config cameraFixed")
    _seed(built, context, where)
    return built


def _stable_audio(context: JobContext, count: int, where: str) -> BuiltInput:
    built = BuiltInput({}, fitted=frozenset({"duration"}))
    built.set("prompt", _prompt(context, "Prompt", where), "input Prompt")
    # Always sent: the model's own default is 190 s, far longer (and dearer) than a typical movie bed.
    configured = config_int(context.config, "duration", DEFAULT_MUSIC_SECONDS, where) or DEFAULT_MUSIC_SECONDS
    source = "input Duration" if input_int(context.inputs, "Duration", 0) else "config duration"
    built.set("duration", input_int(context.inputs, "Duration", configured), source)
    built.set("steps", config_int(context.config, "steps", None, where), "config steps")
    cfg_scale = context.config.get("cfgScale")
    if cfg_scale is not None and (isinstance(cfg_scale, bool) or not isinstance(cfg_scale, int | float)):
        raise ProviderConfigError(f"{where}: config cfgScale = {cfg_scale!r} is not a number")
    built.set("cfg_scale", cfg_scale, "config cfgScale")
    _seed(built, context, where)
    return built


SPEECH_LANGUAGES = {
    "ar": "Arabic",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "hi": "Hindi",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "ru": "Russian",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "zh": "Chinese",
}
"""``Language`` input -> MiniMax ``language_boost`` (best effort: dropped if the model refuses it)."""

SPEECH_EMOTIONS = {"calm": "calm", "enthusiastic": "happy"}
"""``Emotion`` input -> MiniMax ``emotion``; neutral and serious leave the model's automatic choice."""


def _minimax_speech(context: JobContext, count: int, where: str) -> BuiltInput:
    built = BuiltInput({}, optional=frozenset({"emotion", "language_boost"}))
    built.set("text", _prompt(context, "Text", where), "input Text")
    voice = input_text(context.inputs, "VoiceId", "default")
    if voice == "default":
        default_voice = _config_str(context.config, "defaultVoice", DEFAULT_SPEECH_VOICE, where)
        built.set("voice_id", default_voice, "config defaultVoice (VoiceId is default)")
    else:
        built.set("voice_id", voice, "input VoiceId")
    emotion = input_text(context.inputs, "Emotion", "neutral")
    built.set("emotion", SPEECH_EMOTIONS.get(emotion), "input Emotion")
    language = input_text(context.inputs, "Language", "").split("-")[0].lower()
    built.set("language_boost", SPEECH_LANGUAGES.get(language), "input Language")
    return built


def _duration_seconds(values: Mapping[str, Any], outputs: int) -> dict[str, float]:
    duration = values.get("duration")
    return {"seconds": float(duration)} if isinstance(duration, int | float) else {}


def _images(values: Mapping[str, Any], outputs: int) -> dict[str, float]:
    return {"images": float(outputs)}


def _typical_images(config: Mapping[str, Any], produces: int) -> dict[str, float]:
    return {"images": float(max(1, produces))}


def _typical_video(config: Mapping[str, Any], produces: int) -> dict[str, float]:
    return {"seconds": float(config.get("duration") or DEFAULT_VIDEO_SECONDS)}


def _typical_music(config: Mapping[str, Any], produces: int) -> dict[str, float]:
    return {"seconds": float(config.get("duration") or DEFAULT_MUSIC_SECONDS)}


def _characters(values: Mapping[str, Any], outputs: int) -> dict[str, float]:
    return {"characters": float(len(str(values.get("text") or values.get("prompt") or "")))}


def _typical_speech(config: Mapping[str, Any], produces: int) -> dict[str, float]:
    return {"characters": 600.0}


def _resolution_tier(values: Mapping[str, Any]) -> dict[str, str] | None:
    resolution = values.get("resolution")
    return {"resolution": str(resolution)} if isinstance(resolution, str) else None


def _image(name: str, build: Callable[[JobContext, int, str], BuiltInput] | None = None) -> ReplicateModel:
    return ReplicateModel(name, "image", "image", build, usage=_images, typical=_typical_images)


def _video(name: str, build: Callable[[JobContext, int, str], BuiltInput] | None = None) -> ReplicateModel:
    return ReplicateModel(
        name, "video", "video", build, usage=_duration_seconds, typical=_typical_video, tier=_resolution_tier
    )


def _speech(name: str, build: Callable[[JobContext, int, str], BuiltInput] | None = None) -> ReplicateModel:
    return ReplicateModel(name, "narration", "audio", build, usage=_characters, typical=_typical_speech)


MODELS: dict[str, ReplicateModel] = {
    model.name: model
    for model in (
        _image("black-forest-labs/flux-schnell", _flux_schnell),
        _image("bytedance/seedream-4"),
        _image("google/nano-banana"),
        _image("google/imagen-4"),
        _image("qwen/qwen-image"),
        _video("bytedance/seedance-1-lite", _seedance_lite),
        _video("bytedance/seedance-1-pro-fast"),
        _video("google/veo-3.1-fast"),
        ReplicateModel(
            "stability-ai/stable-audio-2.5",
            "music",
            "audio",
            _stable_audio,
            usage=_duration_seconds,
            typical=_typical_music,
        ),
        _speech("minimax/speech-02-turbo", _minimax_speech),
        _speech("minimax/speech-2.6-hd"),
        _speech("minimax/speech-2.6-turbo"),
    )
}
"""The bundled models, by Replicate name: hand-written builders, or (``build`` None) mapped from the
schema like any other model, with how each is billed."""


def model_for(name: str, kind: str) -> ReplicateModel:
    """The catalogue entry of ``name`` (``owner/name``), or a schema-mapped model of job ``kind``."""
    known = MODELS.get(name)
    if known is not None:
        return known
    usage, typical = {
        "image": (_images, _typical_images),
        "video": (_duration_seconds, _typical_video),
        "music": (_duration_seconds, _typical_music),
        "narration": (_characters, _typical_speech),
    }[kind]
    tier = _resolution_tier if kind == "video" else (lambda values: None)
    return ReplicateModel(name, kind, KIND_ARTEFACTS[kind], None, usage, typical, tier, bundled=False)


# -- any model: inputs mapped from the schema --------------------------------------------------------

_CONTENT: dict[str, tuple[str, tuple[str, ...]]] = {
    "image": ("Prompt", ("prompt", "text")),
    "video": ("Prompt", ("prompt", "text")),
    "music": ("Prompt", ("prompt", "text", "caption")),
    "narration": ("Text", ("text", "prompt", "input")),
}
"""Job kind -> (the input that is the job's content, the fields that may take it, first found wins)."""

_OPTIONAL_INPUTS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "image": (("AspectRatio", ("aspect_ratio",)),),
    "video": (
        ("AspectRatio", ("aspect_ratio",)),
        ("Resolution", ("resolution",)),
        ("SegmentDuration", ("duration", "seconds")),
    ),
    "music": (("Duration", ("duration", "seconds", "duration_seconds")),),
    "narration": (
        ("VoiceId", ("voice_id", "voice")),
        ("Emotion", ("emotion",)),
        ("Language", ("language_boost", "language")),
    ),
}
"""Job kind -> (input alias, fields that may take it): sent when the model has the field."""

_COUNT_FIELDS = ("num_outputs", "number_of_images", "max_images", "num_images")


def _first(properties: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    return next((name for name in names if name in properties), None)


def _optional_value(alias: str, field_name: str, context: JobContext) -> Any:
    if alias in ("SegmentDuration", "Duration"):
        return input_int(context.inputs, alias, 0) or None
    value = input_text(context.inputs, alias, "")
    if not value:
        return None
    if alias == "VoiceId":
        return None if value.lower() == "default" else value
    if alias == "Emotion":
        return SPEECH_EMOTIONS.get(value)
    if alias == "Language" and field_name == "language_boost":
        return SPEECH_LANGUAGES.get(value.split("-")[0].lower())
    return value


def map_from_schema(
    context: JobContext, count: int, where: str, schema: Mapping[str, Any], model: str
) -> BuiltInput:
    """The job's inputs mapped onto ``schema``'s fields (see the module docstring).

    Raises ProviderConfigError naming every field it could not map: the job's content with no field to
    take it, or required fields neither the job nor config ``input`` sets.
    """
    resolved, _ = input_schema(schema)
    properties: Mapping[str, Any] = resolved.get("properties") or {}
    kind = context.kind
    alias, candidates = _CONTENT[kind]
    built = BuiltInput(
        {},
        fitted=frozenset({"duration", "seconds", "duration_seconds"}),
        optional=frozenset({"emotion", "language_boost", "language", "aspect_ratio", "resolution"}),
    )
    problems: list[str] = []
    content_field = _first(properties, candidates)
    if content_field is None:
        problems.append(f"the {alias} input (no field {' or '.join(candidates)})")
    else:
        text = input_text(context.inputs, alias)
        if not text:
            raise ProviderError(f"{where}: the {alias} input is empty", f"give the job a non-empty {alias}")
        built.set(content_field, text, f"input {alias}")
    for name, fields in _OPTIONAL_INPUTS[kind]:
        if name not in context.inputs:
            continue
        target = _first(properties, fields)
        if target is None:
            built.unmapped.append(name)
            continue
        built.set(target, _optional_value(name, target, context), f"input {name}")
    count_field = _first(properties, _COUNT_FIELDS)
    if count > 1:
        if count_field is None:
            problems.append(f"{count} outputs per call (no field {' or '.join(_COUNT_FIELDS)})")
        else:
            built.set(count_field, count, "the number of artefacts the job makes")
    if "seed" in context.config:
        if "seed" not in properties:
            problems.append("config seed (the model has no seed field)")
        else:
            built.set("seed", config_int(context.config, "seed", None, where), "config seed")
    raw = context.config.get("input")
    if isinstance(raw, Mapping):
        for name, value in raw.items():
            built.set(str(name), value, f"config input.{name}")
    required = resolved.get("required") or []
    missing = [name for name in required if isinstance(name, str) and name not in built.values]
    problems.extend(f"required field {name}" for name in missing)
    if problems:
        known = ", ".join(sorted(properties)) or "(none)"
        raise ProviderConfigError(
            f"{where}: cannot map onto {model}'s input schema: " + "; ".join(problems),
            f"set the fields with config input: {{field: value}}; the model's fields are: {known}",
        )
    return built
