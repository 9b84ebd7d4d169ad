"""Replicate predictions over plain HTTP: image, video, music and speech models.

Why httpx rather than the ``replicate`` SDK: the SDK retries GETs on its own (10 attempts) and never
retries a create, which hides call counts from the runner's retry policy and from tests. Owning the few
requests we need (schema, create, poll, cancel, download) keeps the error policy of
:mod:`tutopanda.providers.live.http` in one place.

One call, in order:

1. **Build the input** from the job with the model's entry in :data:`MODELS` (a small table: which
   blueprint input or config value becomes which Replicate field). Config ``input`` (a mapping) adds or
   overrides raw Replicate fields.
2. **Check it before paying.** The model's input schema (``GET /v1/models/{owner}/{name}``,
   ``latest_version.openapi_schema.components.schemas.Input``) is fetched once per handler. Unknown
   fields, missing required fields, wrong types, values outside an enum or a minimum/maximum are a
   :class:`~tutopanda.core.errors.ProviderConfigError` naming the field, raised before the prediction is
   created. Durations are fitted into the model's range instead (the renderer trims or loops clips), and
   a few best-effort fields (speech emotion and language) are dropped when the model does not take them.
3. **Create** ``POST /v1/models/{owner}/{name}/predictions`` with ``Prefer: wait=N`` and a
   ``Cancel-After`` deadline, then **poll** with exponential backoff until the prediction is terminal.
   Ctrl-C (task cancellation), the ``timeoutSeconds`` deadline or any other error while it runs cancels
   the prediction (``POST /v1/predictions/{id}/cancel``) before re-raising.
4. **Download** every output at once (they expire after an hour) into temporary files handed to the
   runner, with the MIME type sniffed from the bytes. Downloads follow redirects and carry no token;
   an output sent inline as a ``data:`` URI (sync mode may do that) is decoded into a file the same way.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tutopanda.core.errors import (
    ProviderConfigError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
)
from tutopanda.core.media_type import fits_kind
from tutopanda.core.provider_contract import JobContext, JobResult, ProducedArtefact
from tutopanda.providers.job_inputs import RequestedArtefact, input_int, input_text, requested_artefacts
from tutopanda.providers.live import http
from tutopanda.providers.live.base import LiveHandler
from tutopanda.providers.registry import HandlerSpec

__all__ = [
    "API_BASE",
    "MODELS",
    "BuiltInput",
    "ReplicateHandler",
    "ReplicateModel",
    "build_handler",
    "check_input",
]

API_BASE = "https://api.replicate.com/v1"
PROVIDER = "replicate"
TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
"""``aborted``: a ``Cancel-After`` deadline passed before the prediction started (not charged)."""

DEFAULT_WAIT_SECONDS = 30
DEFAULT_TIMEOUT_SECONDS = 600
POLL_START = 0.5
POLL_CAP = 5.0
CANCEL_GRACE_SECONDS = 60
"""The server-side ``Cancel-After`` deadline trails ours by this much: ours normally fires first, the
server's catches predictions whose process died (or was interrupted while creating them)."""
DOWNLOAD_ATTEMPTS = 3
DEFAULT_MUSIC_SECONDS = 30
DEFAULT_VIDEO_SECONDS = 5
DEFAULT_SPEECH_VOICE = "Wise_Woman"

_THROTTLE_SECONDS = re.compile(r"~\s*(\d+(?:\.\d+)?)\s*s\b")
_TRANSIENT = re.compile(
    r"timed? ?out|timeout|out of memory|cuda|try again|temporar|unavailable|overloaded|interrupted"
    r"|internal (server )?error|connection|capacity|preempt|worker (died|lost)",
    re.IGNORECASE,
)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


# -- input building --------------------------------------------------------------------------------


