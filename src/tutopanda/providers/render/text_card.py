"""A text card for segments without pictures (audio-only movies): the segment's key sentence.

Why reuse the local slides' title card: the card then has the same palette per ``Style``, fonts (Roboto,
full Latin) and determinism (same text -> same PNG bytes) as the slides of illustrated movies.
"""

from __future__ import annotations

import re
from pathlib import Path

from tutopanda.providers.local.slides import render_title_card

__all__ = ["key_sentence", "render_text_card"]

_MAX_CARD_CHARS = 140


def key_sentence(text: str, max_chars: int = _MAX_CARD_CHARS) -> str:
    """The segment's first sentence (its topic sentence), shortened at a word boundary if long."""
    normalised = " ".join(text.split())
    sentence = re.split(r"(?<=[.!?…])\s", normalised, maxsplit=1)[0] if normalised else ""
    if len(sentence) <= max_chars:
        return sentence
    cut = sentence[: max_chars - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def render_text_card(text: str, size: tuple[int, int], style: str | None, path: Path) -> Path:
    """Draw ``key_sentence(text)`` as a title card of ``size`` in ``style`` and save it as ``path``."""
    path.write_bytes(render_title_card(key_sentence(text), "", size, style))
    return path
