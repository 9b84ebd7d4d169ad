"""OpenAI text jobs (``script``, ``image-prompt``, ``video-prompt``, ``music-prompt``) via the Responses API.

One call per job: the variant's prompt template, rendered with the job's inputs (``{{Variable}}``), is
sent to ``POST /v1/responses``. When the job makes several texts (a script's title, summary and one
narration per segment; a segment's image prompts) the answer is asked for as JSON under a strict JSON
schema built from ``context.produces``, and each artefact reads its own field by JSON path
(``MovieTitle <- $.title``, ``NarrationScript[i] <- $.segments[i]``, ``ImagePrompt[..][i] <- $.prompts[i]``).
A field that is missing or not text fails only that artefact, with the path and what was there; the
others are kept (they were paid for). A job making one text may take the plain answer instead
(config ``textFormat: text``, the default when the job makes exactly one text and is not a script).

The answer's text is read from the response body itself — the ``output_text`` parts of its ``message``
items, skipping ``reasoning`` items — not from SDK conveniences, whose shape changes across versions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from tutopanda.core.engine.provider_contract import JobContext, JobResult, ProducedArtefact, ProviderHandler
from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.providers.job_inputs import RequestedArtefact, requested_artefacts
from tutopanda.providers.json_path import JsonPathError, read_json_path
from tutopanda.providers.live.openai_api import (
    OpenAIHandler,
    call_openai,
    json_body,
)
from tutopanda.providers.live.templates import render_template
from tutopanda.providers.registry import HandlerSpec

__all__ = ["TEXT_FORMATS", "OpenAITextHandler", "OutputPlan", "answer_text", "build_handler", "plan_output"]

TextFormat = Literal["json", "text"]
TEXT_FORMATS: tuple[TextFormat, ...] = ("json", "text")
"""Values of the ``textFormat`` config key."""

_SCHEMA_NAMES = {
    "script": "script",
    "image-prompt": "image_prompts",
    "video-prompt": "video_prompts",
    "music-prompt": "music_prompt",
}
_MIN_OUTPUT_TOKENS = 16


@dataclass(frozen=True)
class OutputPlan:
    """How to ask for the answer and where each requested artefact finds its text in it.

    ``paths`` maps artefact ids to JSON paths (``None``: the whole plain-text answer); ``unserved`` maps
    the ids this handler cannot make (a non-text artefact) to the reason.
    """

    text_format: TextFormat
    paths: dict[str, str | None]
    schema_name: str | None = None
    schema: dict[str, Any] | None = None
    unserved: dict[str, str] = field(default_factory=dict)

    def format_param(self) -> dict[str, Any] | None:
        """The request's ``text`` parameter (None for plain text, the API's default)."""
        if self.schema is None or self.schema_name is None:
            return None
        return {
            "format": {"type": "json_schema", "name": self.schema_name, "schema": self.schema, "strict": True}
        }


def _object(properties: Mapping[str, Any]) -> dict[str, Any]:
    """A strict-mode object schema: every property required, nothing else allowed."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties),
        "additionalProperties": False,
    }


def _strings(count: int) -> dict[str, Any]:
    # The count is said in words, not as minItems/maxItems: length constraints are outside the JSON
    # Schema subset strict mode is known to accept everywhere, and a short array fails only the
    # artefacts it lacks (read_json_path names the missing index).
    return {"type": "array", "items": {"type": "string"}, "description": f"exactly {count} strings"}


