"""Checking a writer's answer before it becomes an artefact: shape, count, length, language, no blanks.

Why a check of its own, whichever backend wrote the text: a JSON schema (where a backend can constrain
decoding) guarantees structure, never sense. Small local models answer with the right keys and the wrong
content often enough — three segments where six were asked, ten words where a minute of narration was
needed, English when the movie is French, an empty string. Each of those, stored, would be voiced and
drawn as if it were a script. So every answer goes through :func:`parse_answer` (tolerant: models wrap
JSON in code fences or chat) and then a kind-specific check that raises :class:`AnswerInvalidError`
with one line saying what was wrong; the chain feeds that line back on its single retry.

The language check is a plausibility test, not language identification: the writing system must match
the language's script, and for the Latin-script languages we know common words of, the asked language
must not be clearly outnumbered by another one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tutopanda.core.errors import ProviderError

__all__ = [
    "WORDS_PER_SECOND",
    "AnswerInvalidError",
    "PromptsAnswer",
    "ScriptAnswer",
    "check_language",
    "parse_answer",
    "prompts_schema",
    "script_schema",
    "speech_units",
    "validate_prompts",
    "validate_script",
    "word_bounds",
]

WORDS_PER_SECOND = 2.5
"""Speaking rate a narration is sized for (the same as the draft and the mock)."""

MIN_WORDS_RATIO = 0.5
"""A segment shorter than half its target length is refused (it would leave the slide silent)."""

MAX_WORDS_RATIO = 2.0
"""A segment longer than twice its target length is refused (the movie would run far over Duration)."""

_MIN_SEGMENT_WORDS = 5
_MAX_TEXT_CHARS = 20_000


class AnswerInvalidError(ProviderError):
    """A writer answered, but not with something usable. Retried once, then the chain falls back."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint, retryable=True)


@dataclass(frozen=True)
class ScriptAnswer:
    """A validated script: title, summary and one narration per segment."""

    title: str
    summary: str
    segments: tuple[str, ...]


@dataclass(frozen=True)
class PromptsAnswer:
    """Validated prompts (image prompts of a segment, or the one music/video prompt)."""

    prompts: tuple[str, ...]


def script_schema(segments: int) -> dict[str, Any]:
    """The JSON schema a script answer follows: ``{title, summary, segments: [exactly N strings]}``."""
    return {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "summary": {"type": "string"},
            "segments": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": segments,
                "maxItems": segments,
            },
        },
        "required": ["title", "summary", "segments"],
        "additionalProperties": False,
    }


def prompts_schema(count: int) -> dict[str, Any]:
    """``{prompts: [exactly N strings]}`` (N = 1 for the music and video prompts)."""
    return {
        "type": "object",
        "properties": {
            "prompts": {"type": "array", "items": {"type": "string"}, "minItems": count, "maxItems": count}
        },
        "required": ["prompts"],
        "additionalProperties": False,
    }


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def parse_answer(text: str) -> Mapping[str, Any]:
    """The JSON object in a model's answer: the whole text, a fenced block, or the outermost ``{…}``.

    Raises :class:`AnswerInvalidError` when there is none (never anything else, whatever the text).
    """
    if len(text) > _MAX_TEXT_CHARS * 4:
        raise AnswerInvalidError(f"the answer is {len(text):,} characters long, far more than asked for")
    candidates = [text.strip()]
    candidates.extend(match.group(1).strip() for match in _FENCE.finditer(text))
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    snippet = " ".join(text.split())[:80]
    raise AnswerInvalidError(
        f"the answer is not a JSON object: {snippet!r}" if snippet else "the answer is empty"
    )


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise AnswerInvalidError(f"{what} is {type(value).__name__}, not text")
    cleaned = " ".join(value.split())
    if not cleaned:
        raise AnswerInvalidError(f"{what} is empty")
    if len(cleaned) > _MAX_TEXT_CHARS:
        raise AnswerInvalidError(f"{what} is {len(cleaned):,} characters long")
    return cleaned


def _texts(document: Mapping[str, Any], key: str, count: int) -> list[str]:
    value = document.get(key)
    if not isinstance(value, list):
        raise AnswerInvalidError(f'the answer has no "{key}" list')
    if len(value) != count:
        raise AnswerInvalidError(f'"{key}" holds {len(value)} texts, not the {count} asked for')
    return [_text(_unwrap(item), f"{key}[{index}]") for index, item in enumerate(value)]


def _unwrap(item: Any) -> Any:
    """Small models often answer ``[{"text": "..."}]`` where ``["..."]`` was asked: take the text."""
    if isinstance(item, dict):
        for name in ("text", "narration", "content", "prompt"):
            if isinstance(item.get(name), str):
                return item[name]
    return item


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7AF


def speech_units(text: str) -> int:
    """Words, counting two CJK characters as one word (those scripts do not separate words by spaces)."""
    cjk = sum(1 for char in text if _is_cjk(char))
    words = len([word for word in re.split(r"\s+", text) if word and not all(_is_cjk(c) for c in word)])
    return words + cjk // 2


