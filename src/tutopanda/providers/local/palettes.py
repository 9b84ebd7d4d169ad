"""The six slide designs, one per ``Style`` input value: colours, typography, texture and layout.

Why a design per style rather than a colour scheme: a style the viewer cannot tell apart from another is
a wasted choice. Each entry says how a style *looks* — the background texture the Illustrator paints
(``texture``), the faces and case of its headline and key points, how bullets and the accent are drawn,
and whether text sits in a panel — so "watercolor" reads as painted paper and "diagram" as a blueprint,
while a later switch to a real image model keeps the same input and the same text overlay. An unknown
style gets the default design: ``Style`` is free text in some blueprints, so refusing it would fail a
movie over a cosmetic choice.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_PALETTE", "PALETTES", "Palette", "palette_for"]

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    """One style's design.

    Background: a gradient (``top`` to ``bottom``, tinted towards ``side`` on the right), a soft
    ``glow``, and the style's ``texture`` (``shapes``, ``bokeh``, ``paint``, ``rays``, ``blueprint``,
    ``film``) with its two motif colours ``motif`` and ``motif2`` (the ``blueprint`` texture draws the
    diagram's grid), and ``letterbox`` cinema bars (fixed, in the overlay's frame layer, so a zoom never
    moves them).

    Text: ``text`` for the headline, ``muted`` for key points, ``accent`` for rules and bullets,
    ``shadow`` behind text (``shadow_style``: ``soft``, ``hard``, ``outline`` or ``none``). Faces name
    entries of :data:`tutopanda.providers.local.fonts.FONTS`. ``uppercase`` and ``tracking`` (extra
    letter spacing, in em) shape the headline; ``bullet`` is ``number``, ``dot``, ``dash``, ``blot``,
    ``star`` or ``tick``; ``panel`` (RGBA) draws a card behind the text; ``align`` is ``left`` or
    ``centre``; ``kicker`` formats the small label over the headline (``{n}`` is the segment number).
    """

    name: str
    top: Colour
    bottom: Colour
    side: Colour
    glow: Colour
    text: Colour
    accent: Colour
    shadow: Colour
    letterbox: bool = False
    texture: str = "shapes"
    motif: Colour = (255, 255, 255)
    motif2: Colour = (255, 255, 255)
    muted: Colour | None = None
    headline_face: str = "roboto-bold"
    body_face: str = "roboto-regular"
    label_face: str = "roboto-medium"
    uppercase: bool = False
    tracking: float = 0.0
    bullet: str = "dot"
    panel: tuple[int, int, int, int] | None = None
    align: str = "left"
    shadow_style: str = "soft"
    kicker: str = "PART {n}"

    @property
    def body(self) -> Colour:
        """The key points' colour."""
        return self.muted or self.text


PALETTES: dict[str, Palette] = {
    "illustration": Palette(
        "illustration", (28, 46, 92), (16, 104, 128), (82, 62, 140), (110, 200, 255),
        (255, 255, 255), (255, 196, 61), (8, 16, 36),
        texture="shapes", motif=(255, 196, 61), motif2=(255, 111, 97), muted=(222, 238, 255),
        headline_face="roboto-black", body_face="roboto-medium", label_face="roboto-bold",
        bullet="number", kicker="PART {n}",
    ),
    "photorealistic": Palette(
        "photorealistic", (24, 24, 28), (58, 52, 48), (48, 40, 34), (230, 190, 140),
        (248, 246, 240), (214, 170, 112), (0, 0, 0),
        texture="bokeh", motif=(255, 206, 150), motif2=(150, 190, 220), muted=(222, 216, 206),
        headline_face="roboto-light", body_face="roboto-regular", label_face="roboto-medium",
        bullet="dash", panel=(10, 10, 12, 150), kicker="{n:02d}",
    ),
    "watercolor": Palette(
        "watercolor", (250, 244, 232), (240, 234, 222), (246, 236, 228), (250, 220, 190),
        (46, 42, 60), (192, 72, 98), (255, 255, 255),
        texture="paint", motif=(96, 150, 200), motif2=(226, 120, 140), muted=(70, 64, 82),
        headline_face="caladea-bold", body_face="caladea-italic", label_face="caladea-italic",
        bullet="blot", shadow_style="none", kicker="No. {n}",
    ),
    "anime": Palette(
        "anime", (255, 96, 160), (96, 58, 210), (255, 160, 80), (255, 236, 140),
        (255, 255, 255), (255, 232, 64), (52, 8, 72),
        texture="rays", motif=(255, 255, 255), motif2=(255, 232, 64), muted=(40, 16, 60),
        headline_face="fredoka-regular", body_face="roboto-bold", label_face="fredoka-regular",
        bullet="star", panel=(255, 255, 255, 235), shadow_style="outline", kicker="EPISODE {n}",
    ),
    "diagram": Palette(
        "diagram", (18, 62, 112), (10, 38, 78), (20, 70, 110), (90, 200, 255),
        (236, 248, 255), (120, 222, 255), (4, 16, 34),
        texture="blueprint", motif=(200, 236, 255), motif2=(255, 214, 102), muted=(190, 224, 248),
        headline_face="roboto-medium", body_face="roboto-light", label_face="roboto-regular",
        bullet="tick", shadow_style="none", tracking=0.01, kicker="FIG. {n}",
    ),
    "cinematic": Palette(
        "cinematic", (8, 10, 14), (30, 22, 18), (10, 36, 44), (255, 150, 70),
        (250, 240, 224), (255, 150, 60), (0, 0, 0), letterbox=True,
        texture="film", motif=(255, 150, 70), motif2=(60, 160, 180), muted=(214, 204, 190),
        headline_face="roboto-thin", body_face="roboto-light", label_face="roboto-regular",
        uppercase=True, tracking=0.12, bullet="dash", align="centre", kicker="CHAPTER {n}",
    ),
}  # fmt: skip
"""The bundled blueprints' ``Style`` values."""

DEFAULT_PALETTE = Palette(
    "default", (44, 62, 80), (28, 40, 54), (40, 90, 96), (80, 220, 160),
    (250, 252, 255), (46, 204, 113), (0, 0, 0),
    texture="shapes", motif=(46, 204, 113), motif2=(80, 220, 160), muted=(220, 232, 240),
    headline_face="roboto-bold", body_face="roboto-regular", bullet="dot",
)  # fmt: skip
"""Used for any other style."""


def palette_for(style: str | None) -> Palette:
    """The design of ``style`` (case and surrounding spaces ignored), else :data:`DEFAULT_PALETTE`."""
    return PALETTES.get((style or "").strip().lower(), DEFAULT_PALETTE)
