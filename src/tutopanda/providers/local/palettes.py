"""Colour schemes for slides and title cards, one per ``Style`` input value.

Why palettes instead of "real" styles: local slides cannot paint a watercolour, but a distinct colour
scheme per style keeps the choice visible and consistent across a movie (and a later switch to a real
image model keeps the same input). An unknown style gets the default palette: ``Style`` is free text in
some blueprints, so refusing it would fail a movie over a cosmetic choice.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_PALETTE", "PALETTES", "Palette", "palette_for"]

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    """A background gradient (top to bottom, tinted towards ``side`` on the right), a soft glow, and
    the text, accent and shadow colours. ``grid`` draws blueprint lines; ``letterbox`` cinema bars."""

    name: str
    top: Colour
    bottom: Colour
    side: Colour
    glow: Colour
    text: Colour
    accent: Colour
    shadow: Colour
    grid: bool = False
    letterbox: bool = False


PALETTES: dict[str, Palette] = {
    "illustration": Palette(
        "illustration", (36, 59, 110), (18, 118, 138), (92, 72, 150), (110, 200, 255),
        (255, 255, 255), (255, 196, 61), (10, 20, 40),
    ),
    "photorealistic": Palette(
        "photorealistic", (30, 31, 34), (74, 80, 88), (52, 46, 40), (200, 190, 170),
        (246, 244, 238), (205, 164, 110), (0, 0, 0),
    ),
    "watercolor": Palette(
        "watercolor", (248, 238, 222), (212, 228, 238), (238, 214, 226), (250, 196, 160),
        (52, 46, 64), (196, 84, 110), (255, 255, 255),
    ),
    "anime": Palette(
        "anime", (255, 112, 170), (92, 62, 204), (255, 170, 90), (255, 236, 140),
        (255, 255, 255), (255, 238, 88), (60, 10, 80),
    ),
    "diagram": Palette(
        "diagram", (16, 56, 102), (10, 36, 72), (20, 70, 110), (90, 200, 255),
        (236, 248, 255), (120, 222, 255), (4, 16, 34), grid=True,
    ),
    "cinematic": Palette(
        "cinematic", (10, 12, 18), (46, 30, 20), (12, 44, 52), (255, 150, 70),
        (250, 240, 224), (255, 150, 60), (0, 0, 0), letterbox=True,
    ),
}  # fmt: skip
"""The bundled blueprints' ``Style`` values."""

DEFAULT_PALETTE = Palette(
    "default", (44, 62, 80), (28, 40, 54), (40, 90, 96), (80, 220, 160),
    (250, 252, 255), (46, 204, 113), (0, 0, 0),
)  # fmt: skip
"""Used for any other style."""


def palette_for(style: str | None) -> Palette:
    """The palette of ``style`` (case and surrounding spaces ignored), else :data:`DEFAULT_PALETTE`."""
    return PALETTES.get((style or "").strip().lower(), DEFAULT_PALETTE)