def _script_plan(
    texts: list[RequestedArtefact],
) -> tuple[dict[str, Any], dict[str, str | None], dict[str, str]]:
    """``{title, summary, segments}``: fields by artefact name, as the local draft script matches them."""
    paths: dict[str, str | None] = {}
    unserved: dict[str, str] = {}
    fields: dict[str, str] = {}
    segments = 0
    for item in texts:
        lowered = item.name.lower()
        if item.name == "NarrationScript" or "narration" in lowered:
            paths[item.artefact_id] = f"$.segments[{item.last_index}]"
            segments = max(segments, item.last_index + 1)
        elif "title" in lowered:
            paths[item.artefact_id] = "$.title"
            fields["title"] = "title"
        elif "summary" in lowered:
            paths[item.artefact_id] = "$.summary"
            fields["summary"] = "summary"
        else:
            unserved[item.artefact_id] = f"a script answer has no field for {item.name}"
    properties: dict[str, Any] = {name: {"type": "string"} for name in ("title", "summary") if name in fields}
    if segments:
        properties["segments"] = _strings(segments)
    return _object(properties), paths, unserved


def _prompts_plan(texts: list[RequestedArtefact]) -> tuple[dict[str, Any], dict[str, str | None]]:
    """``{prompts: [...]}``: the i-th prompt artefact (by its innermost index) reads ``$.prompts[i]``."""
    ordered = sorted(texts, key=lambda item: item.indices)
    last = [item.last_index for item in ordered]
    positions = last if len(set(last)) == len(last) else list(range(len(ordered)))
    paths: dict[str, str | None] = {
        item.artefact_id: f"$.prompts[{position}]" for item, position in zip(ordered, positions, strict=True)
    }
    return _object({"prompts": _strings(max(positions, default=-1) + 1)}), paths


def plan_output(context: JobContext, where: str) -> OutputPlan:
    """Choose plain text or a JSON schema for ``context`` and map each requested artefact to its field."""
    requested = requested_artefacts(context)
    texts = [item for item in requested if item.kind == "text"]
    unserved = {
        item.artefact_id: f"OpenAI text models write text, not {item.kind}"
        for item in requested
        if item.kind != "text"
    }
    configured = context.config.get("textFormat")
    if configured is not None and configured not in TEXT_FORMATS:
        raise ProviderConfigError(
            f"{where}: config textFormat = {configured!r} is not one of {', '.join(TEXT_FORMATS)}",
            "use json (a JSON schema, one field per artefact) or text (one plain-text artefact)",
        )
    text_format: TextFormat
    if configured is not None:
        text_format = configured
    else:
        text_format = "text" if len(texts) == 1 and context.kind != "script" else "json"
    if text_format == "text":
        if len(texts) != 1:
            raise ProviderConfigError(
                f"{where}: textFormat text gives one text, but this job makes {len(texts)} text artefacts",
                "set textFormat: json in the variant's config",
            )
        return OutputPlan("text", {texts[0].artefact_id: None}, unserved=unserved)
    if not texts:
        raise ProviderConfigError(f"{where}: this job makes no text artefact for an OpenAI text model")
    name = _SCHEMA_NAMES.get(context.kind, "answer")
    if context.kind == "script":
        schema, paths, more = _script_plan(texts)
        unserved.update(more)
    elif context.kind == "music-prompt":
        schema = _object({"prompt": {"type": "string"}})
        paths = {item.artefact_id: "$.prompt" for item in texts}
    else:
        schema, paths = _prompts_plan(texts)
    return OutputPlan("json", paths, name, schema, unserved)