@dataclass
class BuiltInput:
    """A model's input for one job, with where each field came from (named in validation errors)."""

    values: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)
    fitted: frozenset[str] = frozenset()
    """Numeric fields moved into the schema's minimum/maximum instead of rejected (durations)."""
    optional: frozenset[str] = frozenset()
    """Best-effort fields dropped (with a warning) when the model's schema does not accept them."""

    def set(self, name: str, value: Any, source: str) -> None:
        if value is not None:
            self.values[name] = value
            self.sources[name] = source


@dataclass(frozen=True)
class ReplicateModel:
    """One supported model: the job kind it serves, its artefact kind, its input and its usage."""

    name: str
    kind: str
    artefact_kind: str
    build: Callable[[JobContext, int, str], BuiltInput]
    """``(context, number of artefacts to make, where) -> input``."""
    usage: Callable[[Mapping[str, Any], int], dict[str, float]]
    """``(input sent, outputs returned) -> usage`` priced by the price table."""
    typical: Callable[[Mapping[str, Any], int], dict[str, float]]
    """``(config, artefacts) -> usage`` of a typical call, for plan estimates."""


def _config_int(config: Mapping[str, Any], key: str, default: int | None, where: str) -> int | None:
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
    built.set("seed", _config_int(context.config, "seed", None, where), "config seed")


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
        _config_int(context.config, "numInferenceSteps", 4, where),
        "config numInferenceSteps",
    )
    _seed(built, context, where)
    return built


def _seedance_lite(context: JobContext, count: int, where: str) -> BuiltInput:
    built = BuiltInput({}, fitted=frozenset({"duration"}))
    built.set("prompt", _prompt(context, "Prompt", where), "input Prompt")
    if "SegmentDuration" in context.inputs:
        configured = _config_int(context.config, "duration", DEFAULT_VIDEO_SECONDS, where)
        seconds = input_int(context.inputs, "SegmentDuration", configured or DEFAULT_VIDEO_SECONDS)
        built.set("duration", seconds, "input SegmentDuration")
    else:
        built.set(
            "duration",
            _config_int(context.config, "duration", DEFAULT_VIDEO_SECONDS, where),
            "config duration",
        )
    built.set("resolution", input_text(context.inputs, "Resolution", "480p"), "input Resolution")
    built.set("aspect_ratio", input_text(context.inputs, "AspectRatio", "16:9"), "input AspectRatio")
    built.set("fps", _config_int(context.config, "fps", None, where), "config fps")
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
    configured = (
        _config_int(context.config, "duration", DEFAULT_MUSIC_SECONDS, where) or DEFAULT_MUSIC_SECONDS
    )
    source = "input Duration" if input_int(context.inputs, "Duration", 0) else "config duration"
    built.set("duration", input_int(context.inputs, "Duration", configured), source)
    built.set("steps", _config_int(context.config, "steps", None, where), "config steps")
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


MODELS: dict[str, ReplicateModel] = {
    model.name: model
    for model in (
        ReplicateModel(
            "black-forest-labs/flux-schnell",
            "image",
            "image",
            _flux_schnell,
            usage=lambda values, outputs: {"images": float(outputs)},
            typical=lambda config, produces: {"images": float(max(1, produces))},
        ),
        ReplicateModel(
            "bytedance/seedance-1-lite",
            "video",
            "video",
            _seedance_lite,
            usage=_duration_seconds,
            typical=lambda config, produces: {
                "seconds": float(config.get("duration") or DEFAULT_VIDEO_SECONDS)
            },
        ),
        ReplicateModel(
            "stability-ai/stable-audio-2.5",
            "music",
            "audio",
            _stable_audio,
            usage=_duration_seconds,
            typical=lambda config, produces: {
                "seconds": float(config.get("duration") or DEFAULT_MUSIC_SECONDS)
            },
        ),
        ReplicateModel(
            "minimax/speech-02-turbo",
            "narration",
            "audio",
            _minimax_speech,
            usage=lambda values, outputs: {"characters": float(len(str(values.get("text", ""))))},
            typical=lambda config, produces: {"characters": 600.0},
        ),
    )
}
"""The models this handler knows how to feed, by Replicate name."""


