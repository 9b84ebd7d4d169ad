"""Text-free slide backgrounds, one painted look per style, with numpy and Pillow.

Why text-free: the SegmentRenderer moves the picture with a Ken Burns zoom, and a zoom crops whatever
is near the edges. So the Illustrator paints only the *background* — a texture over the whole frame and
a motif in the art zone (:mod:`.slides_layout`) — and the renderer lays the text over it, fixed.

Why these looks: each style gets a texture a viewer recognises at a glance, cheap enough to paint in a
fraction of a second at 1080p:

* ``shapes`` (illustration): flat vector shapes — a sun disc, rings, layered hills, a dot grid;
* ``bokeh`` (photorealistic): out-of-focus lights, a vignette and film grain, like a shallow-focus photo;
* ``paint`` (watercolor): paper grain and pigment blotches whose edges dry darker, laid subtractively;
* ``rays`` (anime): a sunburst from the focus, halftone dots and sparkles;
* ``blueprint`` (diagram): a drafting grid, construction circles, dimension lines with arrows and ticks;
* ``film`` (cinematic): a dark grade, a warm light leak, an anamorphic flare and grain.

Every random choice comes from a seed the caller derives from the prompt, so the same prompt, style and
size always give the same pixels (the build system's early cutoff relies on byte-stable outputs).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tutopanda.providers.local.fonts import load_font
from tutopanda.providers.local.palettes import Colour, Palette
from tutopanda.providers.local.slides_layout import zones
from tutopanda.providers.local.slides_star import star_points

__all__ = ["draw_background"]

Array = np.ndarray
_DITHER_SIGMA = 1.2


def _gradient(size: tuple[int, int], palette: Palette) -> Array:
    width, height = size
    down = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    across = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    top, bottom, side = (np.array(c, dtype=np.float32) for c in (palette.top, palette.bottom, palette.side))
    pixels: Array = top * (1 - down) + bottom * down
    tinted: Array = pixels * (1 - 0.3 * across) + side * (0.3 * across)
    return tinted


def _noise(rng: np.random.Generator, size: tuple[int, int], cell: float) -> Array:
    """Smooth value noise in [0, 1] with features about ``cell`` pixels wide."""
    width, height = size
    small = rng.random((max(2, int(height / cell) + 2), max(2, int(width / cell) + 2)), dtype=np.float32)
    field = Image.fromarray(small, mode="F").resize((width, height), Image.Resampling.BICUBIC)
    values: Array = np.clip(np.asarray(field, dtype=np.float32), 0.0, 1.0)
    return values


def _blend(pixels: Array, colour: Colour, alpha: Array) -> Array:
    a = alpha[..., None] if alpha.ndim == 2 else alpha
    result: Array = pixels * (1 - a) + np.array(colour, dtype=np.float32) * a
    return result


def _layer_alpha(
    size: tuple[int, int], draw: Callable[[ImageDraw.ImageDraw, float], None], blur: float = 0
) -> Array:
    """An antialiased coverage mask: ``draw`` paints at 2x (it gets the scale), then it is reduced."""
    width, height = size
    mask = Image.new("L", (width * 2, height * 2), 0)
    draw(ImageDraw.Draw(mask), 2.0)
    mask = mask.resize(size, Image.Resampling.BOX)
    if blur > 0:
        mask = mask.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(mask, dtype=np.float32) / 255.0


def _vignette(size: tuple[int, int], strength: float) -> Array:
    width, height = size
    y = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    falloff: Array = 1.0 - strength * np.clip((x * x + y * y) / 2.0, 0.0, 1.0) ** 1.2
    return falloff[..., None]


def _glow(
    pixels: Array,
    size: tuple[int, int],
    colour: Colour,
    centre: tuple[float, float],
    radius: float,
    alpha: float,
) -> Array:
    width, height = size
    y = (np.arange(height, dtype=np.float32)[:, None] - centre[1]) / max(radius, 1.0)
    x = (np.arange(width, dtype=np.float32)[None, :] - centre[0]) / max(radius, 1.0)
    return _blend(pixels, colour, alpha * np.exp(-(x * x + y * y)))


# --- illustration: flat vector shapes ------------------------------------------------------------------


def _shapes(pixels: Array, size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Array:
    """Illustration: a sun disc in rings with a planet ring, two peaks or a second disc, layered hills
    along the bottom and a dot grid with scattered rings."""
    art = zones(size).art
    cx, cy = art.centre
    radius = min(art.width, art.height) * rng.uniform(0.28, 0.34)
    cy -= art.height * 0.06
    pixels = _glow(pixels, size, palette.glow, (cx, cy), radius * 2.2, 0.25)
    pixels = _blend(pixels, palette.motif, 0.22 * _layer_alpha(size, _rings(size, (cx, cy), radius)))
    pixels = _sun_motif(pixels, size, palette, rng, (cx, cy), radius)
    pixels = _hills(pixels, size, palette, rng)
    return _dot_grid(pixels, size, palette, rng)


def _rings(
    size: tuple[int, int], centre: tuple[float, float], radius: float
) -> Callable[[ImageDraw.ImageDraw, float], None]:
    """Three thin concentric rings around the sun disc, for :func:`_layer_alpha`."""
    short = min(size)
    cx, cy = centre

    def rings(draw: ImageDraw.ImageDraw, s: float) -> None:
        for step in (1.25, 1.5, 1.78):
            r = radius * step
            draw.ellipse(
                ((cx - r) * s, (cy - r) * s, (cx + r) * s, (cy + r) * s),
                outline=255,
                width=max(2, round(short / 260 * s)),
            )

    return rings


def _sun_motif(
    pixels: Array,
    size: tuple[int, int],
    palette: Palette,
    rng: np.random.Generator,
    centre: tuple[float, float],
    radius: float,
) -> Array:
    """The sun disc and one of three companions picked by ``rng``: a tilted planet ring around it, two
    flat mountains in front of a smaller sun, or a second disc overlapping it."""
    width = size[0]
    art = zones(size).art
    short = min(size)
    cx, cy = centre
    variant = int(rng.integers(0, 3))
    tilt = float(rng.uniform(-0.35, 0.35))

    def sun(draw: ImageDraw.ImageDraw, s: float) -> None:
        draw.ellipse(((cx - radius) * s, (cy - radius) * s, (cx + radius) * s, (cy + radius) * s), fill=255)

    def planet_ring(draw: ImageDraw.ImageDraw, s: float) -> None:  # a tilted ring around the disc
        points = []
        for k in range(73):
            t = 2 * math.pi * k / 72
            x, y = 1.75 * radius * math.cos(t), 0.42 * radius * math.sin(t)
            points.append(
                (
                    (cx + x * math.cos(tilt) - y * math.sin(tilt)) * s,
                    (cy + x * math.sin(tilt) + y * math.cos(tilt)) * s,
                )
            )
        draw.line(points, fill=255, width=max(3, round(short / 110 * s)), joint="curve")

    def peaks(draw: ImageDraw.ImageDraw, s: float, which: int) -> None:  # two flat mountains, back, front
        foot = cy + radius * 1.25
        for offset, scale in (((-0.45, 1.0), (0.55, 0.8))[which],):
            px, h = cx + radius * offset * 1.6, radius * 2.1 * scale
            h = min(h, (px - art.left - width * 0.04) / 0.75)  # never reach into the text column
            draw.polygon(
                [((px - h * 0.75) * s, foot * s), (px * s, (foot - h) * s), ((px + h * 0.75) * s, foot * s)],
                fill=255,
            )

    if variant == 2:  # mountains: a smaller sun behind two peaks
        radius *= 0.7
        cy -= radius * 0.4
    pixels = _blend(pixels, palette.motif, 0.95 * _layer_alpha(size, sun))
    if variant == 1:
        return _blend(pixels, palette.motif2, 0.9 * _layer_alpha(size, planet_ring))
    if variant == 2:
        back = (palette.motif2[0] * 3 // 4, palette.motif2[1] * 3 // 4, palette.motif2[2] * 3 // 4)
        pixels = _blend(pixels, back, _layer_alpha(size, lambda draw, s: peaks(draw, s, 0)))
        return _blend(pixels, palette.motif2, _layer_alpha(size, lambda draw, s: peaks(draw, s, 1)))
    bx, by, br = cx + radius * 0.75, cy + radius * 0.55, radius * 0.45

    def blob(draw: ImageDraw.ImageDraw, s: float) -> None:
        draw.ellipse(((bx - br) * s, (by - br) * s, (bx + br) * s, (by + br) * s), fill=255)

    return _blend(pixels, palette.motif2, 0.9 * _layer_alpha(size, blob))


def _hills(pixels: Array, size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Array:
    """Two rolling hills along the bottom, the nearer one lower and darker."""
    width, height = size
    for depth, (shade, alpha) in enumerate(((0.55, 0.75), (0.35, 0.9))):
        phase, waves = rng.uniform(0, 2 * math.pi), rng.uniform(1.2, 2.2)
        base = height * (0.78 + 0.09 * depth)
        amp = height * (0.05 - 0.015 * depth)
        colour = tuple(int(c * shade) for c in palette.bottom)

        def hill(
            draw: ImageDraw.ImageDraw,
            s: float,
            base: float = base,
            amp: float = amp,
            phase: float = phase,
            waves: float = waves,
        ) -> None:
            points = [
                (x * s, (base + amp * math.sin(phase + waves * 2 * math.pi * x / width)) * s)
                for x in range(0, width + 16, 16)
            ]
            draw.polygon([*points, (width * s, height * s), (0, height * s)], fill=255)

        pixels = _blend(pixels, (colour[0], colour[1], colour[2]), alpha * _layer_alpha(size, hill))
    return pixels


def _dot_grid(pixels: Array, size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Array:
    """A 6 x 4 dot grid at the art zone's corner and seven rings scattered over the upper frame."""
    width, height = size
    art = zones(size).art
    dot = max(2.0, min(size) / 160)
    gap = dot * 5
    ox, oy = art.left + art.width * 0.05, art.top + art.height * 0.02

    def dots(draw: ImageDraw.ImageDraw, s: float) -> None:
        for row in range(4):
            for col in range(6):
                x, y = ox + col * gap, oy + row * gap
                draw.ellipse(((x - dot) * s, (y - dot) * s, (x + dot) * s, (y + dot) * s), fill=255)
        for _ in range(7):
            x, y = rng.uniform(0, width), rng.uniform(0, height * 0.7)
            r = rng.uniform(dot * 1.5, dot * 3.5)
            draw.ellipse(
                ((x - r) * s, (y - r) * s, (x + r) * s, (y + r) * s),
                outline=255,
                width=max(2, round(dot * s * 0.6)),
            )

    return _blend(pixels, palette.text, 0.35 * _layer_alpha(size, dots))


