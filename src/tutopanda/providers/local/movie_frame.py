"""The movie's pixel size from its ``Resolution`` and ``AspectRatio`` inputs.

Why one function: slides, the clip renderer and the exporter must agree on the frame size to the pixel,
or ffmpeg rescales (blurring text) or pads. The resolution names the *short* side (720p 16:9 is 1280x720,
720p 9:16 is 720x1280) and every side is even, as H.264 with yuv420p requires.
"""

from __future__ import annotations

import re

__all__ = ["ASPECT_RATIOS", "RESOLUTIONS", "frame_size"]

RESOLUTIONS = {"480p": 480, "720p": 720, "1080p": 1080}
"""Short side in pixels of the ``Resolution`` values the bundled blueprints offer."""

ASPECT_RATIOS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1), "4:3": (4, 3), "3:4": (3, 4)}
"""Width:height per ``AspectRatio`` value."""

_ANY_RESOLUTION = re.compile(r"^(\d{2,4})p$")


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def frame_size(resolution: str | None = "720p", aspect_ratio: str | None = "16:9") -> tuple[int, int]:
    """``(width, height)``. Any ``NNNp`` from 90p to 4320p is accepted (tests draw small frames); other
    values fall back to 720p and 16:9, the modules' defaults (a slide is never worth failing a movie)."""
    match = _ANY_RESOLUTION.match(resolution or "")
    short = int(match.group(1)) // 2 * 2 if match and 90 <= int(match.group(1)) <= 4320 else 720
    across, down = ASPECT_RATIOS.get(aspect_ratio or "", (16, 9))
    if across >= down:
        return _even(short * across / down), short
    return short, _even(short * down / across)
