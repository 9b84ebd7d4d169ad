"""What a mock call returns: one valid, deterministic payload per requested artefact.

Why the payload follows the *artefact* kind (text, json, image, audio, video) rather than hard-coded
artefact names: blueprints name their artefacts freely, and a third-party module with a new artefact
should still get a sensible mock. The job kind only refines the content: a script's title, summary and
narration texts (told apart by their artefact names), narration length from its text (about 2.5 words a
second), music length from a ``Duration`` input, the timeline document for ``timeline`` jobs.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Mapping
from typing import Any

from tutopanda.core.engine.provider_contract import JobContext, ProducedArtefact
from tutopanda.core.store.hashing import canonical_json
from tutopanda.providers.mock.digest import artefact_digest
from tutopanda.providers.mock.mp4 import mock_mp4
from tutopanda.providers.mock.png import write_png
from tutopanda.providers.mock.timeline import TimelineDocument, compose_timeline
from tutopanda.providers.mock.wav import write_tone_wav

__all__ = [
    "DEFAULT_MUSIC_SECONDS",
    "OFF_LOOP_SAMPLES",
    "WORDS_PER_SECOND",
    "build_artefacts",
    "builds_off_the_loop",
    "speech_seconds",
]

WORDS_PER_SECOND = 2.5
"""Speaking rate of mock narration (and of the narration length a mock script aims for)."""

DEFAULT_MUSIC_SECONDS = 30.0
"""Length of mock music when the job has no ``Duration`` input."""

_MAX_NARRATION_WORDS = 2000
_IMAGE_SIZES = {"16:9": (64, 36), "9:16": (36, 64), "1:1": (48, 48), "4:3": (64, 48)}
_ARTEFACT_ID = re.compile(r"^(?:Artifact:)?(?:[^.\[]+\.)?(?P<name>[^\[]+)(?P<indices>(?:\[\d+\])*)$")
_VOCABULARY = (
    *("energy", "pressure", "layer", "surface", "heat", "motion", "pattern", "scale", "change", "source"),
    *("model", "force", "balance", "signal", "system", "process", "result", "cause", "effect"),
    *("example", "detail", "structure", "flow", "cycle", "measure"),
)


def _name_and_indices(artefact_id: str) -> tuple[str, list[int]]:
    match = _ARTEFACT_ID.match(artefact_id)
    if match is None:
        return artefact_id, []
    return match["name"], [int(index) for index in re.findall(r"\d+", match["indices"])]


def _strings(value: Any) -> Iterator[str]:
    """Every string inside an input value (fan-in lists flattened), in order."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _number(inputs: Mapping[str, Any], alias: str) -> float | None:
    value = inputs.get(alias)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def speech_seconds(text: str) -> float:
    """How long mock narration of ``text`` lasts: 2.5 words a second, at least one second."""
    return max(1.0, len(text.split()) / WORDS_PER_SECOND)


def _words(seed: str, count: int) -> str:
    rng = random.Random(seed)
    words = [rng.choice(_VOCABULARY) for _ in range(count)]
    sentences = [" ".join(words[i : i + 12]) for i in range(0, len(words), 12)]
    return " ".join(sentence.capitalize() + "." for sentence in sentences)


def _narration_count(context: JobContext) -> int:
    """How many narration texts a script job writes (its text artefacts that are not title/summary)."""
    return sum(
        1
        for artefact_id, kind in context.produces
        if kind == "text" and not re.search("title|summary", _name_and_indices(artefact_id)[0], re.I)
    )


def _script_text(context: JobContext, name: str, indices: list[int], digest: str, narrations: int) -> str:
    inputs = context.inputs
    topic = next(_strings(inputs.get("InquiryPrompt")), None) or next(_strings(list(inputs.values())), "")
    topic = topic.strip().rstrip("?.!") or "the topic"
    lowered = name.lower()
    if "title" in lowered:
        return f"{topic[:1].upper()}{topic[1:]}: an explainer"
    if "summary" in lowered:
        audience = next(_strings(inputs.get("Audience")), "general")
        return f"An explainer in {max(narrations, 1)} parts about {topic}, for {audience} viewers."
    total = _number(inputs, "Duration")
    per_part = total * WORDS_PER_SECOND / max(narrations, 1) if total else 40
    count = int(min(max(per_part, 8), _MAX_NARRATION_WORDS))
    part = indices[0] + 1 if indices else 1
    opening = f"Part {part}: {topic}."
    return f"{opening} {_words(digest, max(count - len(opening.split()), 1))}"


def _prompt_text(context: JobContext, name: str, indices: list[int], digest: str) -> str:
    source = " ".join(" ".join(_strings(context.inputs[alias])) for alias in sorted(context.inputs))
    excerpt = " ".join(source.split()[:24]) or "an empty brief"
    settings = ", ".join(
        f"{alias}: {value}"
        for alias, value in sorted(context.inputs.items())
        if (isinstance(value, str) and len(value) <= 40) or isinstance(value, int | float)
    )
    where = "".join(f"[{index}]" for index in indices)
    return f"{name}{where} ({context.kind}) for: {excerpt}. {settings}. [mock {digest[:12]}]"