# --- photorealistic: bokeh -----------------------------------------------------------------------------


def _bokeh(pixels: Array, size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Array:
    width, height = size
    art = zones(size).art
    short = min(width, height)
    pixels = _glow(pixels, size, palette.glow, art.centre, short * 0.6, 0.35)
    for colour, count, blur in (
        (palette.motif, 16, short / 90),
        (palette.motif2, 9, short / 60),
        (palette.motif, 10, short / 200),
    ):
        circles = [
            (
                rng.normal(art.centre[0], art.width * 0.4) if rng.random() < 0.7 else rng.uniform(0, width),
                rng.normal(art.centre[1], art.height * 0.35),
                rng.uniform(short * 0.02, short * 0.09),
                rng.uniform(0.35, 1.0),
            )
            for _ in range(count)
        ]

        def discs(
            draw: ImageDraw.ImageDraw, s: float, circles: list[tuple[float, float, float, float]] = circles
        ) -> None:
            for x, y, r, level in circles:
                draw.ellipse(((x - r) * s, (y - r) * s, (x + r) * s, (y + r) * s), fill=round(255 * level))

        pixels = _blend(pixels, colour, 0.38 * _layer_alpha(size, discs, blur))
    pixels = pixels * _vignette(size, 0.75)
    grain = rng.normal(0.0, 5.0, size=(height, width, 1)).astype(np.float32)
    return pixels + grain


# --- watercolor: pigment on paper ----------------------------------------------------------------------


def _wash(
    pixels: Array,
    rng: np.random.Generator,
    centre: tuple[float, float],
    radii: tuple[float, float],
    angle: float,
    colour: Colour,
    strength: float,
    short: int,
) -> None:
    """One watercolour wash, in place: a wobbly ellipse of pigment laid subtractively, lighter inside,
    pooled darker at its edge (where a drying wash deposits pigment) and granulated by the paper."""
    height, width = pixels.shape[:2]
    x, y = centre
    reach = max(radii) * 1.5
    left, top = max(0, int(x - reach)), max(0, int(y - reach))
    right, bottom = min(width, int(x + reach) + 1), min(height, int(y + reach) + 1)
    if right - left < 4 or bottom - top < 4:
        return
    box = (right - left, bottom - top)
    broad = _noise(rng, box, max(6.0, max(radii) * 0.7)) - 0.5
    fine = _noise(rng, box, max(3.0, max(radii) / 9)) - 0.5
    grain = _noise(rng, box, max(1.5, short / 400))
    yy = np.arange(top, bottom, dtype=np.float32)[:, None] - y
    xx = np.arange(left, right, dtype=np.float32)[None, :] - x
    cos, sin = math.cos(angle), math.sin(angle)
    u, v = (xx * cos + yy * sin) / radii[0], (-xx * sin + yy * cos) / radii[1]
    distance = np.sqrt(u * u + v * v) + 0.45 * broad + 0.1 * fine
    cover = np.clip((1.0 - distance) / 0.04, 0.0, 1.0)
    pool = np.clip(1.0 - (1.0 - distance) / 0.12, 0.0, 1.0) * cover
    density = (
        strength * cover * (0.55 + 0.25 * distance.clip(0, 1) + 0.35 * (grain - 0.5)) + 0.3 * strength * pool
    )
    tint = np.array(colour, dtype=np.float32) / 255.0
    region = pixels[top:bottom, left:right]
    pixels[top:bottom, left:right] = region * (1 - np.clip(density, 0, 1)[..., None] * (1 - tint))


def _paint(pixels: Array, size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Array:
    width, height = size
    art = zones(size).art
    short = min(width, height)
    fibre = _noise(rng, size, max(2.0, short / 240)) - 0.5
    mottle = _noise(rng, size, short / 6) - 0.5
    pixels = pixels * (1 + 0.04 * mottle[..., None] + 0.05 * fibre[..., None])
    colours = [palette.motif, palette.motif2, palette.accent]
    first = int(rng.integers(0, 3))
    cx, cy = art.centre
    big = min(art.width, art.height)
    for index in range(3):  # overlapping washes in the art zone: glazes of three pigments
        centre = (cx + rng.normal(0, art.width * 0.12), cy + rng.normal(0, art.height * 0.12))
        radii = (big * rng.uniform(0.3, 0.45), big * rng.uniform(0.2, 0.32))
        colour = colours[(first + index) % 3]
        _wash(pixels, rng, centre, radii, float(rng.uniform(-0.6, 0.6)), colour, 0.5, short)
    for _ in range(2):  # pale washes bleeding in from corners away from the text
        corner = (width * float(rng.choice([0.0, 1.0])), height * float(rng.choice([0.0, 1.0])))
        if zones(size).wide and corner[0] == 0.0 and corner[1] == 0.0:
            corner = (width, 0.0)
        radii = (short * rng.uniform(0.25, 0.4), short * rng.uniform(0.15, 0.25))
        _wash(pixels, rng, corner, radii, float(rng.uniform(0, math.pi)), palette.motif, 0.3, short)
    for _ in range(9):  # droplets
        x, y = rng.normal(cx, art.width * 0.35), rng.normal(cy, art.height * 0.35)
        r = short * rng.uniform(0.006, 0.018)
        _wash(
            pixels,
            rng,
            (x, y),
            (r, r * rng.uniform(0.7, 1.0)),
            0.0,
            colours[int(rng.integers(0, 3))],
            0.6,
            short,
        )
    return pixels


# --- anime: sunburst, halftone, sparkles ---------------------------------------------------------------


def _rays(pixels: Array, size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Array:
    width, height = size
    art = zones(size).art
    short = min(width, height)
    cx, cy = art.centre
    y = np.arange(height, dtype=np.float32)[:, None] - cy
    x = np.arange(width, dtype=np.float32)[None, :] - cx
    angle = np.arctan2(y, x) + float(rng.uniform(0, 1))
    rays = (np.floor(angle / (2 * math.pi) * 28) % 2).astype(np.float32)
    reach = np.exp(-np.sqrt(x * x + y * y) / (short * 1.1))
    pixels = _blend(pixels, palette.motif, 0.16 * rays * reach)
    pixels = _glow(pixels, size, palette.glow, (cx, cy), short * 0.28, 0.55)
    cell = max(6.0, short / 48)
    gx = (np.arange(width, dtype=np.float32)[None, :] % cell) - cell / 2
    gy = (np.arange(height, dtype=np.float32)[:, None] % cell) - cell / 2
    ramp = np.clip((np.arange(height, dtype=np.float32)[:, None] / height - 0.55) / 0.45, 0, 1) * np.clip(
        np.arange(width, dtype=np.float32)[None, :] / width * 1.6 - 0.2, 0, 1
    )
    radius = cell * 0.45 * ramp
    halftone = np.clip(radius - np.sqrt(gx * gx + gy * gy) + 0.5, 0, 1)
    pixels = _blend(pixels, palette.shadow, 0.35 * halftone)
    stars = [
        (
            rng.uniform(art.left, art.right),
            rng.uniform(art.top, art.bottom),
            rng.uniform(short * 0.012, short * 0.035),
        )
        for _ in range(9)
    ]

    def sparkle(draw: ImageDraw.ImageDraw, s: float) -> None:
        for sx, sy, r in stars:
            draw.polygon([(x * s, y * s) for x, y in star_points(sx, sy, r, r * 0.22)], fill=255)
        ring = short * 0.2
        draw.ellipse(
            ((cx - ring) * s, (cy - ring) * s, (cx + ring) * s, (cy + ring) * s),
            outline=255,
            width=round(short / 120 * s),
        )

    return _blend(pixels, palette.motif2, 0.9 * _layer_alpha(size, sparkle))


# --- diagram: a technical drawing ----------------------------------------------------------------------


def _arrow(
    draw: ImageDraw.ImageDraw,
    tip: tuple[float, float],
    towards: tuple[float, float],
    length: float,
    fill: int,
) -> None:
    dx, dy = towards[0] - tip[0], towards[1] - tip[1]
    norm = math.hypot(dx, dy) or 1.0
    ux, uy = dx / norm, dy / norm
    base = (tip[0] + ux * length, tip[1] + uy * length)
    half = length * 0.32
    draw.polygon(
        [tip, (base[0] - uy * half, base[1] + ux * half), (base[0] + uy * half, base[1] - ux * half)],
        fill=fill,
    )


def _dimension(
    draw: ImageDraw.ImageDraw,
    a: tuple[float, float],
    b: tuple[float, float],
    s: float,
    line: int,
    head: float,
) -> None:
    draw.line([(a[0] * s, a[1] * s), (b[0] * s, b[1] * s)], fill=255, width=line)
    _arrow(draw, (a[0] * s, a[1] * s), (b[0] * s, b[1] * s), head * s, 255)
    _arrow(draw, (b[0] * s, b[1] * s), (a[0] * s, a[1] * s), head * s, 255)


@dataclass(frozen=True)
class _Drafting:
    """The technical drawing of the diagram background: circles of ``radius`` around (``cx``, ``cy``),
    a radius at ``angle`` (radians), strokes ``line`` wide (at 2x) and arrowheads ``head`` long."""

    cx: float
    cy: float
    radius: float
    angle: float
    line: int
    head: float


def _blueprint(pixels: Array, size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Array:
    """Diagram: a drafting grid, then a dimensioned construction drawing and its labels in the art zone."""
    art = zones(size).art
    short = min(size)
    pixels = _drafting_grid(pixels, size, palette)
    pixels = _glow(pixels, size, palette.glow, art.centre, short * 0.55, 0.12)
    cx, cy = art.centre
    cy -= art.height * 0.05
    drafting = _Drafting(
        cx,
        cy,
        radius=min(art.width, art.height) * 0.3,
        angle=rng.uniform(0.5, 1.0),
        line=max(2, round(short / 360 * 2)),
        head=short / 70,
    )

    def drawing(draw: ImageDraw.ImageDraw, s: float) -> None:
        _construction(draw, s, drafting)
        _dimensions(draw, s, drafting, size)

    pixels = _blend(pixels, palette.motif, 0.75 * _layer_alpha(size, drawing))
    return _drafting_labels(pixels, size, palette, rng, drafting)


def _drafting_grid(pixels: Array, size: tuple[int, int], palette: Palette) -> Array:
    """Graph paper: a minor grid line every ``step`` pixels and a stronger one every fifth."""
    width, height = size
    step = max(8, round(min(size) / 28))
    minor = np.zeros((height, width), dtype=np.float32)
    minor[:, step // 2 :: step] = 1.0
    minor[step // 2 :: step, :] = 1.0
    major = np.zeros((height, width), dtype=np.float32)
    major[:, step // 2 :: step * 5] = 1.0
    major[step // 2 :: step * 5, :] = 1.0
    return _blend(pixels, palette.accent, 0.09 * minor + 0.14 * major)


def _construction(draw: ImageDraw.ImageDraw, s: float, d: _Drafting) -> None:
    """Three circles (the outer one dashed), centre lines, a radius with an arrowhead and its angle arc."""
    cx, cy, radius, line = d.cx, d.cy, d.radius, d.line

    def circle(r: float, dashed: bool = False) -> None:
        if not dashed:
            draw.ellipse(((cx - r) * s, (cy - r) * s, (cx + r) * s, (cy + r) * s), outline=255, width=line)
            return
        for k in range(0, 360, 10):
            draw.arc(((cx - r) * s, (cy - r) * s, (cx + r) * s, (cy + r) * s), k, k + 5, fill=255, width=line)

    circle(radius)
    circle(radius * 0.62)
    circle(radius * 1.28, dashed=True)
    reach = radius * 1.45
    draw.line([((cx - reach) * s, cy * s), ((cx + reach) * s, cy * s)], fill=180, width=max(1, line // 2))
    draw.line([(cx * s, (cy - reach) * s), (cx * s, (cy + reach) * s)], fill=180, width=max(1, line // 2))
    end = (cx + radius * math.cos(-d.angle), cy + radius * math.sin(-d.angle))
    draw.line([(cx * s, cy * s), (end[0] * s, end[1] * s)], fill=255, width=line)
    _arrow(draw, (end[0] * s, end[1] * s), (cx * s, cy * s), d.head * s, 255)
    arc = radius * 0.35
    draw.arc(
        ((cx - arc) * s, (cy - arc) * s, (cx + arc) * s, (cy + arc) * s),
        -math.degrees(d.angle),
        0,
        fill=255,
        width=line,
    )


def _dimensions(draw: ImageDraw.ImageDraw, s: float, d: _Drafting, size: tuple[int, int]) -> None:
    """The diameter's dimension line under the circles with its extension lines, the inner circle's
    dimension beside them, and a ruler of ticks along the art zone's top."""
    cx, cy, radius, line, head = d.cx, d.cy, d.radius, d.line, d.head
    art = zones(size).art
    below = cy + radius * 1.2
    _dimension(draw, (cx - radius, below), (cx + radius, below), s, line, head)
    for x in (cx - radius, cx + radius):
        draw.line(
            [(x * s, (cy + radius * 0.2) * s), (x * s, (below + head) * s)],
            fill=200,
            width=max(1, line // 2),
        )
    side = cx + radius * 1.15
    _dimension(draw, (side, cy - radius * 0.62), (side, cy + radius * 0.62), s, line, head)
    tick = min(size) / 90
    for k in range(0, 21):
        x = art.left + (art.width * 0.9) * k / 20
        length = tick * (2 if k % 5 == 0 else 1)
        draw.line(
            [(x * s, (art.top + tick) * s), (x * s, (art.top + tick + length) * s)],
            fill=220,
            width=max(1, line // 2),
        )


def _drafting_labels(
    pixels: Array, size: tuple[int, int], palette: Palette, rng: np.random.Generator, d: _Drafting
) -> Array:
    """The drawing's figures: a diameter picked by ``rng``, the inner circle's size and the angle."""
    cx, cy, radius = d.cx, d.cy, d.radius
    label = max(10, round(min(size) / 40))
    font = load_font("roboto-regular", label)
    marks = Image.new("L", size, 0)
    draw = ImageDraw.Draw(marks)
    diameter = int(rng.integers(40, 160))
    draw.text((cx, cy + radius * 1.2 - label * 0.9), f"Ø {diameter}", font=font, fill=255, anchor="ms")
    draw.text(
        (cx + radius * 1.15 + label * 0.5, cy), f"{round(diameter * 0.62)}", font=font, fill=255, anchor="lm"
    )
    draw.text(
        (cx + radius * 0.38, cy - label * 0.5),
        f"{round(math.degrees(d.angle))}°",
        font=font,
        fill=255,
        anchor="ls",
    )
    return _blend(pixels, palette.motif2, 0.85 * np.asarray(marks, dtype=np.float32) / 255.0)


# --- cinematic: a graded film frame --------------------------------------------------------------------


def _film(pixels: Array, size: tuple[int, int], palette: Palette, rng: np.random.Generator) -> Array:
    width, height = size
    art = zones(size).art
    short = min(width, height)
    corner = (width * rng.uniform(0.75, 1.0), height * rng.uniform(-0.05, 0.2))
    pixels = _glow(pixels, size, palette.motif, corner, short * 0.75, 0.55)
    pixels = _glow(pixels, size, palette.motif2, (width * 0.05, height * 0.95), short * 0.6, 0.25)
    layout = zones(size)
    if layout.wide:  # the text is centred: the flare goes above it, the horizon below it
        fy, fx = height * rng.uniform(0.16, 0.22), width * rng.uniform(0.55, 0.8)
    else:
        fy, fx = art.centre[1] - art.height * 0.1, art.centre[0]
    columns = np.arange(width, dtype=np.float32)
    ridge: Array = np.full(width, height * (0.8 if layout.wide else 0.72), dtype=np.float32)
    for amp, freq in ((0.05, 0.7), (0.025, 1.9), (0.01, 5.3)):
        phase = float(rng.uniform(0, 2 * math.pi))
        ridge = ridge + height * amp * np.sin(columns / width * 2 * math.pi * freq + phase)
    rows = np.arange(height, dtype=np.float32)[:, None]
    haze = np.exp(-np.clip(ridge[None, :] - rows, 0, None) / (height * 0.08)) * (rows < ridge[None, :])
    pixels = _blend(pixels, palette.motif, 0.22 * haze)
    land = np.clip((rows - ridge[None, :]) / 1.5, 0.0, 1.0)
    pixels = _blend(pixels, (6, 7, 10), 0.92 * land)
    y = (np.arange(height, dtype=np.float32)[:, None] - fy) / max(1.5, short / 300)
    x = (np.arange(width, dtype=np.float32)[None, :] - fx) / (width * 0.35)
    streak = np.exp(-(y * y)) * np.exp(-np.abs(x) * 1.5)
    pixels = _blend(pixels, (170, 210, 255), 0.55 * streak)
    pixels = _glow(pixels, size, (255, 236, 210), (fx, fy), short * 0.03, 0.9)
    pixels = _glow(pixels, size, palette.motif, (fx, fy), short * 0.12, 0.35)
    pixels = pixels * _vignette(size, 0.85)
    grain = rng.normal(0.0, 6.0, size=(height, width, 1)).astype(np.float32)
    return pixels + grain


_TEXTURES: dict[str, Callable[[Array, tuple[int, int], Palette, np.random.Generator], Array]] = {
    "shapes": _shapes,
    "bokeh": _bokeh,
    "paint": _paint,
    "rays": _rays,
    "blueprint": _blueprint,
    "film": _film,
}


def draw_background(size: tuple[int, int], palette: Palette, seed: int) -> Image.Image:
    """The ``palette``'s background at ``size`` (RGB): gradient, texture and motif, dithered."""
    rng = np.random.default_rng(seed)
    pixels = _gradient(size, palette)
    texture = _TEXTURES.get(palette.texture, _shapes)
    pixels = texture(pixels, size, palette, rng)
    width, height = size
    pixels = pixels + rng.normal(0.0, _DITHER_SIGMA, size=(height, width, 1)).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))