# -- schema validation -----------------------------------------------------------------------------


def _resolve(prop: Any, components: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
    """``prop`` with ``$ref`` and ``allOf`` parts merged in (Replicate puts enums behind ``$ref``)."""
    if not isinstance(prop, Mapping) or depth > 8:
        return {}
    merged = {key: value for key, value in prop.items() if key not in ("$ref", "allOf")}
    parts: list[Any] = []
    ref = prop.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        parts.append(components.get(ref.rsplit("/", 1)[1]))
    all_of = prop.get("allOf")
    if isinstance(all_of, list):
        parts.extend(all_of)
    for part in parts:
        for key, value in _resolve(part, components, depth + 1).items():
            merged.setdefault(key, value)
    return merged


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: isinstance(value, str),
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "boolean": lambda value: isinstance(value, bool),
    "array": lambda value: isinstance(value, list | tuple),
    "object": lambda value: isinstance(value, Mapping),
    "null": lambda value: value is None,
}


def _bounds(prop: Mapping[str, Any]) -> tuple[float | None, float | None]:
    low = prop.get("minimum")
    high = prop.get("maximum")
    return (
        float(low) if isinstance(low, int | float) and not isinstance(low, bool) else None,
        float(high) if isinstance(high, int | float) and not isinstance(high, bool) else None,
    )


def _problem(value: Any, prop: Mapping[str, Any], components: Mapping[str, Any]) -> str | None:
    """Why ``value`` does not fit the (resolved) schema ``prop``; None when it fits."""
    alternatives = prop.get("anyOf") or prop.get("oneOf")
    if isinstance(alternatives, list) and alternatives:
        problems = [_problem(value, _resolve(option, components), components) for option in alternatives]
        if all(problems):
            return next(problem for problem in problems if problem)
    if value is None and prop.get("nullable") is True:
        return None
    declared = prop.get("type")
    types = [declared] if isinstance(declared, str) else declared if isinstance(declared, list) else []
    checks = [_TYPE_CHECKS[name] for name in types if name in _TYPE_CHECKS]
    if checks and not any(check(value) for check in checks):
        return f"must be of type {' or '.join(str(name) for name in types)}, not {type(value).__name__}"
    enum = prop.get("enum")
    if isinstance(enum, list) and not any(value == option and type(value) is type(option) for option in enum):
        return "must be one of " + ", ".join(repr(option) for option in enum)
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = _bounds(prop)
        if low is not None and value < low:
            return f"is below the minimum {low:g}"
        if high is not None and value > high:
            return f"is above the maximum {high:g}"
        for key, plain, sign in (("exclusiveMinimum", "minimum", 1), ("exclusiveMaximum", "maximum", -1)):
            limit = prop.get(key)
            if limit is True:  # OpenAPI 3.0: a flag on minimum/maximum
                limit = prop.get(plain)
            if isinstance(limit, int | float) and not isinstance(limit, bool) and sign * (value - limit) <= 0:
                return f"must be {'above' if sign > 0 else 'below'} {limit:g}"
    if isinstance(value, str):
        if isinstance(prop.get("maxLength"), int) and len(value) > prop["maxLength"]:
            return f"is longer than {prop['maxLength']} characters"
        if isinstance(prop.get("minLength"), int) and len(value) < prop["minLength"]:
            return f"is shorter than {prop['minLength']} characters"
    if isinstance(value, list | tuple):
        if isinstance(prop.get("maxItems"), int) and len(value) > prop["maxItems"]:
            return f"has more than {prop['maxItems']} items"
        if isinstance(prop.get("minItems"), int) and len(value) < prop["minItems"]:
            return f"has fewer than {prop['minItems']} items"
        items = _resolve(prop.get("items"), components)
        for index, item in enumerate(value):
            problem = _problem(item, items, components)
            if problem:
                return f"item {index} {problem}"
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass
class CheckedInput:
    """The input that passed the schema, and what was changed to make it pass."""

    values: dict[str, Any]
    dropped: list[str] = field(default_factory=list)
    fitted: dict[str, dict[str, Any]] = field(default_factory=dict)


