"""The movie's pixel size from its ``Resolution`` and ``AspectRatio`` inputs.

Why one function: slides, the clip renderer and the exporter must agree on the frame size to the pixel,
or ffmpeg rescales (blurring text) or pads. The resolution names the *short* side (720p 16:9 is 1280x720,
720p 9:16 is 720x1280) and every side is even, as H.264 with yuv420p requires.
"""

from __future__ import annotations

import re

__all__ = ["ASPECT_RATIOS", "frame_size"]

ASPECT_RATIOS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1), "4:3": (4, 3), "3:4": (3, 4)}
"""Width:height per ``AspectRatio`` value."""

_ANY_RESOLUTION = re.compile(r"^(\d{2,4})p$")


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def frame_size(
    resolution: object = "720p", aspect_ratio: object = "16:9", *, strict: bool = False
) -> tuple[int, int]:
    """``(width, height)``: 720p 16:9 is 1280x720, 1080p 16:9 is 1920x1080, 720p 9:16 is 720x1280.

    Any ``NNNp`` from 90p to 4320p is accepted (tests render 180p, 320x180). Unknown values raise
    :class:`ValueError` when ``strict`` (the renderer: a wrong size must not reach ffmpeg); otherwise they
    fall back to 720p and 16:9, the modules' defaults (a slide is never worth failing a movie).
    """
    resolution = "720p" if resolution is None else resolution  # an input left out takes the default
    aspect_ratio = "16:9" if aspect_ratio is None else aspect_ratio
    match = _ANY_RESOLUTION.match(resolution if isinstance(resolution, str) else "")
    valid_resolution = match is not None and 90 <= int(match.group(1)) <= 4320
    aspect = ASPECT_RATIOS.get(aspect_ratio if isinstance(aspect_ratio, str) else "")
    if strict and not valid_resolution:
        raise ValueError(f"unknown Resolution {resolution!r}: use 480p, 720p or 1080p")
    if strict and aspect is None:
        raise ValueError(f"unknown AspectRatio {aspect_ratio!r}: use one of {', '.join(ASPECT_RATIOS)}")
    short = int(match.group(1)) // 2 * 2 if match and valid_resolution else 720
    across, down = aspect or (16, 9)
    if across >= down:
        return _even(short * across / down), short
    return short, _even(short * down / across)
