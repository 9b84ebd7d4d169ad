"""Slides and title cards drawn with Pillow and numpy: the local stand-in for an image model.

Why it looks like this: a slide shows the segment's key sentence large and legible over a style-coloured
gradient, so a movie made fully offline still reads well. The gradient gets a small Gaussian dither
(seeded, so bytes stay deterministic) against banding after H.264; text is wrapped greedily by pixel
width and shrunk until it fits; fonts are Roboto from the ``font-roboto`` package only. PNGs are saved
with ``compress_level=1`` (0.07 s instead of 0.6 s per 720p slide; the file is bigger but only ffmpeg
reads it). Rendering is at 1x the frame size: ffmpeg upscales for its Ken Burns moves.

Public for the clip renderer: :func:`render_title_card` / :func:`draw_title_card` and
:func:`render_slide` / :func:`draw_slide` (``size`` is ``(width, height)``; see :func:`.frame_size`).
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tutopanda.providers.local.fonts import load_font
from tutopanda.providers.local.palettes import Palette, palette_for

__all__ = ["draw_slide", "draw_title_card", "render_slide", "render_title_card", "wrap_text"]

_DITHER_SIGMA = 1.2
_LINE_SPACING = 1.3
_ELLIPSIS = "…"


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\0".join(parts).encode("utf-8")).digest()[:8], "big")


def _background(size: tuple[int, int], palette: Palette, seed: int) -> Image.Image:
    """Vertical gradient top→bottom, 30% horizontal tint towards ``side``, a blurred glow, dither."""
    width, height = size
    down = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    across = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    top, bottom, side = (np.array(c, dtype=np.float32) for c in (palette.top, palette.bottom, palette.side))
    pixels = top * (1 - down) + bottom * down
    pixels = pixels * (1 - 0.3 * across) + side * (0.3 * across)
    rng = np.random.default_rng(seed)
    pixels = pixels + rng.normal(0.0, _DITHER_SIGMA, size=(height, width, 1)).astype(np.float32)
    image = Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))
    glow = Image.new("L", size, 0)
    radius = max(width, height) * 0.35
    centre = (width * 0.82, height * 0.2)
    ImageDraw.Draw(glow).ellipse(
        (centre[0] - radius, centre[1] - radius * 0.7, centre[0] + radius, centre[1] + radius * 0.7), fill=90
    )
    glow = glow.filter(ImageFilter.GaussianBlur(max(height // 12, 4)))
    image.paste(Image.new("RGB", size, palette.glow), (0, 0), glow)
    if palette.grid:
        _grid(image, palette)
    return image


def _grid(image: Image.Image, palette: Palette) -> None:
    width, height = image.size
    step = max(height // 12, 8)
    overlay = Image.new("L", image.size, 0)
    draw = ImageDraw.Draw(overlay)
    for x in range(step // 2, width, step):
        draw.line((x, 0, x, height), fill=28, width=1)
    for y in range(step // 2, height, step):
        draw.line((0, y, width, y), fill=28, width=1)
    image.paste(Image.new("RGB", image.size, palette.accent), (0, 0), overlay)


def _letterbox(image: Image.Image) -> int:
    """Cinema bars top and bottom (landscape frames only); returns the bar height."""
    width, height = image.size
    if width <= height:
        return 0
    bar = height // 10
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, bar), fill=(0, 0, 0))
    draw.rectangle((0, height - bar, width, height), fill=(0, 0, 0))
    return bar


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
    """Greedy wrapping by pixel width; a word wider than a line is broken between characters."""
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


def _fit(
    text: str, weight: str, start: int, smallest: int, max_width: float, max_height: float
) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest font size (from ``start`` down to ``smallest``) whose wrapped text fits the box;
    at the smallest size, lines that do not fit are dropped and the last kept one gets an ellipsis."""
    size = start
    while True:
        font = load_font(weight, size)
        lines = wrap_text(text, font, max_width)
        if len(lines) * size * _LINE_SPACING <= max_height or size <= smallest:
            break
        size = max(smallest, int(size * 0.9))
    keep = max(1, int(max_height // (size * _LINE_SPACING)))
    if len(lines) > keep:
        lines = lines[:keep]
        last = lines[-1]
        while last and font.getlength(last + _ELLIPSIS) > max_width:
            last = last[:-1].rstrip()
        lines[-1] = last + _ELLIPSIS
    return font, lines


def _draw_lines(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    font: ImageFont.FreeTypeFont,
    origin: tuple[float, float],
    palette: Palette,
    *,
    centred_in: float | None = None,
) -> float:
    """Draw ``lines`` with a drop shadow from ``origin``; returns the y below the last line."""
    x, y = origin
    size = font.size
    offset = max(1, round(size / 24))
    for line in lines:
        left = x if centred_in is None else x + (centred_in - font.getlength(line)) / 2
        draw.text((left + offset, y + offset), line, font=font, fill=palette.shadow)
        draw.text((left, y), line, font=font, fill=palette.text)
        y += size * _LINE_SPACING
    return y


def _clean(text: str) -> str:
    return " ".join(text.split())


def draw_slide(text: str, size: tuple[int, int], style: str | None = None) -> Image.Image:
    """A slide with ``text`` (the segment's key sentence) on the ``style`` palette, as an RGB image."""
    palette = palette_for(style)
    width, height = size
    text = _clean(text)
    image = _background(size, palette, _seed("slide", text, palette.name, f"{width}x{height}"))
    bar = _letterbox(image) if palette.letterbox else 0
    if not text:
        return image
    short = min(width, height)
    margin = round(width * 0.08)
    accent = max(4, short // 110)
    gap = accent * 3
    box_width = width - 2 * margin - accent - gap
    box_height = (height - 2 * bar) * 0.72
    font, lines = _fit(text, "medium", max(short // 11, 14), max(short // 28, 10), box_width, box_height)
    block = len(lines) * font.size * _LINE_SPACING
    top = (height - block) / 2
    draw = ImageDraw.Draw(image)
    draw.rectangle((margin, top, margin + accent, top + block - font.size * 0.25), fill=palette.accent)
    _draw_lines(draw, lines, font, (margin + accent + gap, top), palette)
    return image


def draw_title_card(
    title: str, subtitle: str, size: tuple[int, int], style: str | None = None
) -> Image.Image:
    """A title card: ``title`` in bold, an accent rule, ``subtitle`` below; centred on the palette."""
    palette = palette_for(style)
    width, height = size
    title, subtitle = _clean(title), _clean(subtitle)
    image = _background(size, palette, _seed("title", title, subtitle, palette.name, f"{width}x{height}"))
    bar = _letterbox(image) if palette.letterbox else 0
    short = min(width, height)
    margin = round(width * 0.1)
    box_width = width - 2 * margin
    usable = height - 2 * bar
    title_font, title_lines = _fit(
        title, "bold", max(short // 9, 16), max(short // 24, 12), box_width, usable * 0.45
    )
    sub_font, sub_lines = (
        _fit(subtitle, "regular", max(short // 22, 12), max(short // 36, 10), box_width, usable * 0.25)
        if subtitle
        else (title_font, [])
    )
    rule = max(3, short // 160)
    rule_gap = short // 30
    title_height = len(title_lines) * title_font.size * _LINE_SPACING if title else 0
    sub_height = len(sub_lines) * sub_font.size * _LINE_SPACING
    total = title_height + (2 * rule_gap + rule if sub_lines else 0) + sub_height
    y = (height - total) / 2
    draw = ImageDraw.Draw(image)
    if title:
        y = _draw_lines(draw, title_lines, title_font, (margin, y), palette, centred_in=box_width)
    if sub_lines:
        rule_width = min(box_width * 0.3, short * 0.4)
        y += rule_gap - title_font.size * (_LINE_SPACING - 1)
        draw.rectangle(((width - rule_width) / 2, y, (width + rule_width) / 2, y + rule), fill=palette.accent)
        y += rule + rule_gap
        _draw_lines(draw, sub_lines, sub_font, (margin, y), palette, centred_in=box_width)
    return image


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def render_slide(text: str, size: tuple[int, int], style: str | None = None) -> bytes:
    """:func:`draw_slide` as PNG bytes (deterministic for the same arguments)."""
    return _png(draw_slide(text, size, style))


def render_title_card(title: str, subtitle: str, size: tuple[int, int], style: str | None = None) -> bytes:
    """:func:`draw_title_card` as PNG bytes (deterministic for the same arguments)."""
    return _png(draw_title_card(title, subtitle, size, style))