def check_input(built: BuiltInput, schema: Mapping[str, Any], model: str, where: str) -> CheckedInput:
    """Validate ``built`` against the model's OpenAPI ``schema`` (the ``openapi_schema`` document).

    Raises :class:`ProviderConfigError` naming the first field that does not fit (and where its value
    came from). ``fitted`` fields are clamped into the schema's range; ``optional`` ones that do not fit
    are dropped.
    """
    components = schema.get("components", {}).get("schemas", {})
    input_schema = _resolve(components.get("Input"), components)
    properties: Mapping[str, Any] = input_schema.get("properties") or {}
    checked = CheckedInput(dict(built.values))
    hint_fields = ", ".join(sorted(properties)) or "(none)"
    for name in list(checked.values):
        source = built.sources.get(name, "the handler")
        value = checked.values[name]
        if name not in properties:
            if name in built.optional:
                checked.dropped.append(name)
                del checked.values[name]
                continue
            raise ProviderConfigError(
                f"{where}: {model} has no input {name!r} (set from {source})",
                f"remove it; the model's inputs are: {hint_fields}",
            )
        prop = _resolve(properties[name], components)
        if name in built.fitted and isinstance(value, int | float) and not isinstance(value, bool):
            low, high = _bounds(prop)
            fitted = value
            if low is not None and fitted < low:
                fitted = math.ceil(low) if isinstance(value, int) else low
            if high is not None and fitted > high:
                fitted = math.floor(high) if isinstance(value, int) else high
            if fitted != value:
                checked.fitted[name] = {"requested": value, "sent": fitted}
                checked.values[name] = value = fitted
        problem = _problem(value, prop, components)
        if problem is None:
            continue
        if name in built.optional:
            checked.dropped.append(name)
            del checked.values[name]
            continue
        raise ProviderConfigError(
            f"{where}: input {name} = {_shown(value)} {problem} (set from {source}; {model}'s input schema)",
            f"change {source.split(' (')[0]} so that {name} fits the model",
        )
    required = input_schema.get("required") or []
    missing = [name for name in required if isinstance(name, str) and name not in checked.values]
    if missing:
        raise ProviderConfigError(
            f"{where}: {model} requires input {missing[0]}, which the job does not set",
            f"set it with config input: {{{missing[0]}: ...}}",
        )
    return checked


# -- the handler -----------------------------------------------------------------------------------


def _cancel_after(seconds: float) -> str:
    """A ``Cancel-After`` value in whole minutes (the documented form is ``1m``)."""
    return f"{max(1, math.ceil((seconds + CANCEL_GRACE_SECONDS) / 60))}m"


def _outputs(output: Any) -> list[str]:
    """The files of a prediction's ``output`` (a URL, a list of URLs, or nested lists).

    A file is an ``http(s)`` URL to download, or a ``data:`` URI carrying the file itself (sync mode,
    ``Prefer: wait``, may answer that way).
    """
    if isinstance(output, str):
        return [output] if output.lower().startswith(("https://", "http://", "data:")) else []
    if isinstance(output, list | tuple):
        return [url for item in output for url in _outputs(item)]
    return []


def _is_data_uri(url: str) -> bool:
    return url[:5].lower() == "data:"


def _output_name(url: str) -> str:
    """How an output is named in diagnostics and errors: a URL without its (signed) query, or a
    ``data:`` URI's header without its payload."""
    if _is_data_uri(url):
        return url.split(",", 1)[0][:100]
    return url.split("?", 1)[0]


