"""Where things go on a frame: the safe area, the text zone, the art zone and the caption band.

Why one module: the Illustrator paints its motif where the text will *not* be, and the SegmentRenderer
draws the text overlay where the motif is not, at every aspect ratio. If each decided alone, the motif
would sit under the headline. Both ask these functions, which depend only on the frame size.

The rules: nothing of the overlay passes the **safe area** (:data:`SAFE_MARGIN` of the width on the
left and right, of the height on the top and bottom). The bottom :data:`CAPTION_BAND` of the height is
left for captions (burned-in or a player's). Wide frames (ratio >= 1.5: 16:9) put the text in a column on
the left and the art on the right; other frames (4:3, 1:1, 3:4, 9:16) stack the text above the art,
which may reach into the caption band (captions come and go; the headline must never sit on the motif).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CAPTION_BAND", "SAFE_MARGIN", "Box", "Zones", "safe_box", "zones"]

SAFE_MARGIN = 0.05
"""The share of the width (left, right) and height (top, bottom) no overlay pixel may enter."""

CAPTION_BAND = 0.19
"""The share of the height, at the bottom, left free for captions."""

_WIDE = 1.5


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels: ``left <= x < right``, ``top <= y < bottom``."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        """``right - left``."""
        return self.right - self.left

    @property
    def height(self) -> int:
        """``bottom - top``."""
        return self.bottom - self.top

    @property
    def centre(self) -> tuple[float, float]:
        """The middle point."""
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2


@dataclass(frozen=True)
class Zones:
    """The layout of one frame size: ``wide`` (text beside the art) or stacked (text over the art)."""

    safe: Box
    text: Box
    art: Box
    wide: bool


def safe_box(size: tuple[int, int]) -> Box:
    """The safe area of a ``(width, height)`` frame: inside it by :data:`SAFE_MARGIN` on every side."""
    width, height = size
    dx, dy = -(-width * SAFE_MARGIN // 1), -(-height * SAFE_MARGIN // 1)  # ceil: never less than 5 %
    return Box(int(dx), int(dy), width - int(dx), height - int(dy))


def zones(size: tuple[int, int]) -> Zones:
    """The safe area, the text zone (inside it, above the caption band) and the art zone."""
    width, height = size
    safe = safe_box(size)
    inset_x = round(width * 0.02)
    text_bottom = min(safe.bottom, round(height * (1 - CAPTION_BAND)))
    if width / height >= _WIDE:
        text = Box(safe.left + inset_x, safe.top + round(height * 0.04), round(width * 0.6), text_bottom)
        art = Box(round(width * 0.6), safe.top, safe.right, safe.bottom)
        return Zones(safe, text, art, True)
    art_top = round(height * (0.5 if height > width * 1.2 else 0.58))
    text = Box(safe.left + inset_x, safe.top + round(height * 0.03), safe.right - inset_x, art_top)
    art = Box(safe.left, art_top, safe.right, round(height * 0.9))
    return Zones(safe, text, art, False)