def _text(context: JobContext, artefact_id: str, digest: str, narrations: int) -> ProducedArtefact:
    name, indices = _name_and_indices(artefact_id)
    if context.kind == "script":
        text = _script_text(context, name, indices, digest, narrations)
    else:
        text = _prompt_text(context, name, indices, digest)
    diagnostics = {"words": len(text.split())}
    data = text.encode("utf-8")
    return ProducedArtefact(artefact_id, mime_type="text/plain", data=data, diagnostics=diagnostics)


def _json(context: JobContext, artefact_id: str, digest: str) -> ProducedArtefact:
    diagnostics: dict[str, Any] = {}
    if context.kind == "timeline":
        composition = compose_timeline(context.inputs, f"timeline-{digest[:16]}")
        data = composition.document.to_json_bytes()
        TimelineDocument.model_validate_json(data)  # what we return must read back as a timeline
        diagnostics = {"duration": composition.document.duration, "estimatedDurations": composition.estimated}
    else:
        document: Any = {"artefactId": artefact_id, "kind": context.kind, "mock": True, "digest": digest}
        data = canonical_json(document).encode("utf-8")
    return ProducedArtefact(artefact_id, mime_type="application/json", data=data, diagnostics=diagnostics)


def _image(context: JobContext, artefact_id: str, digest: str) -> ProducedArtefact:
    aspect = context.inputs.get("AspectRatio")
    width, height = _IMAGE_SIZES.get(aspect if isinstance(aspect, str) else "", _IMAGE_SIZES["16:9"])
    raw = bytes.fromhex(digest)
    data = write_png(width, height, (raw[0], raw[1], raw[2]), (raw[3], raw[4], raw[5]), text={"mock": digest})
    return ProducedArtefact(
        artefact_id, mime_type="image/png", data=data, diagnostics={"width": width, "height": height}
    )


def _audio_seconds(context: JobContext) -> float:
    """How long the mock's audio for ``context`` lasts: music its Duration, speech its words."""
    if context.kind == "music":
        return _number(context.inputs, "Duration") or DEFAULT_MUSIC_SECONDS
    text = context.inputs.get("Text")
    spoken = text if isinstance(text, str) else " ".join(_strings(list(context.inputs.values())))
    return speech_seconds(spoken)


def _audio(context: JobContext, artefact_id: str, digest: str, sample_rate: int) -> ProducedArtefact:
    seconds = _audio_seconds(context)
    period = 16 + int(digest[0:4], 16) % 49
    amplitude = 0.2 + int(digest[4:8], 16) % 60 / 100
    comment = f"tutopanda-mock:{digest}"
    data = write_tone_wav(
        seconds, period=period, amplitude=amplitude, sample_rate=sample_rate, comment=comment
    )
    return ProducedArtefact(
        artefact_id, mime_type="audio/wav", data=data, diagnostics={"durationSeconds": round(seconds, 3)}
    )


def _video(artefact_id: str, digest: str) -> ProducedArtefact:
    return ProducedArtefact(artefact_id, mime_type="video/mp4", data=mock_mp4(digest))


OFF_LOOP_SAMPLES = 1_000_000
"""Audio longer than this many samples (about a minute at 16 kHz: ~10 ms to make) is made in a thread."""


def builds_off_the_loop(context: JobContext, *, sample_rate: int) -> bool:
    """Whether :func:`build_artefacts` for ``context`` takes long enough to belong in a thread: a
    timeline (it reads its narrations' WAV headers) or long audio (a user's Duration has no cap).
    Everything else takes tens of microseconds (tiny PNGs, the MP4 template, texts)."""
    if context.kind == "timeline":
        return True
    return any(kind == "audio" for _, kind in context.produces) and (
        _audio_seconds(context) * sample_rate > OFF_LOOP_SAMPLES
    )


def build_artefacts(context: JobContext, digest: str, *, sample_rate: int) -> list[ProducedArtefact]:
    """One succeeded (or, for an unknown artefact kind, failed) artefact per ``context.produces``.

    Blocking only where :func:`builds_off_the_loop` says so (timelines read their narrations' WAV
    headers): call those in a thread from async code. Everything else is computed from values and
    blob hashes in memory, in microseconds (tiny PNGs, repeated WAV cycles, the MP4 template).
    """
    results: list[ProducedArtefact] = []
    narrations = _narration_count(context) if context.kind == "script" else 0  # once: scripts have many
    for position, (artefact_id, kind) in enumerate(context.produces):
        own = artefact_digest(digest, position, kind)
        if kind == "text":
            results.append(_text(context, artefact_id, own, narrations))
        elif kind == "json":
            results.append(_json(context, artefact_id, own))
        elif kind == "image":
            results.append(_image(context, artefact_id, own))
        elif kind == "audio":
            results.append(_audio(context, artefact_id, own, sample_rate))
        elif kind == "video":
            results.append(_video(artefact_id, own))
        else:
            error = f"the mock cannot make a {kind!r} artefact"
            results.append(ProducedArtefact(artefact_id, status="failed", error=error))
        results[-1].diagnostics["digest"] = own
    return results