def word_bounds(duration: float, segments: int) -> tuple[int, int, int]:
    """``(target, minimum, maximum)`` words per segment for ``duration`` seconds in ``segments`` parts."""
    target = max(_MIN_SEGMENT_WORDS, round(duration * WORDS_PER_SECOND / max(1, segments)))
    return (
        target,
        max(_MIN_SEGMENT_WORDS, int(target * MIN_WORDS_RATIO)),
        max(_MIN_SEGMENT_WORDS * 2, round(target * MAX_WORDS_RATIO)),
    )


# --- language plausibility -------------------------------------------------------------------------

_SCRIPTS: dict[str, str] = {
    **dict.fromkeys(("ru", "uk", "bg", "sr", "mk", "be", "kk"), "CYRILLIC"),
    **dict.fromkeys(("ar", "fa", "ur"), "ARABIC"),
    **dict.fromkeys(("hi", "mr", "ne"), "DEVANAGARI"),
    "el": "GREEK",
    "he": "HEBREW",
    "th": "THAI",
    "zh": "CJK",
    "ja": "CJK",
    "ko": "HANGUL",
    "bn": "BENGALI",
    "ta": "TAMIL",
    "ka": "GEORGIAN",
    "hy": "ARMENIAN",
}
"""Languages not written in the Latin alphabet -> the Unicode script name their letters carry."""


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STOPWORDS: dict[str, frozenset[str]] = {
    "en": _word_set("the and of to is are that this with for it in was as on be by which from"),
    "fr": _word_set("le la les et des est une un du que qui dans pour pas sur au avec ce sont"),
    "de": _word_set("der die das und ist ein eine nicht mit den von zu sich auf dem des sind"),
    "es": _word_set("el la los las y es un una que de del en por con para se como son"),
    "it": _word_set("il lo la gli le e è un una che di del della per con non sono come"),
    "pt": _word_set("o a os as e é um uma que de do da em para com não são como"),
    "nl": _word_set("de het een en is van dat die niet met voor zijn op te"),
}


def _script_of(char: str) -> str:
    if _is_cjk(char):
        return "HANGUL" if 0xAC00 <= ord(char) <= 0xD7AF else "CJK"
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else ""


def check_language(text: str, language: str, what: str) -> None:
    """Raise :class:`AnswerInvalidError` when ``text`` is plainly not written in ``language``.

    Unknown language codes and short texts pass: a false refusal costs a retry and maybe a real script.
    """
    code = language.strip().lower().split("-", 1)[0]
    letters = [char for char in text if char.isalpha()]
    if len(letters) < 20:
        return
    scripts: dict[str, int] = {}
    for char in letters:
        script = _script_of(char)
        scripts[script] = scripts.get(script, 0) + 1
    expected = _SCRIPTS.get(code, "LATIN")
    share = scripts.get(expected, 0) / len(letters)
    if expected == "CJK" and code == "ja":
        share = (scripts.get("CJK", 0) + scripts.get("HIRAGANA", 0) + scripts.get("KATAKANA", 0)) / len(
            letters
        )
    if share < 0.5:
        main = max(scripts, key=lambda name: scripts[name]).lower()
        raise AnswerInvalidError(f"{what} is written in {main} letters, not in language {code!r}")
    if code not in _STOPWORDS:
        return
    words = re.findall(r"[^\W\d_]+", text.lower())
    if len(words) < 12:
        return
    scores = {name: sum(1 for word in words if word in table) for name, table in _STOPWORDS.items()}
    best = max(scores, key=lambda name: scores[name])
    if best != code and scores[best] >= 0.12 * len(words) and scores[code] * 2 < scores[best]:
        raise AnswerInvalidError(f"{what} reads as language {best!r}, not {code!r}")


# --- kind-specific checks ----------------------------------------------------------------------------


def validate_script(
    document: Mapping[str, Any], *, segments: int, duration: float, language: str
) -> ScriptAnswer:
    """Title, summary and exactly ``segments`` narrations, each near its share of ``duration`` and in
    ``language``."""
    title = _text(document.get("title"), "the title")
    summary = _text(document.get("summary"), "the summary")
    narrations = _texts(document, "segments", segments)
    target, low, high = word_bounds(duration, segments)
    for index, narration in enumerate(narrations):
        words = speech_units(narration)
        if words < low:
            raise AnswerInvalidError(
                f"segment {index + 1} has {words} words; it needs about {target} (at least {low})"
            )
        if words > high:
            raise AnswerInvalidError(
                f"segment {index + 1} has {words} words; it needs about {target} (at most {high})"
            )
    check_language(" ".join(narrations), language, "the narration")
    check_language(f"{title}. {summary}", language, "the title and summary")
    return ScriptAnswer(title, summary, tuple(narrations))


def validate_prompts(document: Mapping[str, Any], *, count: int, min_words: int = 4) -> PromptsAnswer:
    """Exactly ``count`` non-empty prompts of at least ``min_words`` words each."""
    prompts = _texts(document, "prompts", count)
    for index, prompt in enumerate(prompts):
        if len(prompt.split()) < min_words:
            raise AnswerInvalidError(f"prompt {index + 1} has fewer than {min_words} words: {prompt!r}")
    return PromptsAnswer(tuple(prompts))
