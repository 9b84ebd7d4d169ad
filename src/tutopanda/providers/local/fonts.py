"""Roboto from the ``font-roboto`` package: the only fonts the slides draw with.

Why not a system font or Pillow's default: system font paths differ per machine (and may be absent in a
container), and Pillow's built-in font is an ASCII-only subset, so é, ï, — and € would become boxes.
Roboto (Apache-2.0) covers full Latin and ships as a pip wheel, so slides render the same everywhere.
"""

from __future__ import annotations

import functools
from pathlib import Path

import font_roboto
from PIL import ImageFont

__all__ = ["FONT_DIRECTORY", "FONT_WEIGHTS", "font_path", "load_font"]

FONT_DIRECTORY = Path(str(font_roboto.font_directory))
"""The directory of the Roboto TTF files (also usable as ffmpeg's ``fontsdir`` for libass)."""

FONT_WEIGHTS = {"regular": "Roboto", "medium": "RobotoMedium", "bold": "RobotoBold", "light": "RobotoLight"}
"""Weights the slides use, by the ``font_roboto`` attribute that holds each TTF path."""


def font_path(weight: str = "regular") -> Path:
    """The TTF file of a Roboto ``weight`` (regular, medium, bold, light)."""
    return Path(str(getattr(font_roboto, FONT_WEIGHTS[weight])))


@functools.lru_cache(maxsize=64)
def load_font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    """Roboto at ``size`` pixels, cached (slides ask for the same few sizes over and over)."""
    return ImageFont.truetype(str(font_path(weight)), size)
