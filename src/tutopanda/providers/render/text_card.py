"""The key sentence of a segment, and a one-image text card of it.

The clip renderer no longer bakes text into a card for segments without pictures: it moves a text-free
slide background seeded by :func:`key_sentence` and draws the headline and key points as its fixed
overlay, like any illustrated segment. :func:`render_text_card` stays for callers that want one still
image of the card (the local slides' title card: same design per ``Style``, same bytes for same text).
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