@dataclass(frozen=True)
class _Settings:
    wait: int
    timeout: float

    @classmethod
    def of(cls, config: Mapping[str, Any], where: str) -> _Settings:
        wait = _config_int(config, "waitSeconds", DEFAULT_WAIT_SECONDS, where)
        if wait is None or not 0 <= wait <= 60:
            raise ProviderConfigError(
                f"{where}: config waitSeconds = {wait!r} is not from 0 to 60",
                "Replicate holds a create request open for at most 60 s; 0 polls straight away",
            )
        timeout = config.get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ProviderConfigError(
                f"{where}: config timeoutSeconds = {timeout!r} is not a number of seconds above 0",
                f"set timeoutSeconds (default {DEFAULT_TIMEOUT_SECONDS})",
            )
        return cls(wait, float(timeout))


class ReplicateHandler(LiveHandler):
    """Runs one Replicate prediction per job (see the module docstring)."""

    secret_name = "REPLICATE_API_TOKEN"
    secret_hint = "https://replicate.com/account/api-tokens"
    kinds = frozenset({"image", "video", "music", "narration"})

    def __init__(
        self,
        provider: str,
        model: str,
        environment: str,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        poll_start: float = POLL_START,
        poll_cap: float = POLL_CAP,
    ) -> None:
        super().__init__(provider, model, environment)
        spec = MODELS.get(model)
        if spec is None:
            raise ProviderConfigError(
                f"replicate model {model!r} is not supported",
                "use one of: " + ", ".join(sorted(MODELS)),
            )
        self.spec = spec
        self._sleep = sleep
        self._clock = clock
        self._poll_start = poll_start
        self._poll_cap = poll_cap
        self._schema: dict[str, Any] | None = None
        self._schema_version: str | None = None
        self._schema_fetched = False

    def typical_usage(self, kind: str, config: Mapping[str, Any], produces: int) -> Mapping[str, float]:
        return self.spec.typical(config, produces)

    # -- the call ----------------------------------------------------------------------------------

    async def produce(self, context: JobContext) -> JobResult:
        where = f"{context.job_id} (replicate/{self.model})"
        if context.kind != self.spec.kind:
            raise ProviderConfigError(
                f"{where}: {self.model} makes {self.spec.kind} jobs, not {context.kind}",
                "pick a Replicate model for this kind: "
                + ", ".join(name for name, model in sorted(MODELS.items()) if model.kind == context.kind),
            )
        settings = _Settings.of(context.config, where)
        requested = requested_artefacts(context)
        targets = [artefact for artefact in requested if artefact.kind == self.spec.artefact_kind]
        if not targets:
            raise ProviderConfigError(
                f"{where}: the job asks for no {self.spec.artefact_kind} artefact, which is all "
                f"{self.model} makes"
            )
        built = self.spec.build(context, len(targets), where)
        raw = context.config.get("input")
        if raw is not None:
            if not isinstance(raw, Mapping):
                raise ProviderConfigError(f"{where}: config input must be a mapping of Replicate fields")
            for name, value in raw.items():
                built.set(str(name), value, f"config input.{name}")
        token = self.api_key(context)
        auth = {"Authorization": f"Bearer {token}"}
        async with (
            http.client(base_url=API_BASE, headers=auth) as api,
            http.download_client() as files,
        ):
            schema = await self._input_schema(api, token, context, where)
            if schema is None:
                checked = CheckedInput(dict(built.values))
            else:
                checked = check_input(built, schema, self.model, where)
            for name in checked.dropped:
                context.logger.warning(
                    f"{where}: {self.model} does not take {name}={built.values[name]!r}; left out",
                    job=context.job_id,
                )
            for name, change in checked.fitted.items():
                context.logger.warning(
                    f"{where}: {name} {change['requested']} is outside what {self.model} accepts; "
                    f"sent {change['sent']}",
                    job=context.job_id,
                )
            prediction = await self._run(api, checked.values, token, settings, context, where)
            urls = _outputs(prediction.get("output"))
            if not urls:
                raise ProviderError(
                    f"{where}: prediction {prediction.get('id')} succeeded without a file output",
                    "the model returned nothing to store; try again or change the input",
                )
            artefacts = await self._download_all(files, urls, requested, targets, prediction, where)
        metrics = prediction.get("metrics")
        predict_time = metrics.get("predict_time") if isinstance(metrics, Mapping) else None
        usage = self.spec.usage(checked.values, len(urls))
        diagnostics: dict[str, Any] = {
            "model": self.model,
            "predictionId": prediction.get("id"),
            "status": prediction.get("status"),
            "predictTime": predict_time if isinstance(predict_time, int | float) else None,
            "version": self._schema_version or prediction.get("version"),
            "inputFields": sorted(checked.values),
            "outputs": len(urls),
            "schemaChecked": schema is not None,
            "cost": self.cost_of(usage),
        }
        if checked.dropped:
            diagnostics["droppedInput"] = checked.dropped
        if checked.fitted:
            diagnostics["fittedInput"] = checked.fitted
        return self.result(artefacts, usage, diagnostics)

    # -- schema --------------------------------------------------------------------------------------

    async def _input_schema(
        self, api: httpx.AsyncClient, token: str, context: JobContext, where: str
    ) -> dict[str, Any] | None:
        """The model's ``openapi_schema`` (fetched once per handler), or None when it publishes none."""
        if self._schema_fetched:
            return self._schema
        response = await http.send(api, "GET", f"/models/{self.model}", provider=PROVIDER)
        if response.status_code == 404:
            raise ProviderConfigError(
                f"{where}: Replicate has no model {self.model}", "check the model name on replicate.com"
            )
        self._raise_for(response, f"model schema of {self.model}", token)
        body = _json_object(response, f"{where}: model schema")
        latest = body.get("latest_version")
        schema = latest.get("openapi_schema") if isinstance(latest, Mapping) else None
        if isinstance(schema, dict) and isinstance(
            schema.get("components", {}).get("schemas", {}).get("Input"), dict
        ):
            self._schema = schema
            self._schema_version = str(latest.get("id")) if isinstance(latest, Mapping) else None
        else:
            context.logger.warning(
                f"{where}: {self.model} publishes no input schema; its input is sent unchecked",
                job=context.job_id,
            )
        self._schema_fetched = True
        return self._schema

    # -- prediction --------------------------------------------------------------------------------

    async def _run(
        self,
        api: httpx.AsyncClient,
        values: Mapping[str, Any],
        token: str,
        settings: _Settings,
        context: JobContext,
        where: str,
    ) -> dict[str, Any]:
        """Create the prediction and wait for it; cancel it on any way out but a terminal status."""
        deadline = self._clock() + settings.timeout
        headers = {"Cancel-After": _cancel_after(settings.timeout)}
        if settings.wait:
            headers["Prefer"] = f"wait={settings.wait}"
        response = await http.send(
            api,
            "POST",
            f"/models/{self.model}/predictions",
            provider=PROVIDER,
            json={"input": dict(values)},
            headers=headers,
        )
        self._raise_for(response, "create prediction", token)
        prediction = _json_object(response, f"{where}: create prediction")
        prediction_id = prediction.get("id")
        if not isinstance(prediction_id, str) or not prediction_id:
            raise ProviderError(f"{where}: Replicate answered without a prediction id", retryable=True)
        context.logger.info(
            f"{where}: prediction {prediction_id} {prediction.get('status')}", job=context.job_id
        )
        try:
            prediction = await self._wait(api, prediction, deadline, settings, token, where)
        except BaseException:
            await self._cancel(api, prediction, context, where)
            raise
        return self._finished(prediction, token, where)

    async def _wait(
        self,
        api: httpx.AsyncClient,
        prediction: dict[str, Any],
        deadline: float,
        settings: _Settings,
        token: str,
        where: str,
    ) -> dict[str, Any]:
        """Poll until terminal: backoff from ``poll_start`` doubling to ``poll_cap``; 429 waits as told."""
        url = _api_url(prediction, "get", f"/predictions/{prediction['id']}")
        pause = self._poll_start
        while prediction.get("status") not in TERMINAL:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise ProviderTimeoutError(
                    f"{where}: prediction {prediction['id']} did not finish within {settings.timeout:g} s "
                    f"(status {prediction.get('status')}); cancelling it",
                    "raise timeoutSeconds in the variant's config",
                )
            await self._sleep(min(pause, remaining))
            pause = min(pause * 2, self._poll_cap)
            try:
                response = await http.send(api, "GET", url, provider=PROVIDER)
            except ProviderError as exc:
                if exc.retryable:  # a dropped connection: the prediction runs on; ask again
                    continue
                raise
            if response.status_code == 429:
                pause = _wait_seconds(response) or pause
                continue
            if response.status_code >= 500:
                continue
            self._raise_for(response, f"prediction {prediction['id']}", token)
            prediction = _json_object(response, f"{where}: prediction {prediction['id']}")
        return prediction

    def _finished(self, prediction: dict[str, Any], token: str, where: str) -> dict[str, Any]:
        status = prediction.get("status")
        prediction_id = prediction.get("id")
        if status == "succeeded":
            return prediction
        if status == "aborted":
            raise ProviderTimeoutError(
                f"{where}: prediction {prediction_id} was aborted: its deadline passed before it started",
                "Replicate was busy; the runner retries (raise timeoutSeconds to wait longer)",
            )
        if status == "canceled":
            raise ProviderError(
                f"{where}: prediction {prediction_id} was canceled outside this run",
                "run the build again to make a new prediction",
            )
        error = prediction.get("error")
        text = str(error).strip() if error else "no error text"
        text = http.redact(text if len(text) <= 300 else text[:299] + "…", [token])
        transient = bool(_TRANSIENT.search(text))
        raise ProviderError(
            f"{where}: prediction {prediction_id} failed: {text}",
            "a temporary failure on Replicate; the runner retries"
            if transient
            else "the model refused this input; change the prompt or config",
            retryable=transient,
        )

    async def _cancel(
        self, api: httpx.AsyncClient, prediction: Mapping[str, Any], context: JobContext, where: str
    ) -> None:
        """Best effort ``POST .../cancel`` (never raises: the original error is the one that matters)."""
        url = _api_url(prediction, "cancel", f"/predictions/{prediction['id']}/cancel")
        try:
            response = await asyncio.wait_for(api.post(url), timeout=15)
            if response.is_success:
                context.logger.warning(
                    f"{where}: cancelled prediction {prediction['id']}", job=context.job_id
                )
                return
            detail = f"HTTP {response.status_code}"
        except (httpx.HTTPError, TimeoutError) as exc:
            detail = type(exc).__name__
        context.logger.warning(
            f"{where}: could not cancel prediction {prediction['id']} ({detail}); "
            "cancel it at https://replicate.com/predictions",
            job=context.job_id,
        )

    # -- outputs -----------------------------------------------------------------------------------

    async def _download_all(
        self,
        files: httpx.AsyncClient,
        urls: Sequence[str],
        requested: Sequence[RequestedArtefact],
        targets: Sequence[RequestedArtefact],
        prediction: Mapping[str, Any],
        where: str,
    ) -> list[ProducedArtefact]:
        """Download the outputs the job needs, all at once; one artefact per requested id."""
        wanted = list(zip(targets, urls, strict=False))
        tasks = [asyncio.ensure_future(self._download(files, url)) for _, url in wanted]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(outcome, tuple):
                    outcome[0].unlink(missing_ok=True)
            raise
        by_id: dict[str, ProducedArtefact] = {}
        for (target, url), (path, mime) in zip(wanted, results, strict=True):
            details = {"predictionId": prediction.get("id"), "output": _output_name(url)}
            if not fits_kind(mime, self.spec.artefact_kind):
                path.unlink(missing_ok=True)
                by_id[target.artefact_id] = ProducedArtefact(
                    target.artefact_id,
                    status="failed",
                    error=f"{where}: output {_output_name(url)} is {mime}, not {self.spec.artefact_kind}",
                    diagnostics=details,
                )
                continue
            details["bytes"] = path.stat().st_size
            by_id[target.artefact_id] = ProducedArtefact(
                target.artefact_id, mime_type=mime, file=path, diagnostics=details
            )
        artefacts = []
        for artefact in requested:
            produced = by_id.get(artefact.artefact_id)
            if produced is None:
                reason = (
                    f"the prediction returned {len(urls)} output(s) for {len(targets)} artefact(s)"
                    if artefact.kind == self.spec.artefact_kind
                    else f"{self.model} cannot make a {artefact.kind}"
                )
                produced = ProducedArtefact(artefact.artefact_id, status="failed", error=f"{where}: {reason}")
            artefacts.append(produced)
        return artefacts

    async def _download(self, files: httpx.AsyncClient, url: str) -> tuple[Path, str]:
        """One output, retried on temporary failures: the prediction is paid for already.

        A ``data:`` output holds the file itself: it is decoded, with nothing to retry.
        """
        if _is_data_uri(url):
            return http.save_data_uri(url, provider=PROVIDER)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await http.download(files, url, provider=PROVIDER)
            except ProviderError as exc:
                if not exc.retryable or attempt >= DOWNLOAD_ATTEMPTS:
                    raise
                await self._sleep(exc.retry_after or float(attempt))

    # -- errors ------------------------------------------------------------------------------------

    def _raise_for(self, response: httpx.Response, what: str, token: str) -> None:
        """The shared HTTP policy, plus Replicate's 422 field list and ``~Ns`` throttle hints."""
        if response.status_code == 422:
            message, _ = http.error_detail(response)
            body = _json(response)
            fields = body.get("invalid_fields") if isinstance(body, Mapping) else None
            if isinstance(fields, list):
                named = [
                    f"{item.get('field')}: {item.get('description')}"
                    for item in fields
                    if isinstance(item, Mapping)
                ]
                if named:
                    message = f"{message} ({'; '.join(named)})"
            raise ProviderError(
                http.redact(f"replicate {what}: HTTP 422: invalid input: {message}", [token]),
                "the model refused the input; check the variant's config and the job's inputs",
            )
        try:
            http.raise_for_response(
                response, provider=PROVIDER, what=what, account_hint=self.account_hint, secrets=[token]
            )
        except RateLimitedError as exc:
            if exc.retry_after is None:
                exc.retry_after = _wait_seconds(response)
            raise


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    body = _json(response)
    if not isinstance(body, dict):
        raise ProviderError(
            f"{what}: Replicate answered with something that is not a JSON object", retryable=True
        )
    return body


def _wait_seconds(response: httpx.Response) -> float | None:
    """Seconds a 429 asks to wait: ``Retry-After``, the body's ``retry_after``, or ``~Ns`` in its detail."""
    wait = http.retry_after_of(response)
    if wait is not None:
        return wait
    message, _ = http.error_detail(response)
    match = _THROTTLE_SECONDS.search(message)
    return float(match.group(1)) if match else None


def _api_url(prediction: Mapping[str, Any], key: str, fallback: str) -> str:
    """``urls[key]`` when it points at the API (our token goes nowhere else), else ``fallback``."""
    urls = prediction.get("urls")
    url = urls.get(key) if isinstance(urls, Mapping) else None
    if isinstance(url, str) and url.startswith(API_BASE + "/"):
        return url
    return fallback


def build_handler(spec: HandlerSpec) -> ReplicateHandler:
    """The registry's entry point (``providers.live.registration``); never touches the network."""
    return ReplicateHandler(spec.provider, spec.model, spec.environment)
