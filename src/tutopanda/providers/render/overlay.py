"""The fixed text overlay of a segment: a headline, two or three key points and the style's accent.

Why an overlay and not text in the picture: the clip renderer moves pictures with a Ken Burns zoom, which
cropped text baked into them. The overlay is drawn here, once per clip, and composited over the moving
picture at a fixed place, so no zoom can touch it.

What it guarantees, at every aspect ratio and resolution:

* every pixel it draws (glyphs, shadows, bullets, rules, panels) lies inside the safe area — 5 % of the
  width from the left and right edges and 5 % of the height from the top and bottom
  (:func:`~tutopanda.providers.local.slides_layout.safe_box`), and above the caption band;
* a word is never cut: the font shrinks first, then lines wrap at spaces, and when text still does not
  fit, whole words are dropped and an ellipsis ends the last kept word;
* the alpha channel of :func:`draw_overlay` is exactly the drawn text and accent (no scrim, no bars), so
  a test or benchmark can check the safe area on the alpha mask alone. A scrim for AI pictures and the
  cinematic letterbox are separate (:func:`draw_scrim`; bars are drawn by ffmpeg).

As a last defence the layout is measured on the pixels it drew: if any escaped the allowed box (a
glyph with an unusual overhang), everything is drawn again smaller.

Key points come from the narration (:func:`key_points`): its sentences after the first, shortened to a
clause when long, each remembering the word where it starts, so the renderer can reveal it when the
voice gets there. Each style (:mod:`tutopanda.providers.local.palettes`) sets faces, case, tracking,
bullets, panels and alignment; faces without a glyph for the text fall back to Roboto.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tutopanda.providers.local.fonts import font_for, load_font
from tutopanda.providers.local.palettes import Colour, Palette, palette_for
from tutopanda.providers.local.slides_layout import Box, Zones, safe_box, zones
from tutopanda.providers.local.slides_star import star_points

__all__ = [
    "ELLIPSIS",
    "KeyPoint",
    "Layer",
    "draw_overlay",
    "draw_scrim",
    "draw_title_overlay",
    "fit_text",
    "headline_for",
    "key_points",
    "overlay_layers",
    "safe_area",
    "shorten",
    "title_layers",
]

ELLIPSIS = "…"
_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])[\"'”’)]*\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+|\s+[—–]\s+")
_LEADING = re.compile(r"^(?:and|but|so|then|or)\s+", re.IGNORECASE)
_HEADLINE_CHARS = 80
_HEADLINE_SENTENCE = 64
_POINT_CHARS = 72
_LINE = 1.18


@dataclass(frozen=True)
class KeyPoint:
    """A key point's text and the index of the narration word where its source starts."""

    text: str
    word: int


@dataclass(frozen=True)
class Layer:
    """A piece of the overlay: an RGBA ``image`` to place at (``x``, ``y``) (even numbers, so chroma
    planes line up), its ``role`` (``headline``, ``point`` or ``title``) and, for a point, its
    :class:`KeyPoint`."""

    image: Image.Image
    x: int
    y: int
    role: str
    point: KeyPoint | None = None


# --- text selection ------------------------------------------------------------------------------------


def _pieces(text: str, boundary: re.Pattern[str], word: int = 0) -> list[tuple[str, int]]:
    """The non-empty pieces of ``text`` between ``boundary`` matches, each with the index of its first
    word (counted from ``word``), so a key point knows when the narration reaches it."""
    found: list[tuple[str, int]] = []
    for piece in (p.strip() for p in boundary.split(text)):
        if piece:
            found.append((piece, word))
            word += len(piece.split())
    return found


def _sentences(text: str) -> list[tuple[str, int]]:
    """Sentences of ``text`` with the index of their first word."""
    return _pieces(" ".join(text.split()), _SENTENCE_END)


