"""Slides drawn with Pillow and numpy: the local stand-in for an image model.

Why a slide carries no text: the SegmentRenderer moves every picture with a Ken Burns zoom, and text
baked into the picture was cropped by it (the left margin and the accent bar went off-screen). So the
Illustrator paints a designed, text-free background per segment — each style's own texture and motif
(:mod:`.slides_backgrounds`), placed where the layout (:mod:`.slides_layout`) keeps text away — and the
renderer draws the headline and key points as a fixed overlay (:mod:`tutopanda.providers.render.overlay`)
that no zoom can crop. The prompt still matters: it seeds every random choice, so two segments look
related but different, and the same prompt always gives the same bytes.

PNGs are saved with ``compress_level=1`` (0.07 s instead of 0.6 s per 720p slide; only ffmpeg reads
them) and carry a ``tutopanda`` text chunk saying they are text-free backgrounds: the renderer then lays
its text straight on them, where an AI image gets a scrim behind the text first. Rendering is at 1x the
frame size: ffmpeg upscales for its Ken Burns moves.

Public: :func:`draw_slide` / :func:`render_slide` (the background), :func:`draw_title_card` /
:func:`render_title_card` (a background with the title and summary over it), :func:`wrap_text`.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageFont
from PIL.PngImagePlugin import PngInfo

from tutopanda.providers.local.palettes import palette_for
from tutopanda.providers.local.slides_backgrounds import draw_background

__all__ = [
    "SLIDE_MARK",
    "draw_slide",
    "draw_title_card",
    "is_slide_background",
    "render_slide",
    "render_title_card",
    "wrap_text",
]

SLIDE_MARK = ("tutopanda", "slide-background")
"""The PNG text chunk (key, value) that marks a local, text-free slide background."""


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\0".join(parts).encode("utf-8")).digest()[:8], "big")


def _break_word(word: str, font: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    pieces: list[str] = []
    current = ""
    for char in word:
        if current and font.getlength(current + char) > max_width:
            pieces.append(current)
            current = char
        else:
            current += char
    return [*pieces, current] if current else pieces


def wrap_text(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    """Greedy wrapping by pixel width; a word wider than a line is broken between characters.

    (The overlay never relies on the breaking: it shrinks the font first, then drops whole words.)
    """
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}" if current else word
        if font.getlength(trial) <= max_width:
            current = trial
            continue
        if current:
            lines.append(current)
        if font.getlength(word) <= max_width:
            current = word
        else:
            *full, current = _break_word(word, font, max_width)
            lines.extend(full)
    if current:
        lines.append(current)
    return lines


def _clean(text: str) -> str:
    return " ".join(text.split())


def draw_slide(text: str, size: tuple[int, int], style: str | None = None) -> Image.Image:
    """The text-free background of the slide for ``text`` (the segment's image prompt) in ``style``."""
    palette = palette_for(style)
    width, height = size
    return draw_background(size, palette, _seed("slide", _clean(text), palette.name, f"{width}x{height}"))


def draw_title_card(
    title: str, subtitle: str, size: tuple[int, int], style: str | None = None
) -> Image.Image:
    """A title card (RGB): the background with ``title`` and ``subtitle`` drawn over it, fixed."""
    from tutopanda.providers.render.overlay import draw_title_overlay

    palette = palette_for(style)
    width, height = size
    image = draw_background(
        size, palette, _seed("title", _clean(title), _clean(subtitle), palette.name, f"{width}x{height}")
    ).convert("RGBA")
    image.alpha_composite(draw_title_overlay(size, style, title, subtitle))
    return image.convert("RGB")


def _png(image: Image.Image, *, background: bool = False) -> bytes:
    buffer = io.BytesIO()
    info = PngInfo()
    if background:
        info.add_text(*SLIDE_MARK)
    image.save(buffer, format="PNG", compress_level=1, pnginfo=info)
    return buffer.getvalue()


def is_slide_background(image: Image.Image) -> bool:
    """Whether ``image`` (opened from a PNG) is a local text-free slide background."""
    key, value = SLIDE_MARK
    return image.info.get(key) == value


def render_slide(text: str, size: tuple[int, int], style: str | None = None) -> bytes:
    """:func:`draw_slide` as PNG bytes, marked as a slide background (deterministic)."""
    return _png(draw_slide(text, size, style), background=True)


def render_title_card(title: str, subtitle: str, size: tuple[int, int], style: str | None = None) -> bytes:
    """:func:`draw_title_card` as PNG bytes (deterministic for the same arguments)."""
    return _png(draw_title_card(title, subtitle, size, style))
