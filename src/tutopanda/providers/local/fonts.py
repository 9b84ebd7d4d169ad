"""The fonts slides draw with, all from pip wheels: Roboto, Caladea and Fredoka One.

Why pip fonts and not system ones: system font paths differ per machine (and may be absent in a
container), and Pillow's built-in font is an ASCII-only subset, so é, ï, — and € would become boxes.
Three families give the styles their own typography: Roboto (Apache-2.0, nine weights, Latin, Greek and
Cyrillic) is the workhorse; Caladea (Apache-2.0) is a book serif for the painted look; Fredoka One
(OFL-1.1) is a rounded display face for the anime look. The two display families cover Latin only, so
:func:`font_for` falls back to Roboto for any text they have no glyph for — a Greek or Russian headline
is never drawn as boxes because of a style choice.
"""

from __future__ import annotations

import functools
from pathlib import Path

import font_caladea
import font_fredoka_one
import font_roboto
from PIL import Image, ImageDraw, ImageFont

__all__ = ["FONTS", "FONT_DIRECTORY", "FONT_WEIGHTS", "covers", "font_for", "font_path", "load_font"]

FONT_DIRECTORY = Path(str(font_roboto.font_directory))
"""The directory of the Roboto TTF files (also usable as ffmpeg's ``fontsdir`` for libass)."""

FONT_WEIGHTS = {
    "thin": "RobotoThin",
    "light": "RobotoLight",
    "regular": "Roboto",
    "medium": "RobotoMedium",
    "bold": "RobotoBold",
    "black": "RobotoBlack",
    "italic": "RobotoItalic",
}
"""Roboto weights, by the ``font_roboto`` attribute that holds each TTF path."""

FONTS: dict[str, Path] = {
    **{f"roboto-{weight}": Path(str(getattr(font_roboto, name))) for weight, name in FONT_WEIGHTS.items()},
    "caladea-regular": Path(str(font_caladea.Caladea)),
    "caladea-bold": Path(str(font_caladea.CaladeaBold)),
    "caladea-italic": Path(str(font_caladea.CaladeaItalic)),
    "fredoka-regular": Path(str(font_fredoka_one.FredokaOne)),
}
"""Every face a style may name, as ``family-weight``."""


def font_path(weight: str = "regular") -> Path:
    """The TTF file of a Roboto ``weight`` (thin, light, regular, medium, bold, black, italic) or of a
    ``family-weight`` face from :data:`FONTS`."""
    return FONTS[weight] if weight in FONTS else FONTS[f"roboto-{weight}"]


@functools.lru_cache(maxsize=256)
def load_font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    """The face ``weight`` (see :func:`font_path`) at ``size`` pixels, cached (slides ask for the same few
    sizes over and over)."""
    return ImageFont.truetype(str(font_path(weight)), max(1, size))


def _glyph(face: str, char: str) -> bytes:
    image = Image.new("L", (48, 48), 0)
    ImageDraw.Draw(image).text((8, 4), char, font=load_font(face, 32), fill=255)
    return image.tobytes()


@functools.lru_cache(maxsize=4096)
def _has_glyph(face: str, char: str) -> bool:
    return _glyph(face, char) != _glyph(face, "\uffff")


def covers(face: str, text: str) -> bool:
    """Whether ``face`` has a glyph for every visible character of ``text``."""
    return all(_has_glyph(face, char) for char in set(text) if not char.isspace())


_FALLBACK = {"light": "roboto-light", "thin": "roboto-thin", "bold": "roboto-bold", "italic": "roboto-italic"}


def font_for(face: str, text: str) -> str:
    """``face`` if it can draw ``text``, else the Roboto face of about the same weight."""
    if face.startswith("roboto-") or covers(face, text):
        return face
    weight = face.split("-", 1)[1] if "-" in face else "regular"
    if face.startswith("fredoka"):
        return "roboto-black"
    return _FALLBACK.get(weight, "roboto-regular")
