"""The local script handler (model ``draft-script``): an honest, clearly marked DRAFT, not a script.

Why a draft and not generated prose: writing a real explainer needs research and a language model (the
live ``openai`` script provider). Offline, the useful thing is a script that has the right *shape* — a
title, a summary and one narration per segment, each about as long as the movie's ``Duration`` needs at
~2.5 words a second — and says plainly that it is a placeholder, so the whole pipeline (speech, slides,
timing) can be tried end to end, and the user knows what to replace (``tutopanda query --script FILE``).
The text is English whatever the ``Language`` input says.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from tutopanda.core.engine.provider_contract import JobContext, JobResult, ProducedArtefact
from tutopanda.providers.job_inputs import input_int, input_text, requested_artefacts
from tutopanda.providers.local.local_handler import LocalHandler

__all__ = ["DRAFT_WORDS_PER_SECOND", "DraftScript", "DraftScriptHandler", "write_draft"]

DRAFT_WORDS_PER_SECOND = 2.5
"""Speaking rate the draft sizes its narration for."""

_MIN_WORDS = 12
_MAX_WORDS = 4000
_FILLER = (
    "This placeholder was written offline, without research, so it does not yet say anything true "
    "about the topic.",
    "Replace it with your own words, or let the live script writer write the real narration.",
    "A finished segment explains one clear idea in plain language.",
    "Short sentences are easier to follow when they are read aloud.",
    "The length of this draft matches the time the segment should take.",
    "Each segment gets its own voice clip and its own slide, so an edit here rebuilds only this part.",
)


@dataclass(frozen=True)
class DraftScript:
    """A draft: title, summary and one narration per segment."""

    title: str
    summary: str
    narrations: tuple[str, ...]


def _topic(prompt: str) -> str:
    """The question, tidied and quoted (quoting keeps its capitals and question mark readable)."""
    topic = " ".join(prompt.split())[:200].replace('"', "'")
    return f'"{topic}"' if topic else "the topic"


def _narration(topic: str, part: int, parts: int, words: int) -> str:
    where = f"Segment {part} of {parts} on {topic}"
    sentences = [
        "Draft — replace this narration.",
        where if where.endswith(('?"', '."', '!"')) else f"{where}.",
        "It should open with the question and why it matters."
        if part == 1
        else "It should sum up what the movie explained."
        if part == parts
        else f"It should build on segment {part - 1}.",
    ]
    count = sum(len(sentence.split()) for sentence in sentences)
    index = part - 1
    while count < words:
        sentence = _FILLER[index % len(_FILLER)]
        size = len(sentence.split())
        if count + size - words > words - count:  # overshooting would miss the target by more
            break
        sentences.append(sentence)
        count += size
        index += 1
    return " ".join(sentences)


def write_draft(prompt: str, segments: int, duration: float, audience: str = "adult") -> DraftScript:
    """A draft for ``segments`` segments lasting ``duration`` seconds in all."""
    topic = _topic(prompt)
    parts = max(1, segments)
    words = int(min(max(duration * DRAFT_WORDS_PER_SECOND / parts, _MIN_WORDS), _MAX_WORDS))
    noun = "segment" if parts == 1 else "segments"
    return DraftScript(
        title=f"Draft: {topic.strip(chr(34))}",
        summary=f"Draft outline in {parts} {noun} on {topic} for {audience} viewers.",
        narrations=tuple(_narration(topic, part, parts, words) for part in range(1, parts + 1)),
    )


class DraftScriptHandler(LocalHandler):
    """``script`` jobs: MovieTitle, MovieSummary and NarrationScript[i], matched by artefact name."""

    limit_key = "local-text"

    async def produce(self, context: JobContext) -> JobResult:
        """Write the draft (instant, so no worker thread) and hand each requested artefact its text."""
        await asyncio.sleep(0)
        requested = requested_artefacts(context)
        narration_indices = [item.last_index for item in requested if item.name == "NarrationScript"]
        segments = max(narration_indices, default=-1) + 1 or input_int(context.inputs, "NumOfSegments", 1)
        draft = write_draft(
            input_text(context.inputs, "InquiryPrompt"),
            segments,
            input_int(context.inputs, "Duration", 30),
            input_text(context.inputs, "Audience", "adult"),
        )
        artefacts = []
        for item in requested:
            lowered = item.name.lower()
            text: str | None = None
            if item.kind != "text":
                text = None
            elif item.name == "NarrationScript" or "narration" in lowered:
                text = draft.narrations[min(item.last_index, len(draft.narrations) - 1)]
            elif "title" in lowered:
                text = draft.title
            elif "summary" in lowered:
                text = draft.summary
            if text is None:
                artefacts.append(
                    ProducedArtefact(
                        item.artefact_id, status="failed", error=f"draft-script does not write {item.name}"
                    )
                )
                continue
            diagnostics = {"draft": True, "words": len(text.split()), "language": "en"}
            artefacts.append(
                ProducedArtefact(
                    item.artefact_id,
                    mime_type="text/plain",
                    data=text.encode("utf-8"),
                    diagnostics=diagnostics,
                )
            )
        return JobResult(artefacts, diagnostics={"draft": True, "segments": segments}, cost=0.0)