def shorten(text: str, max_chars: int) -> str:
    """``text`` cut at a word boundary to at most ``max_chars`` (an ellipsis marks the cut)."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    words = text.split(" ")
    kept = ""
    for word in words:
        trial = f"{kept} {word}" if kept else word
        if len(trial) + 1 > max_chars:
            break
        kept = trial
    if not kept:  # one word longer than the limit: keep it whole (the font shrinks for it)
        return words[0]
    return kept.rstrip(",;:—–-") + ELLIPSIS


def _tidy(text: str) -> str:
    text = text.strip().rstrip(".,;:!?…。").strip()
    text = _LEADING.sub("", text)
    return text[:1].upper() + text[1:] if text else text


def headline_for(text: str, max_chars: int = _HEADLINE_CHARS) -> str:
    """The segment's headline: its first sentence (a Markdown heading line when the text starts with
    one); final punctuation other than ``?`` and ``!`` dropped. A sentence longer than
    :data:`_HEADLINE_SENTENCE` characters gives its main clause instead ("When the pressure becomes too
    strong, the magma breaks through the crust" -> "The magma breaks through the crust"), and anything
    still longer than ``max_chars`` is shortened at a word boundary."""
    stripped = text.strip()
    if stripped.startswith("#"):
        first_line = stripped.splitlines()[0].lstrip("#").strip()
        if first_line:
            return shorten(first_line, max_chars)
    sentences = _sentences(text)
    if not sentences:
        return ""
    first = sentences[0][0]
    if len(first) > _HEADLINE_SENTENCE and first[-1] not in "?!":
        clauses = [c for c in _clause_pieces(first, 0) if len(c[0].split()) >= 3]
        if len(clauses) > 1:
            best = max(clauses, key=lambda c: (_content(c[0]), not _SUBORDINATE.match(c[0]), -c[1]))[0]
            return shorten(_tidy(best), max_chars)
    return shorten(first if first[-1] in "?!" else first.rstrip(".;:。…"), max_chars)


_SUBORDINATE = re.compile(
    r"^(?:where|which|while|when|because|although|though|if|as|since|who)\b", re.IGNORECASE
)


def _content(text: str) -> int:
    """Content words (longer than three letters); a subordinate clause counts two less, so a point
    prefers the main clause ("It gathers in a chamber") over its tail ("where gas builds up")."""
    words = sum(1 for word in re.findall(r"\w+", text) if len(word) > 3)
    return words - (2 if _SUBORDINATE.match(text.strip()) else 0)


def key_points(text: str, count: int = 3, max_chars: int = _POINT_CHARS) -> list[KeyPoint]:
    """Up to ``count`` key points of a narration, in spoken order, after its first sentence.

    Each later sentence is a point; a long one is cut to its densest clause. With fewer than two later
    sentences, clauses of them are used instead, so a short narration still gets two points when it has
    the words for them.
    """
    stripped = text.strip()
    if stripped.startswith("#"):
        stripped = "\n".join(stripped.splitlines()[1:])
        sentences = _sentences(stripped)
    else:
        sentences = _sentences(stripped)[1:]
    pieces: list[tuple[str, int]] = []
    for sentence, word in sentences:
        if len(sentence) <= max_chars:
            pieces.append((sentence, word))
            continue
        clauses = _clause_pieces(sentence, word)
        best = max(clauses, key=lambda c: (_content(c[0]), -c[1]))
        pieces.append(best)
    if len(pieces) < 2:
        expanded: list[tuple[str, int]] = []
        for sentence, word in sentences:
            clauses = [c for c in _clause_pieces(sentence, word) if len(c[0].split()) >= 3]
            expanded.extend(clauses or [(sentence, word)])
        if len(expanded) > len(pieces):
            pieces = expanded
    if len(pieces) > count:  # keep the densest, in spoken order
        ranked = sorted(range(len(pieces)), key=lambda i: (-_content(pieces[i][0]), i))[:count]
        pieces = [pieces[i] for i in sorted(ranked)]
    points = [KeyPoint(shorten(_tidy(piece), max_chars), word) for piece, word in pieces]
    return [point for point in points if point.text]


def _clause_pieces(sentence: str, word: int) -> list[tuple[str, int]]:
    """Clauses of ``sentence`` (which starts at narration word ``word``) with their first word's index."""
    return _pieces(sentence, _CLAUSE_END, word)


# --- measuring and fitting -----------------------------------------------------------------------------


def _tracked(palette: Palette, text: str) -> float:
    """The headline's tracking, only for scripts drawn glyph by glyph without shaping loss."""
    return palette.tracking if palette.tracking and all(ord(c) < 0x0590 for c in text) else 0.0


def _width(text: str, font: ImageFont.FreeTypeFont, tracking: float = 0.0, stroke: int = 0) -> float:
    if not text:
        return 0.0
    if tracking:
        return sum(font.getlength(c) for c in text) + tracking * font.size * (len(text) - 1) + 2 * stroke
    left, _, right, _ = font.getbbox(text, stroke_width=stroke)
    return float(max(right, font.getlength(text)) - min(left, 0))


def _wrap(
    words: list[str], font: ImageFont.FreeTypeFont, width: float, tracking: float, stroke: int
) -> list[str] | None:
    """Words greedily into lines no wider than ``width``; None if one word alone is too wide."""
    lines: list[str] = []
    current = ""
    for word in words:
        if _width(word, font, tracking, stroke) > width:
            return None
        trial = f"{current} {word}" if current else word
        if _width(trial, font, tracking, stroke) <= width:
            current = trial
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _truncate(
    words: list[str], font: ImageFont.FreeTypeFont, width: float, lines: int, tracking: float, stroke: int
) -> list[str]:
    """The longest prefix of whole words, plus an ellipsis, that fits ``lines`` lines."""
    for keep in range(len(words), 0, -1):
        candidate = words[:keep]
        candidate = (
            [*candidate[:-1], candidate[-1].rstrip(",;:—–-.") + ELLIPSIS] if keep < len(words) else candidate
        )
        wrapped = _wrap(candidate, font, width, tracking, stroke)
        if wrapped is not None and len(wrapped) <= lines:
            return wrapped
    return [ELLIPSIS] if _width(ELLIPSIS, font) <= width else []


@dataclass(frozen=True)
class _Fitted:
    """Text fitted to a box: its lines, the font that fits, and the tracking and outline (``ink``, in
    pixels) it was measured with, so it is drawn exactly as measured."""

    lines: list[str]
    font: ImageFont.FreeTypeFont
    face: str
    tracking: float = 0.0
    ink: int = 0

    @property
    def height(self) -> float:
        return len(self.lines) * self.font.size * _LINE


def _fit(
    text: str,
    face: str,
    largest: int,
    smallest: int,
    width: float,
    max_lines: int,
    tracking: float = 0.0,
    stroke: float = 0.0,
    max_height: float | None = None,
) -> _Fitted:
    """The largest size from ``largest`` down whose words all fit ``width`` within ``max_lines`` (and,
    when given, ``max_height`` pixels).

    Below ``smallest`` it keeps shrinking only while a single word is too wide (down to 6 px); then
    it drops whole words from the end and ends with an ellipsis.
    """
    face = font_for(face, text)
    words = text.split()
    size = max(largest, 6)
    while True:
        font = load_font(face, size)
        ink = round(size * stroke)
        wrapped = _wrap(words, font, width, tracking, ink)
        tall = max_height is not None and wrapped is not None and len(wrapped) * size * _LINE > max_height
        if wrapped is not None and len(wrapped) <= max_lines and (not tall or size <= smallest):
            return _Fitted(wrapped, font, face, tracking, ink)
        if size <= 6 or (size <= smallest and wrapped is not None):
            return _Fitted(_truncate(words, font, width, max_lines, tracking, ink), font, face, tracking, ink)
        size = max(6, min(size - 1, int(size * 0.92)))


def fit_text(
    text: str, face: str, width: float, max_lines: int, largest: int, smallest: int
) -> tuple[list[str], int]:
    """The lines and pixel size the overlay would draw ``text`` with in a box ``width`` wide (the same
    rule as every overlay text: shrink, wrap at spaces, then drop whole words behind an ellipsis)."""
    fitted = _fit(" ".join(text.split()), face, largest, smallest, width, max_lines)
    return fitted.lines, int(fitted.font.size)


# --- drawing -------------------------------------------------------------------------------------------


def _text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    font: ImageFont.FreeTypeFont,
    fill: Colour | tuple[int, int, int, int],
    tracking: float = 0.0,
    stroke: int = 0,
    stroke_fill: Colour | None = None,
) -> None:
    x, y = xy
    if not tracking:
        draw.text((x, y), text, font=font, fill=fill, stroke_width=stroke, stroke_fill=stroke_fill)
        return
    for char in text:
        draw.text((x, y), char, font=font, fill=fill, stroke_width=stroke, stroke_fill=stroke_fill)
        x += font.getlength(char) + tracking * font.size


