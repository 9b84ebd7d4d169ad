"""New movie ids made from the prompt: ``how-do-volcanoes-erupt-3f9a1c``.

Why a readable slug: the id is what a person types after ``--movie`` and sees as a folder name, so it
should say what the movie is about. Why a random suffix: two movies about the same question must not
collide (continuing one is explicit: ``--movie ID`` or ``query --last``).

Ids are ASCII (:func:`~tutopanda.core.store.storage.validate_movie_id` keeps them portable folder names), so a
prompt in another script is folded, not cut: ``Comment naît une éruption ?`` becomes
``comment-nait-une-eruption`` (NFKD splits ``é`` into ``e`` and a combining accent, which is dropped), a
few letters NFKD leaves whole are spelled out (``ß`` → ``ss``, ``ø`` → ``o``), and a prompt with no
Latin letters at all (Chinese, Cyrillic, Greek, …) gives ``movie-3f9a1c`` rather than a slug of whatever
digits happened to be in it — the title inside the movie keeps the original words.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

__all__ = ["FALLBACK_SLUG", "SLUG_MAX_LENGTH", "new_movie_id", "prompt_slug"]

SLUG_MAX_LENGTH = 40
"""Longest slug part (the id adds ``-`` and six hex digits, well under the 64-character id limit)."""

FALLBACK_SLUG = "movie"
"""The slug of a prompt with no Latin letter."""

_SPELLED_OUT = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "Th",
        "ı": "i",
    }
)
"""Latin letters that NFKD does not decompose into a base letter plus marks."""


def prompt_slug(text: str) -> str:
    """The readable part of an id: lowercase ASCII words of ``text`` joined by ``-`` (see the module)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPELLED_OUT))
    ascii_text = "".join(char for char in decomposed if not unicodedata.combining(char)).lower()
    if not re.search(r"[a-z]", ascii_text):
        return FALLBACK_SLUG
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return slug[:SLUG_MAX_LENGTH].strip("-") or FALLBACK_SLUG


def new_movie_id(text: str) -> str:
    """``how-do-volcanoes-erupt-3f9a1c``: :func:`prompt_slug` of ``text`` plus a random suffix."""
    return f"{prompt_slug(text)}-{secrets.token_hex(3)}"