def answer_text(body: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The answer's text (every ``output_text`` part of every ``message`` item) and any refusals."""
    texts: list[str] = []
    refusals: list[str] = []
    output = body.get("output")
    for item in output if isinstance(output, list) else []:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue  # reasoning items, tool calls
        content = item.get("content")
        for part in content if isinstance(content, list) else []:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "output_text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif part.get("type") == "refusal":
                refusals.append(str(part.get("refusal") or "no reason given"))
    return "".join(texts), refusals


def _usage(body: Mapping[str, Any]) -> dict[str, float]:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return {}
    found: dict[str, float] = {}
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        value = usage.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            found[key] = float(value)
    for details, key, name in (
        ("input_tokens_details", "cached_tokens", "cached_input_tokens"),
        ("output_tokens_details", "reasoning_tokens", "reasoning_tokens"),
    ):
        part = usage.get(details)
        value = part.get(key) if isinstance(part, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            found[name] = float(value)
    return found


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return "an empty string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"{type(value).__name__} {json.dumps(value)[:60]}"


def is_reasoning_model(model: str) -> bool:
    """gpt-5 and the o-series reason before answering and refuse ``temperature``/``top_p``
    (``gpt-5-chat*`` is the non-reasoning variant)."""
    name = model.lower()
    if name.startswith("gpt-5"):
        return not name.startswith("gpt-5-chat")
    return len(name) > 1 and name[0] == "o" and name[1].isdigit()


class OpenAITextHandler(OpenAIHandler):
    """Writes a job's texts with one Responses API call (see the module docstring)."""

    kinds: ClassVar[frozenset[str]] = frozenset(_SCHEMA_NAMES)
    config_keys: ClassVar[frozenset[str] | None] = frozenset(
        {"textFormat", "reasoningEffort", "maxOutputTokens", "temperature", "store"}
    )

    def check_config(self, kind: str, config: Mapping[str, Any]) -> None:
        """Before any call: what the Responses API would refuse (``temperature`` on a reasoning model)."""
        super().check_config(kind, config)
        if "temperature" in config and is_reasoning_model(self.model):
            raise ProviderConfigError(
                f"{self.provider}/{self.model} ({kind}): config temperature is refused by reasoning models",
                "remove temperature (use reasoningEffort), or pick a non-reasoning model such as gpt-4.1",
            )
        store = config.get("store")
        if store is not None and not isinstance(store, bool):
            raise ProviderConfigError(
                f"{self.provider}/{self.model} ({kind}): config store must be true or false"
            )

    def typical_usage(self, kind: str, config: Mapping[str, Any], produces: int) -> Mapping[str, float]:
        """About 1500/2500 tokens in/out for a script; 800 in and 400 out per prompt for the prompt kinds."""
        if kind == "script":
            return {"input_tokens": 1500, "output_tokens": 2500}
        return {"input_tokens": 800, "output_tokens": 400 * max(1, produces)}

    def _request(self, context: JobContext, prompt: str, plan: OutputPlan, where: str) -> dict[str, Any]:
        config = context.config
        # store: false (unless config store: true): the answer is read once, here; OpenAI need not keep it.
        request: dict[str, Any] = {
            "model": self.model,
            "input": prompt,
            "store": bool(config.get("store", False)),
        }
        text = plan.format_param()
        if text is not None:
            request["text"] = text
        effort = config.get("reasoningEffort")
        if effort is not None:
            if not isinstance(effort, str) or not effort.strip():
                raise ProviderConfigError(
                    f"{where}: config reasoningEffort = {effort!r} is not a word",
                    "use minimal, low, medium or high",
                )
            request["reasoning"] = {"effort": effort.strip()}
        tokens = config.get("maxOutputTokens")
        if tokens is not None:
            if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < _MIN_OUTPUT_TOKENS:
                raise ProviderConfigError(
                    f"{where}: config maxOutputTokens = {tokens!r} is not a whole number"
                    f" >= {_MIN_OUTPUT_TOKENS}",
                    "reasoning models spend tokens before they answer: allow a few thousand",
                )
            request["max_output_tokens"] = tokens
        temperature = config.get("temperature")
        if temperature is not None:
            if (
                isinstance(temperature, bool)
                or not isinstance(temperature, int | float)
                or not (0 <= temperature <= 2)
            ):
                raise ProviderConfigError(f"{where}: config temperature = {temperature!r} is not from 0 to 2")
            request["temperature"] = float(temperature)
        return request

    async def produce(self, context: JobContext) -> JobResult:
        """Render the prompt, make one Responses API call, hand each artefact its part of the answer."""
        where = f"{context.job_id} ({self.provider}/{self.model})"
        if context.prompt is None or not context.prompt.strip():
            raise ProviderConfigError(
                f"{where}: the variant has no prompt template",
                "set promptFile in the blueprint variant (e.g. ../prompts/script.txt)",
            )
        prompt = render_template(context.prompt, context.inputs, where=where)
        plan = plan_output(context, where)
        endpoint = self.endpoint(context.config, where)
        request = self._request(context, prompt, plan, where)
        request["model"] = self.request_model(endpoint)
        what = f"response for {context.job_id}"
        content, request_id = await call_openai(
            self,
            context,
            what,
            where,
            lambda client: client.responses.with_raw_response.create(**request),
            endpoint,
        )
        body = json_body(content, provider=self.provider, what=what)
        diagnostics: dict[str, Any] = {
            "responseId": body.get("id"),
            "model": body.get("model"),
            "status": body.get("status"),
            "textFormat": plan.text_format,
        }
        if request_id:
            diagnostics["requestId"] = request_id
        if plan.schema_name:
            diagnostics["schema"] = plan.schema_name
        self._check_status(body, where)
        text, refusals = answer_text(body)
        if refusals and not text.strip():
            raise ProviderError(f"{where}: the model refused: {refusals[0][:200]}")
        if not text.strip():
            raise ProviderError(f"{where}: the answer holds no text", retryable=True)
        artefacts = self._artefacts(context, plan, text, where, str(body.get("id") or ""))
        return self.result(artefacts, _usage(body), diagnostics)

    def _check_status(self, body: Mapping[str, Any], where: str) -> None:
        status = body.get("status")
        if status == "failed":
            found = body.get("error")
            error: Mapping[str, Any] = found if isinstance(found, dict) else {}
            code = str(error.get("code") or "unknown")
            message = str(error.get("message") or "no details")[:200]
            raise ProviderError(
                f"{where}: the response failed: {message} ({code})", retryable=code == "server_error"
            )
        if status == "incomplete":
            details = body.get("incomplete_details")
            reason = str((details.get("reason") if isinstance(details, dict) else None) or "unknown")
            hint = (
                "raise maxOutputTokens in the variant's config (reasoning counts against it)"
                if reason == "max_output_tokens"
                else None
            )
            raise ProviderError(f"{where}: the answer is incomplete ({reason})", hint)
        if status not in (None, "completed"):
            raise ProviderError(f"{where}: the response is {status!r}, not completed", retryable=True)

    def _artefacts(
        self, context: JobContext, plan: OutputPlan, text: str, where: str, response_id: str
    ) -> list[ProducedArtefact]:
        document: Any = None
        if plan.text_format == "json":
            try:
                document = json.loads(text)
            except ValueError:
                snippet = " ".join(text.split())[:80]
                raise ProviderError(
                    f"{where}: the answer is not the JSON asked for: {snippet!r}", retryable=True
                ) from None
        artefacts: list[ProducedArtefact] = []
        for artefact_id, _ in context.produces:
            if artefact_id in plan.unserved:
                artefacts.append(
                    ProducedArtefact(artefact_id, status="failed", error=plan.unserved[artefact_id])
                )
                continue
            path = plan.paths[artefact_id]
            diagnostics: dict[str, Any] = {"responseId": response_id}
            if path is None:
                value: Any = text.strip()
            else:
                diagnostics["path"] = path
                try:
                    value = read_json_path(document, path)
                except JsonPathError as exc:
                    artefacts.append(
                        ProducedArtefact(artefact_id, status="failed", error=f"{where}: the answer {exc}")
                    )
                    continue
                if not isinstance(value, str) or not value.strip():
                    error = f"{where}: the answer's {path} is {_describe(value)}, not text"
                    artefacts.append(ProducedArtefact(artefact_id, status="failed", error=error))
                    continue
                value = value.strip()
            artefacts.append(
                ProducedArtefact(
                    artefact_id, mime_type="text/plain", data=value.encode("utf-8"), diagnostics=diagnostics
                )
            )
        return artefacts


def build_handler(spec: HandlerSpec) -> ProviderHandler:
    """The registry's builder for ``openai`` text models (no network)."""
    return OpenAITextHandler(spec.provider, spec.model, spec.environment, prices=spec.prices)