def _shadowed(ink: Image.Image, palette: Palette, size: float) -> Image.Image:
    """``ink`` (RGBA) with the style's shadow under it."""
    if palette.shadow_style not in ("soft", "hard"):
        return ink
    alpha = ink.getchannel("A")
    offset = max(1, round(size / 22))
    shadow_alpha = Image.new("L", ink.size, 0)
    shadow_alpha.paste(alpha, (offset, offset))
    if palette.shadow_style == "soft":
        shadow_alpha = shadow_alpha.filter(ImageFilter.GaussianBlur(max(1.0, size / 18)))
        shadow_alpha = shadow_alpha.point(lambda v: min(255, int(v * 0.85)))
    shadow = Image.new("RGBA", ink.size, (*palette.shadow, 0))
    shadow.putalpha(shadow_alpha)
    shadow.alpha_composite(ink)
    return shadow


def _even_down(value: float) -> int:
    return int(math.floor(value / 2) * 2)


class _Canvas:
    """A full-frame RGBA drawing surface cut into cropped layers."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self.image = Image.new("RGBA", size, (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)

    def layer(
        self, role: str, palette: Palette, text_size: float, allowed: Box, point: KeyPoint | None = None
    ) -> Layer | None:
        """Cut what was drawn into a layer (with its shadow), clear the canvas; None if nothing."""
        box = self.image.getchannel("A").getbbox()
        if box is None:
            return None
        pad = (
            0
            if palette.shadow_style not in ("soft", "hard")
            else round(text_size / 22 + 3 * text_size / 18) + 2
        )
        left = max(allowed.left, _even_down(box[0] - pad))
        top = max(allowed.top, _even_down(box[1] - pad))
        right = min(allowed.right, box[2] + pad)
        bottom = min(allowed.bottom, box[3] + pad)
        right, bottom = right - (right - left) % 2, bottom - (bottom - top) % 2  # even sizes
        if right - left < 2 or bottom - top < 2:
            self.image = Image.new("RGBA", self.size, (0, 0, 0, 0))
            self.draw = ImageDraw.Draw(self.image)
            return None
        ink = self.image.crop((left, top, right, bottom))
        self.image = Image.new("RGBA", self.size, (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)
        return Layer(_shadowed(ink, palette, text_size), left, top, role, point)


def _bullet(
    draw: ImageDraw.ImageDraw, palette: Palette, number: int, x: float, y: float, size: int, colour: Colour
) -> None:
    """The bullet of point ``number`` in a ``size`` px square at (x, y)."""
    cx, cy = x + size / 2, y + size / 2
    kind = palette.bullet
    if kind == "number":
        draw.ellipse((x, y, x + size, y + size), fill=palette.accent)
        font = load_font("roboto-black", max(6, round(size * 0.6)))
        draw.text((cx, cy), str(number), font=font, fill=palette.shadow, anchor="mm")
    elif kind == "star":
        draw.polygon(star_points(cx, cy, size / 2, size / 5), fill=palette.accent, outline=palette.shadow)
    elif kind == "tick":
        font = load_font("roboto-medium", max(6, round(size * 0.62)))
        draw.text((x, cy), f"{number:02d}", font=font, fill=palette.accent, anchor="lm")
    elif kind == "dash":
        draw.rectangle(
            (x, cy - max(1, size // 16), x + size * 0.8, cy + max(1, size // 16)), fill=palette.accent
        )
    elif kind == "blot":
        r = size * 0.32
        draw.ellipse((cx - r, cy - r * 0.85, cx + r, cy + r * 0.9), fill=(*palette.accent, 210))
        draw.ellipse((cx - r * 0.55, cy - r * 0.5, cx + r * 0.35, cy + r * 0.4), fill=(*palette.accent, 255))
    else:
        r = size * 0.22
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=palette.accent)
    del colour


def _for_pictures(palette: Palette) -> Palette:
    """A palette for text over an AI picture (under a dark scrim): light text, never dark."""
    light = sum(palette.text) / 3 > 150
    accent = palette.accent
    if sum(accent) / 3 < 150:  # a dark accent (ink on paper) would vanish on the scrim: lighten it
        accent = (
            accent[0] + (255 - accent[0]) * 2 // 5,
            accent[1] + (255 - accent[1]) * 2 // 5,
            accent[2] + (255 - accent[2]) * 2 // 5,
        )
    return replace(
        palette,
        accent=accent,
        text=palette.text if light else (255, 255, 255),
        muted=palette.body if light and palette.panel is None else (232, 232, 236),
        shadow=(0, 0, 0),
        shadow_style="soft",
        panel=None,
    )


def _palette(style: str | None, over_picture: bool) -> Palette:
    """The style's palette; over a picture that is not a local slide, its variant for text on a scrim."""
    palette = palette_for(style)
    return _for_pictures(palette) if over_picture else palette


