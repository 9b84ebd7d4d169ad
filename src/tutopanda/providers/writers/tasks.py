"""What one text job asks a writer for: the messages, the JSON schema, and how to check and use the answer.

Why separate from the chain: the same task goes to every writer of the chain (a compatible server, the
in-process model), and is retried with the previous answer's fault added. Building it once from the job
(its inputs, its requested artefacts, the variant's prompt template) keeps those attempts identical but
for the feedback, and lets tests build tasks without a backend.

The messages are a short system message (the role and the exact answer format, with the sizes spelled
out in numbers: small models follow numbers better than "roughly equal length") and the variant's prompt
template rendered with the job's inputs. Without a template a built-in one is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tutopanda.core.engine.provider_contract import JobContext, ProducedArtefact
from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers.job_inputs import RequestedArtefact, input_int, input_text, requested_artefacts
from tutopanda.providers.live.templates import render_template
from tutopanda.providers.writers.backend import ChatMessage
from tutopanda.providers.writers.validation import (
    prompts_schema,
    script_schema,
    validate_prompts,
    validate_script,
    word_bounds,
)

__all__ = ["WRITER_KINDS", "WriterTask", "build_task"]

WRITER_KINDS = frozenset({"script", "image-prompt", "music-prompt", "video-prompt"})
"""Job kinds the writer chain serves."""

_DEFAULT_TEMPLATES = {
    "script": "Write an educational explainer answering: {{InquiryPrompt}}",
    "image-prompt": "Describe a picture illustrating: {{NarrativeText}}",
    "music-prompt": "Describe background music in the style {{MusicalStyle}} for: {{MovieSummary}}",
    "video-prompt": "Describe a short video shot illustrating: {{NarrativeText}}",
}

_LANGUAGE_NAMES = {
    "en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "ru": "Russian", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "ar": "Arabic",
    "hi": "Hindi", "pl": "Polish", "sv": "Swedish", "tr": "Turkish", "uk": "Ukrainian", "el": "Greek",
}  # fmt: skip


@dataclass(frozen=True)
class WriterTask:
    """One job's request to a writer and the knowledge to check and use the answer."""

    kind: str
    messages: tuple[ChatMessage, ...]
    schema: Mapping[str, Any]
    requested: tuple[RequestedArtefact, ...]
    segments: int = 0
    duration: float = 0.0
    language: str = "en"
    count: int = 1
    max_tokens: int = 2048

    def with_feedback(self, answer: str, fault: str) -> WriterTask:
        """The same task, told what was wrong with ``answer`` (the single retry)."""
        shown = answer.strip()[:1500] or "(nothing)"
        extra: tuple[ChatMessage, ...] = (
            {"role": "assistant", "content": shown},
            {
                "role": "user",
                "content": f"That answer cannot be used: {fault}. Answer again with only the JSON object, "
                "fixing this.",
            },
        )
        return WriterTask(
            self.kind,
            self.messages + extra,
            self.schema,
            self.requested,
            self.segments,
            self.duration,
            self.language,
            self.count,
            self.max_tokens,
        )

    def artefacts(self, document: Mapping[str, Any], writer: str) -> list[ProducedArtefact]:
        """Validate ``document`` (raises ``AnswerInvalidError``) and hand each requested artefact its text."""
        texts: dict[str, str] = {}
        if self.kind == "script":
            script = validate_script(
                document, segments=self.segments, duration=self.duration, language=self.language
            )
            for item in self.requested:
                lowered = item.name.lower()
                if item.name == "NarrationScript" or "narration" in lowered:
                    texts[item.artefact_id] = script.segments[item.last_index]
                elif "title" in lowered:
                    texts[item.artefact_id] = script.title
                elif "summary" in lowered:
                    texts[item.artefact_id] = script.summary
        else:
            prompts = validate_prompts(document, count=self.count)
            for position, item in enumerate(self._ordered_texts()):
                texts[item.artefact_id] = prompts.prompts[position]
        produced: list[ProducedArtefact] = []
        for item in self.requested:
            text = texts.get(item.artefact_id)
            if text is None:
                produced.append(
                    ProducedArtefact(
                        item.artefact_id, status="failed", error=f"{writer} does not write {item.name}"
                    )
                )
                continue
            produced.append(
                ProducedArtefact(
                    item.artefact_id,
                    mime_type="text/plain",
                    data=text.encode("utf-8"),
                    diagnostics={"writer": writer, "words": len(text.split())},
                )
            )
        return produced

    def _ordered_texts(self) -> list[RequestedArtefact]:
        return sorted((item for item in self.requested if item.kind == "text"), key=lambda item: item.indices)


def _language(code: str) -> str:
    name = _LANGUAGE_NAMES.get(code.lower())
    return f"{name} ({code})" if name else f"the language with ISO 639-1 code {code!r}"


def _format_line(keys: str) -> str:
    return f"Answer with one JSON object and nothing else: {keys}"


def build_task(context: JobContext, where: str) -> WriterTask:
    """The task of a ``script``/``image-prompt``/``music-prompt``/``video-prompt`` job."""
    if context.kind not in WRITER_KINDS:
        raise ProviderConfigError(f"{where}: the writer chain does not write {context.kind} jobs")
    requested = tuple(requested_artefacts(context))
    template = (
        context.prompt if context.prompt and context.prompt.strip() else _DEFAULT_TEMPLATES[context.kind]
    )
    values = dict(context.inputs)
    for name, default in (("Audience", "adult"), ("Language", "en"), ("Style", "illustration")):
        values.setdefault(name, default)
    user = render_template(template, values, where=where)
    if context.kind == "script":
        segments = max(
            (item.last_index + 1 for item in requested if "narration" in item.name.lower()), default=0
        )
        segments = segments or input_int(context.inputs, "NumOfSegments", 1)
        duration = float(input_int(context.inputs, "Duration", 30))
        language = input_text(context.inputs, "Language", "en") or "en"
        target, low, high = word_bounds(duration, segments)
        system = (
            "You are a science teacher who writes clear, accurate narration for short educational videos. "
            f"Write in {_language(language)}. "
            f"Write exactly {segments} segment{'s' if segments != 1 else ''}; each segment is about {target} "
            f"words (between {low} and {high}) of spoken narration. "
            + _format_line(
                '{"title": "a short title", "summary": "two sentences on what the video explains", '
                f'"segments": [{segments} strings, one narration per segment]}}'
            )
        )
        messages: tuple[ChatMessage, ...] = (
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        )
        tokens = min(8192, 400 + int(high * segments * 3))
        return WriterTask(
            "script",
            messages,
            script_schema(segments),
            requested,
            segments,
            duration,
            language,
            segments,
            tokens,
        )
    texts = [item for item in requested if item.kind == "text"]
    count = max(1, len(texts))
    what = {
        "image-prompt": "picture descriptions for an image generator",
        "music-prompt": "a music description for a music generator",
        "video-prompt": "a shot description for a video generator",
    }[context.kind]
    system = (
        f"You write {what}, in English. Be concrete and visual; no text, captions or logos. "
        + _format_line(f'{{"prompts": [{count} string{"s" if count != 1 else ""}]}}')
    )
    messages = ({"role": "system", "content": system}, {"role": "user", "content": user})
    return WriterTask(
        context.kind, messages, prompts_schema(count), requested, count=count, max_tokens=300 * count + 200
    )
