"""The local prompt writer (model ``template-prompts``): deterministic prompts from the script's words.

Why templates: offline there is no language model to write prompts, but the script already holds what a
picture should show. So an image prompt is the segment's most informative sentence (the local slides
draw it on screen), a video prompt is a short shot description around that sentence, and the music
prompt names a mood found in the musical style or the story, in words the local synth reads back.

"Most informative" is a cheap score: distinct content words (words shared with the movie summary, i.e.
on topic, count three times; long words a little more) divided by the square root of the sentence's
length, so a dense sentence beats a long rambling one. When a segment needs more images
than it has sentences, the longest sentences are split into clauses, then into word windows, so every
image gets a distinct text; the chosen texts keep the narration's order.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from tutopanda.core.engine.provider_contract import JobContext, JobResult, ProducedArtefact
from tutopanda.providers.job_inputs import input_int, input_text, requested_artefacts
from tutopanda.providers.local.local_handler import LocalHandler
from tutopanda.providers.local.moods import DEFAULT_MOOD, MOODS, detect_mood

__all__ = ["TemplatePromptsHandler", "image_prompts", "music_prompt", "video_prompt"]

_SENTENCE_END = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)]))\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+|\s+[—–]\s+")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_MAX_PROMPT_CHARS = 300
_STOPWORDS = frozenset(
    (  # noqa: SIM905 - a word list reads better as text
        "a an and are as at be been but by can could did do does for from had has have he her his how i "
        "if in into is it its just may might more most much must no not of on one or our out over she so "
        "some such than that the their them then there these they this those through to too up us very "
        "was we were what when where which while who why will with would you your also about after again "
        "all any because before both each few here only other own same should until"
    ).split()
)


@dataclass(frozen=True)
class _Candidate:
    text: str
    position: int
    score: float


def _content_words(text: str) -> list[str]:
    return [
        word for word in (w.lower() for w in _WORD.findall(text)) if len(word) >= 3 and word not in _STOPWORDS
    ]


def _score(text: str, topic: frozenset[str]) -> float:
    """Content per word: distinct content words (on-topic ones thrice), over sqrt(length)."""
    distinct = set(_content_words(text))
    weight = len(distinct) + 3 * len(distinct & topic) + 0.3 * sum(len(word) >= 7 for word in distinct)
    return float(weight / max(len(text.split()), 8) ** 0.5)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= _MAX_PROMPT_CHARS:
        return text
    cut = text[: _MAX_PROMPT_CHARS - 1].rsplit(" ", 1)[0]
    return cut + "…"


def _pieces(text: str, count: int) -> list[str]:
    """Sentences; then clauses of the longest ones; then word windows, until there are ``count``."""
    sentences = [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]
    if len(sentences) >= count:
        return sentences
    clauses = [c.strip() for s in sentences for c in _CLAUSE_END.split(s) if len(c.split()) >= 3]
    if len(clauses) >= count:
        return clauses
    words = text.split()
    size = max(3, len(words) // max(count, 1))
    windows = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return windows if len(windows) >= len(clauses) else clauses


def image_prompts(narration: str, summary: str = "", count: int = 1) -> list[str]:
    """``count`` distinct key texts of ``narration``, most informative first chosen, in narrative order."""
    count = max(1, count)
    topic = frozenset(_content_words(summary))
    seen: set[str] = set()
    candidates: list[_Candidate] = []
    for position, piece in enumerate(_pieces(narration, count)):
        key = piece.lower()
        if key not in seen:
            seen.add(key)
            candidates.append(_Candidate(_clip(piece), position, _score(piece, topic)))
    chosen = sorted(candidates, key=lambda c: (-c.score, c.position))[:count]
    texts = [c.text for c in sorted(chosen, key=lambda c: c.position)]
    base = texts[0] if texts else (_clip(summary) or "An illustration")
    while len(texts) < count:  # text too short to split further: label the repeats so they differ
        texts.append(f"{base} ({len(texts) + 1} of {count})")
    return texts


def music_prompt(
    musical_style: str, summary: str = "", narration: str = "", duration: int | None = None
) -> str:
    """A mood description; the mood comes from the style, else the story, else the default (calm)."""
    mood_name = detect_mood(musical_style, default="") or detect_mood(
        f"{summary} {narration}", default=DEFAULT_MOOD
    )
    mood = MOODS[mood_name]
    length = f" for {duration} seconds" if duration else ""
    style = " ".join(musical_style.split()).rstrip(".")
    opening = f"{style}. " if style else ""
    return (
        f"{opening}Instrumental background music{length}, {mood.description}; mood: {mood.name}, "
        f"around {mood.tempo:g} bpm, in {mood.key_name}. It sits under a spoken narration, with no vocals."
    )


def video_prompt(narration: str, summary: str = "", style: str = "cinematic", seconds: int = 5) -> str:
    """A short shot description around the segment's key sentence."""
    key = image_prompts(narration, summary, 1)[0]
    camera = "Slow camera move, clear composition, no text on screen."
    return f"A {seconds}-second {style} shot showing: {key} {camera}"


class TemplatePromptsHandler(LocalHandler):
    """``image-prompt``, ``music-prompt`` and ``video-prompt`` jobs, one text per requested artefact."""

    limit_key = "local-text"

    async def produce(self, context: JobContext) -> JobResult:
        """Write the prompts (instant, so no worker thread)."""
        await asyncio.sleep(0)
        inputs = context.inputs
        narration = input_text(inputs, "NarrativeText") or input_text(inputs, "NarrationScripts")
        summary = input_text(inputs, "MovieSummary")
        texts = [item for item in requested_artefacts(context) if item.kind == "text"]
        if context.kind == "image-prompt":
            ordered = sorted(texts, key=lambda item: item.indices)
            prompts = dict(
                zip(
                    (i.artefact_id for i in ordered),
                    image_prompts(narration, summary, len(ordered)),
                    strict=True,
                )
            )
        elif context.kind == "music-prompt":
            text = music_prompt(
                input_text(inputs, "MusicalStyle"),
                summary,
                narration,
                input_int(inputs, "Duration", 0) or None,
            )
            prompts = {item.artefact_id: text for item in texts}
        else:
            text = video_prompt(
                narration,
                summary,
                input_text(inputs, "Style", "cinematic"),
                input_int(inputs, "SegmentDuration", 5),
            )
            prompts = {item.artefact_id: text for item in texts}
        artefacts = []
        for artefact_id, kind in context.produces:
            if artefact_id in prompts:
                data = prompts[artefact_id].encode("utf-8")
                artefacts.append(
                    ProducedArtefact(
                        artefact_id, mime_type="text/plain", data=data, diagnostics={"template": True}
                    )
                )
            else:
                artefacts.append(
                    ProducedArtefact(
                        artefact_id, status="failed", error=f"template-prompts cannot make a {kind}"
                    )
                )
        return JobResult(artefacts, diagnostics={"template": context.kind}, cost=0.0)