def _text_allowed(zone: Zones) -> Box:
    """Where overlay ink may go: the safe area, down to the top of the caption band."""
    return Box(zone.safe.left, zone.safe.top, zone.safe.right, zone.text.bottom)


def _left_of(box: Box, centred: bool, line_width: float) -> float:
    """Where a line ``line_width`` wide starts in ``box``: centred in it, or at its left edge."""
    return box.left + (box.width - line_width) / 2 if centred else box.left


def _fit_display(
    palette: Palette,
    text: str,
    size: tuple[float, float],
    width: float,
    max_lines: int,
    max_height: float | None = None,
) -> _Fitted:
    """Display text (a headline or the movie's title) fitted in the style's headline face, case,
    tracking and outline: the one rule both the segment overlay and the title card set big text by.

    ``size`` is the (largest, smallest) font size in pixels, unrounded (a share of the frame's short side
    times the layout's scale); the smallest is never under 10 px."""
    text = text.upper() if palette.uppercase else text
    stroke = 0.07 if palette.shadow_style == "outline" else 0.0
    return _fit(
        text,
        palette.headline_face,
        round(size[0]),
        max(10, round(size[1])),
        width,
        max_lines,
        _tracked(palette, text),
        stroke,
        max_height=max_height,
    )


def _draw_lines(
    canvas: _Canvas,
    fitted: _Fitted,
    box: Box,
    centred: bool,
    y: float,
    fill: Colour,
    outline: Colour | None = None,
) -> float:
    """Draw ``fitted``'s lines from ``y`` down in ``box`` (with its tracking, and its outline in
    ``outline`` when it has one); returns the y under the last line."""
    font, tracking, ink = fitted.font, fitted.tracking, fitted.ink
    for line in fitted.lines:
        left = _left_of(box, centred, _width(line, font, tracking, ink))
        _text(canvas.draw, (left + ink, y), line, font, fill, tracking, ink, outline if ink else None)
        y += font.size * _LINE
    return y


