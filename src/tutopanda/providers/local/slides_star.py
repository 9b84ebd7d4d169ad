"""The four-pointed star both the anime slide background (its sparkles) and the text overlay (the
``star`` bullet) draw, so the two keep one shape.

Internal to the slides and the overlay: no ``__all__``, so it stays out of the package's surface.
"""

from __future__ import annotations


def star_points(cx: float, cy: float, radius: float, thin: float) -> list[tuple[float, float]]:
    """The polygon of a four-pointed star centred at (``cx``, ``cy``): tips ``radius`` away on the axes,
    waists ``thin`` away on each axis between them."""
    return [
        (cx + dx, cy + dy)
        for dx, dy in (
            (0, -radius),
            (thin, -thin),
            (radius, 0),
            (thin, thin),
            (0, radius),
            (-thin, thin),
            (-radius, 0),
            (-thin, -thin),
        )
    ]
