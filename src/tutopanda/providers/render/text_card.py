"""A text card for segments without pictures (audio-only movies): the key sentence on a calm gradient.

Why private and small: the local slide renderer (``providers/local/slides.py``) is written separately;
the clip renderer only needs *a* picture, drawn deterministically (same text -> same PNG bytes) with a
font that covers Latin text (Roboto from font-roboto; Pillow's default font has no accents).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["key_sentence", "render_text_card"]

_MAX_CARD_CHARS = 140


def key_sentence(text: str, max_chars: int = _MAX_CARD_CHARS) -> str:
    """The segment's first sentence (the topic sentence), shortened at a word boundary if long."""
    normalised = " ".join(text.split())
    sentence = re.split(r"(?<=[.!?…])\s", normalised, maxsplit=1)[0] if normalised else ""
    if len(sentence) <= max_chars:
        return sentence
    cut = sentence[: max_chars - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        import font_roboto

        path = font_roboto.RobotoBold if bold else font_roboto.Roboto
        return ImageFont.truetype(str(path), size)
    except (ImportError, OSError):  # pragma: no cover - font-roboto is a dependency
        return ImageFont.load_default(size=size)


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_width: float
) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(trial, font=font) <= max_width:
            lines[-1] = trial
        else:
            lines.append(word)
    return lines


def _background(width: int, height: int) -> Image.Image:
    """A dark blue-violet diagonal gradient (numpy: one array op, not per-pixel Python)."""
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    blend = np.clip(0.7 * ys + 0.3 * xs, 0.0, 1.0)[..., None]
    top = np.array([24, 34, 64], dtype=np.float32)
    bottom = np.array([58, 28, 78], dtype=np.float32)
    pixels = (top * (1 - blend) + bottom * blend).astype(np.uint8)
    return Image.fromarray(pixels)


def render_text_card(text: str, width: int, height: int, path: Path) -> Path:
    """Draw ``key_sentence(text)`` centred on a gradient, ``width`` x ``height``, and save it as PNG."""
    image = _background(width, height)
    draw = ImageDraw.Draw(image)
    sentence = key_sentence(text) or " "
    size = max(12, height // 12)
    margin = width * 0.1
    font = _font(size, bold=True)
    lines = _wrap(draw, sentence, font, width - 2 * margin)
    while len(lines) * size * 1.3 > height * 0.7 and size > 12:
        size = max(12, int(size * 0.85))
        font = _font(size, bold=True)
        lines = _wrap(draw, sentence, font, width - 2 * margin)
    line_height = size * 1.3
    top = (height - line_height * len(lines)) / 2
    shadow = max(1, size // 24)
    for number, line in enumerate(lines):
        x = (width - draw.textlength(line, font=font)) / 2
        y = top + number * line_height
        draw.text((x + shadow, y + shadow), line, font=font, fill=(0, 0, 0))
        draw.text((x, y), line, font=font, fill=(245, 245, 250))
    bar_width = width * 0.12
    bar_y = top + line_height * len(lines) + size * 0.4
    draw.rectangle(
        ((width - bar_width) / 2, bar_y, (width + bar_width) / 2, bar_y + max(2, size // 10)),
        fill=(255, 170, 60),
    )
    image.save(path, format="PNG", compress_level=1)
    return path