def _shrunk_until_inside(layout: Callable[[float], list[Layer]], allowed: Box) -> list[Layer]:
    """``layout`` drawn at scale 1, then 15 % smaller each time until its ink stays inside ``allowed``
    (or the scale falls under 0.3): the last defence, measured on the pixels, against a glyph whose
    overhang the text measurements missed."""
    scale = 1.0
    while True:
        layers = layout(scale)
        if _inside(layers, allowed) or scale < 0.3:
            return layers
        scale *= 0.85


@dataclass(frozen=True)
class _Column:
    """Where a segment's text goes in a frame: ``inner``, the text zone inside the panel's padding
    ``pad`` (the full safe width, less a margin, for a centred design on a wide frame)."""

    size: tuple[int, int]
    zone: Zones
    inner: Box
    pad: int
    centred: bool

    @property
    def short(self) -> int:
        return min(self.size)


def _column(size: tuple[int, int], palette: Palette) -> _Column:
    width, height = size
    zone = zones(size)
    area = zone.text
    pad = round(min(width, height) * 0.03) if palette.panel is not None else 0
    inner = Box(area.left + pad, area.top + pad, area.right - pad, area.bottom - pad)
    centred = palette.align == "centre"
    if centred and zone.wide:  # a centred design uses the full safe width
        inner = Box(
            zone.safe.left + round(width * 0.08),
            inner.top,
            zone.safe.right - round(width * 0.08),
            inner.bottom,
        )
    return _Column(size, zone, inner, pad, centred)


@dataclass(frozen=True)
class _PointSizes:
    """The key points' measures at body text ``size``: the bullet's square, the text's indent, the
    padding of the speech bubble around each point (anime: ``bubbles``) and the space between points."""

    size: int
    bubbles: bool

    @property
    def bullet(self) -> float:
        return self.size * 1.15

    @property
    def indent(self) -> float:
        return self.bullet + self.size * 0.6

    @property
    def bubble(self) -> float:
        return self.size * 0.55 if self.bubbles else 0.0

    @property
    def spacing(self) -> float:
        return self.size * (0.55 if not self.bubbles else 0.5)


def _layout(
    size: tuple[int, int],
    palette: Palette,
    headline: str,
    points: list[KeyPoint],
    index: int | None,
    scale: float,
) -> list[Layer]:
    """The segment overlay drawn at ``scale``: kicker, headline and accent in one layer, then a layer per
    key point that fits under them, and for panelled styles a panel layer under all of them."""
    column = _column(size, palette)
    zone, inner, short = column.zone, column.inner, column.short
    canvas = _Canvas(size)
    allowed = _text_allowed(zone)
    y = float(inner.top)
    if column.centred:
        y += inner.height * (0.22 if zone.wide else 0.05)
    label_size = max(8, round(short * 0.03 * scale))
    kicker = palette.kicker.format(n=index + 1) if index is not None else ""
    if kicker:
        y = _draw_kicker(canvas, palette, column, kicker, label_size, y)
    fitted = _fit_display(
        palette,
        headline,
        (short * (0.085 if zone.wide else 0.092) * scale, short * 0.045 * scale),
        inner.width,
        3 if zone.wide else 4,
        max_height=(inner.bottom - y) * (0.5 if points else 0.9),  # leave the key points room
    )
    y = _draw_lines(canvas, fitted, inner, column.centred, y, palette.text, palette.shadow)
    hsize = fitted.font.size
    y = _draw_accent(
        canvas,
        palette,
        column,
        palette.texture if fitted.lines else "none",  # no accent without a headline
        y + hsize * 0.12,
        hsize,
        rule=max(2, round(short * 0.008 * scale)),
        top=inner.top + (label_size * 1.9 if kicker else 0),
    )
    headline_layer = canvas.layer("headline", palette, hsize, allowed)
    bubbles = palette.panel is not None and palette.texture == "rays"
    chosen, fits, sizes = _fit_points(palette, column, points, inner.bottom - y, hsize, scale, bubbles)
    layers = [headline_layer] if headline_layer is not None else []
    layers.extend(_draw_points(canvas, palette, column, chosen, fits, sizes, y, allowed))
    if palette.panel is not None and not bubbles and layers:
        layers.insert(0, _panel_layer(palette, column, layers))
    return layers


def _draw_kicker(
    canvas: _Canvas, palette: Palette, column: _Column, kicker: str, label_size: int, y: float
) -> float:
    """The kicker label above the headline ("FIG. 3", "CHAPTER 3"), on a slanted tag for anime and
    followed by a drafting line for diagrams; returns the y where the headline starts."""
    inner = column.inner
    face = font_for(palette.label_face, kicker)
    font = load_font(face, label_size)
    tracking = 0.18
    kw = _width(kicker, font, tracking)
    kx = inner.left + (inner.width - kw) / 2 if column.centred else inner.left
    if palette.texture == "rays":  # anime: a slanted yellow tag
        tag = label_size * 0.45
        canvas.draw.polygon(
            [
                (kx - tag + tag, y - tag * 0.3),
                (kx + kw + tag * 2, y - tag * 0.3),
                (kx + kw + tag, y + label_size * 1.25),
                (kx - tag * 0.0, y + label_size * 1.25),
            ],
            fill=palette.accent,
        )
        _text(canvas.draw, (kx + tag * 0.5, y), kicker, font, palette.shadow, tracking)
    else:
        _text(canvas.draw, (kx, y), kicker, font, palette.accent, tracking)
        if palette.texture == "blueprint":
            line_y = y + label_size * 0.6
            canvas.draw.line(
                (kx + kw + label_size * 0.6, line_y, inner.right, line_y),
                fill=(*palette.accent, 200),
                width=max(1, label_size // 12),
            )
    return y + label_size * 1.9


def _draw_accent(
    canvas: _Canvas,
    palette: Palette,
    column: _Column,
    accent: str,
    y: float,
    hsize: float,
    *,
    rule: int,
    top: float,
) -> float:
    """The style's ``accent`` under the headline (a bar, a brush swash, a dimension line, a short rule;
    for bokeh a thin bar beside the headline from ``top`` down); returns the y where the points start."""
    inner, short = column.inner, column.short
    if accent == "shapes":
        bar_w = min(inner.width * 0.3, short * 0.18)
        canvas.draw.rounded_rectangle(
            (inner.left, y, inner.left + bar_w, y + rule * 1.4), radius=rule, fill=palette.accent
        )
        return y + rule * 1.4 + hsize * 0.45
    if accent == "paint":
        _brush_swash(canvas, palette, inner.left + rule, y, min(inner.width * 0.45, short * 0.36), rule)
        return y + rule * 2.8 + hsize * 0.35
    if accent == "blueprint":
        rw = min(inner.width * 0.55, short * 0.45)
        thin = max(1, rule // 3)
        canvas.draw.line((inner.left, y + rule, inner.left + rw, y + rule), fill=palette.accent, width=thin)
        for tx in (inner.left, inner.left + rw):
            canvas.draw.line((tx, y, tx, y + rule * 2), fill=palette.accent, width=thin)
        return y + rule * 2 + hsize * 0.4
    if accent == "film":
        rw = min(inner.width * 0.12, short * 0.12)
        cx = inner.left + inner.width / 2 if column.centred else inner.left + rw / 2
        canvas.draw.rectangle(
            (cx - rw / 2, y + rule * 0.5, cx + rw / 2, y + rule * 0.5 + max(1, rule // 3)),
            fill=palette.accent,
        )
        return y + rule + hsize * 0.5
    y += hsize * 0.3
    if accent == "bokeh":  # a thin vertical accent beside the headline
        left = inner.left - column.pad * 0.55
        canvas.draw.rectangle(
            (left, top, left + max(2, rule // 2), y - hsize * 0.3),
            fill=palette.accent,
        )
    return y


def _brush_swash(canvas: _Canvas, palette: Palette, left: float, y: float, length: float, rule: int) -> None:
    """A tapered watercolour brush stroke ``length`` long from (``left``, ``y``)."""
    steps = 24
    top_edge, bottom_edge = [], []
    for k in range(steps + 1):
        t = k / steps
        px = left + t * length
        centre_y = y + rule * 1.2 + math.sin(t * math.pi * 1.3) * rule * 0.5
        half = rule * (0.35 + 0.9 * math.sin(math.pi * min(1.0, t * 1.15 + 0.05)))
        top_edge.append((px, centre_y - half))
        bottom_edge.append((px, centre_y + half * 0.8))
    canvas.draw.polygon(top_edge + bottom_edge[::-1], fill=(*palette.accent, 215))


def _fit_points(
    palette: Palette,
    column: _Column,
    points: list[KeyPoint],
    available: float,
    hsize: float,
    scale: float,
    bubbles: bool,
) -> tuple[list[KeyPoint], list[_Fitted], _PointSizes]:
    """The key points that fit ``available`` height under the headline, fitted, and their sizes: the
    body size shrinks to its smallest first, then the last points are left out."""
    short, zone = column.short, column.zone
    psize = min(round(short * 0.044 * scale), round(hsize * 0.72))
    smallest = max(8, round(short * 0.027 * scale))
    chosen = list(points)
    fits: list[_Fitted] = []
    while chosen:
        sizes = _PointSizes(psize, bubbles)
        text_width = column.inner.width - sizes.indent - 2 * sizes.bubble
        fits = [
            _fit(p.text, palette.body_face, psize, psize, text_width, 2 if zone.wide else 3) for p in chosen
        ]
        gap = sizes.spacing + 2 * sizes.bubble
        total = sum(f.height for f in fits) + gap * (len(fits) - 1) + 2 * sizes.bubble
        if total <= available:
            break
        if psize > smallest:
            psize = max(smallest, int(psize * 0.92))
        else:
            chosen = chosen[:-1]
    return chosen, fits, _PointSizes(psize, bubbles)


def _draw_points(
    canvas: _Canvas,
    palette: Palette,
    column: _Column,
    chosen: list[KeyPoint],
    fits: list[_Fitted],
    sizes: _PointSizes,
    y: float,
    allowed: Box,
) -> list[Layer]:
    """One layer per key point from ``y`` down: its bubble (anime), bullet (not for centred styles) and
    lines, so each point can be revealed when the narration reaches it."""
    inner, centred = column.inner, column.centred
    bullet, indent = (0.0, 0.0) if centred else (sizes.bullet, sizes.indent)
    bubble = sizes.bubble
    layers: list[Layer] = []
    for number, (point, fit) in enumerate(zip(chosen, fits, strict=False), start=1):
        font = fit.font
        left: float = inner.left
        if sizes.bubbles:
            widest = max(_width(line, font) for line in fit.lines) if fit.lines else 0
            canvas.draw.rounded_rectangle(
                (inner.left, y, inner.left + indent + widest + 2 * bubble, y + fit.height + 2 * bubble),
                radius=round(sizes.size * 0.6),
                fill=palette.panel,
                outline=palette.shadow,
                width=max(2, round(sizes.size / 14)),
            )
            y += bubble
            left = inner.left + bubble
        if not centred:
            bullet_y = y + (font.size * _LINE - bullet) / 2
            _bullet(canvas.draw, palette, number, left, bullet_y, round(bullet), palette.body)
        ly = y
        for line in fit.lines:
            lw = _width(line, font)
            lx = inner.left + (inner.width - lw) / 2 if centred else left + indent
            _text(canvas.draw, (lx, ly), line, font, palette.body)
            ly += font.size * _LINE
        layer = canvas.layer("point", palette, font.size, allowed, point)
        if layer is not None:
            layers.append(layer)
        y += fit.height + (bubble if sizes.bubbles else 0) + sizes.spacing
    return layers


def _panel_layer(palette: Palette, column: _Column, layers: list[Layer]) -> Layer:
    """A panel (photorealistic) behind the whole text block, as its own layer under ``layers``: from
    the top of the text zone to a little under the lowest layer, cut to even bounds."""
    area = column.zone.text
    bottom = max(layer.y + layer.image.height for layer in layers) + column.pad * 0.6
    top = area.top
    right = area.right if not column.centred else column.inner.right + column.pad
    panel = Image.new("RGBA", column.size, (0, 0, 0, 0))
    ImageDraw.Draw(panel).rounded_rectangle(
        (area.left, top, right, min(bottom, area.bottom)),
        radius=round(column.short * 0.02),
        fill=palette.panel,
    )
    box = (area.left, top, right, min(int(bottom), area.bottom))
    left_e, top_e = _even_down(box[0]), _even_down(box[1])
    right_e = box[2] - (box[2] - left_e) % 2
    bottom_e = box[3] - (box[3] - top_e) % 2
    return Layer(panel.crop((left_e, top_e, right_e, bottom_e)), left_e, top_e, "panel")


def _inside(layers: list[Layer], allowed: Box) -> bool:
    for layer in layers:
        box = layer.image.getchannel("A").getbbox()
        if box is None:
            continue
        if (
            layer.x + box[0] < allowed.left
            or layer.y + box[1] < allowed.top
            or layer.x + box[2] > allowed.right
            or layer.y + box[3] > allowed.bottom
        ):
            return False
    return True


def overlay_layers(
    size: tuple[int, int],
    style: str | None,
    headline: str,
    points: list[KeyPoint] | list[str],
    *,
    index: int | None = None,
    over_picture: bool = False,
) -> list[Layer]:
    """The overlay as cropped layers, bottom to top: an optional ``panel``, the ``headline`` (with the
    kicker label and accent), then one layer per ``point`` (so each can be revealed on its own).

    ``index`` (the segment, from 0) labels the kicker; ``over_picture`` adapts the colours for text on a
    picture that is not a local slide (light text over :func:`draw_scrim`).
    """
    palette = _palette(style, over_picture)
    items = [p if isinstance(p, KeyPoint) else KeyPoint(p, 0) for p in points]
    items = [KeyPoint(" ".join(p.text.split()), p.word) for p in items if p.text.strip()]
    headline = " ".join(headline.split())
    if not headline and not items:
        return []
    zone = zones(size)
    layers = _shrunk_until_inside(
        lambda scale: _layout(size, palette, headline, items, index, scale), _text_allowed(zone)
    )
    return [layer for layer in layers if _inside([layer], zone.safe)]


def _compose(size: tuple[int, int], layers: list[Layer]) -> Image.Image:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    for layer in layers:
        image.alpha_composite(layer.image, (layer.x, layer.y))
    return image


def draw_overlay(
    size: tuple[int, int],
    style: str | None = None,
    headline: str = "",
    points: list[KeyPoint] | list[str] | None = None,
    *,
    text: str = "",
    index: int | None = None,
    over_picture: bool = False,
) -> Image.Image:
    """The whole overlay of a segment as one ``size`` RGBA image (every layer of :func:`overlay_layers`
    shown). Its alpha is non-zero exactly where text, bullets, rules or panels are drawn, all inside
    the safe area and above the caption band.

    ``headline`` and ``points`` default to :func:`headline_for` and :func:`key_points` of ``text`` (the
    segment's narration)."""
    headline = headline or headline_for(text)
    chosen = key_points(text) if points is None else points
    return _compose(
        size, overlay_layers(size, style, headline, chosen, index=index, over_picture=over_picture)
    )


def title_layers(
    size: tuple[int, int], style: str | None, title: str, subtitle: str = "", *, over_picture: bool = False
) -> list[Layer]:
    """The movie's title card text as one layer: ``title`` large, an accent rule and ``subtitle`` (the
    summary), in the text column (centred for centred styles), inside the safe area above the captions."""
    palette = _palette(style, over_picture)
    title = " ".join(title.split())
    subtitle = shorten(" ".join(subtitle.split()), 180)
    return _shrunk_until_inside(
        lambda scale: _title_layout(size, palette, title, subtitle, scale), _text_allowed(zones(size))
    )


def _title_box(size: tuple[int, int], palette: Palette) -> Box:
    """Where the title card's text goes: the text zone (its upper half on a stacked frame), or the
    safe width less a margin for a centred design."""
    width = size[0]
    zone = zones(size)
    if palette.align == "centre":
        return Box(
            zone.safe.left + round(width * 0.05),
            zone.text.top,
            zone.safe.right - round(width * 0.05),
            zone.text.bottom,
        )
    if zone.wide:
        return zone.text
    return Box(
        zone.text.left,
        zone.text.top,
        zone.text.right,
        max(zone.art.top, zone.text.top + zone.text.height // 2),
    )


def _title_layout(
    size: tuple[int, int], palette: Palette, title: str, subtitle: str, scale: float
) -> list[Layer]:
    """The title card drawn at ``scale``: the title, then a rule and the subtitle, as a block centred
    vertically in :func:`_title_box`."""
    zone = zones(size)
    short = min(size)
    box = _title_box(size, palette)
    centred = palette.align == "centre"
    canvas = _Canvas(size)
    fitted = _fit_display(
        palette,
        title,
        (short * (0.1 if zone.wide else 0.11) * scale, short * 0.05 * scale),
        box.width,
        3,
    )
    sub = (
        _fit(
            subtitle,
            palette.body_face,
            round(short * 0.045 * scale),
            max(8, round(short * 0.03 * scale)),
            box.width,
            3,
        )
        if subtitle
        else None
    )
    tsize = fitted.font.size
    rule = max(2, round(short * 0.008 * scale))
    gap = tsize * 0.4
    total = fitted.height + (gap * 2 + rule + sub.height if sub else 0)
    y = box.top + max(0.0, (box.height - total) / 2)
    y = _draw_lines(canvas, fitted, box, centred, y, palette.text, palette.shadow)
    if sub is not None:
        y += gap - tsize * (_LINE - 1)
        rw = min(box.width * 0.3, short * 0.22)
        rx = _left_of(box, centred, rw)
        canvas.draw.rectangle((rx, y, rx + rw, y + rule), fill=palette.accent)
        _draw_lines(canvas, sub, box, centred, y + rule + gap, palette.body)
    layer = canvas.layer("title", palette, tsize, _text_allowed(zone))
    return [layer] if layer is not None else []


def draw_title_overlay(
    size: tuple[int, int], style: str | None, title: str, subtitle: str = "", *, over_picture: bool = False
) -> Image.Image:
    """:func:`title_layers` as one ``size`` RGBA image (alpha exactly the text and the rule)."""
    return _compose(size, title_layers(size, style, title, subtitle, over_picture=over_picture))


def draw_scrim(size: tuple[int, int], strength: float = 0.62) -> Image.Image:
    """A soft dark gradient behind the text zone, for text over pictures that were not made for it:
    from the left edge on wide frames, from the top on others (RGBA, black with varying alpha)."""
    width, height = size
    zone = zones(size)
    if zone.wide:
        reach = zone.text.right + width * 0.08
        ramp = [round(255 * strength * max(0.0, 1 - (x / reach)) ** 1.4) for x in range(width)]
        row = Image.new("L", (width, 1))
        row.putdata(ramp)
        alpha = row.resize((width, height))
    else:
        reach = zone.text.top + (zone.art.top - zone.text.top) * 1.25
        ramp = [round(255 * strength * max(0.0, 1 - (y / reach)) ** 1.2) for y in range(height)]
        column = Image.new("L", (1, height))
        column.putdata(ramp)
        alpha = column.resize((width, height))
    scrim = Image.new("RGBA", size, (0, 0, 0, 0))
    scrim.putalpha(alpha)
    return scrim


def safe_area(size: tuple[int, int]) -> Box:
    """The safe area of ``size`` (re-exported for tests and the quality benchmark)."""
    return safe_box(size)
