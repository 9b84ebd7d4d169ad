"""Loudness for the exporter: BS.1770 gating over ffmpeg's momentary blocks, and the gain envelopes.

Why measure in Python over ffmpeg's numbers: ``ebur128=metadata=1`` on 100 ms frames gives the momentary
loudness of every 400 ms block with 75 % overlap, which are exactly the blocks EBU R128 / ITU-R BS.1770
gates. From that one series we get the gated loudness of *any* span — the whole mix, each segment's
narration, the music bed — in one decode, instead of one ffmpeg run per span. The gating here matches
ffmpeg's ``ebur128`` summary (-19.92 LUFS on a movie where ffmpeg prints -19.9).

Why envelopes instead of a sidechain compressor: the timeline knows where the narration is, so the music
can be ducked by a gain curve drawn from those spans. A compressor follows the voice's level word by
word (the music "breathes" between words and the dip depends on how loud the voice is); the envelope is
flat under a whole narration window, rises only in pauses at least ``min_pause`` long (between segments,
the lead-in, the tail) and moves along raised-cosine ramps, so it is smooth and the dip is exact. The
curves are written as tiny 1 kHz WAVs, resampled to 48 kHz by ffmpeg and applied with ``amultiply``: a
pointwise product, so the result does not depend on how ffmpeg chunks audio (byte-stable output).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "BLOCK_SECONDS",
    "ENVELOPE_RATE",
    "MEASURE_FRAME",
    "Span",
    "block_gains",
    "duck_curve",
    "gated_loudness",
    "merge_spans",
    "mixed_momentary",
    "read_momentary",
    "step_curve",
    "write_envelope",
]

BLOCK_SECONDS = 0.1
"""Step between momentary blocks (each 400 ms long, so consecutive blocks overlap by 75 %)."""

MEASURE_FRAME = "asetnsamples=n=4800:p=0"
"""100 ms frames at 48 kHz: ``ebur128=metadata=1`` then tags each frame with the block ending with it."""

ENVELOPE_RATE = 1000
"""Sample rate of the gain curves (ramps last hundreds of ms; ffmpeg resamples them to 48 kHz)."""

_ABSOLUTE_GATE = -70.0
_RELATIVE_GATE = -10.0
_OFFSET = -0.691


@dataclass(frozen=True)
class Span:
    """A time span in seconds, ``start`` inclusive, ``end`` exclusive."""

    start: float
    end: float


def read_momentary(path: Path, key: str = "lavfi.r128.M") -> list[float]:
    """The ``key`` values ``ametadata=mode=print`` wrote (one per 100 ms frame), in order."""
    values: list[float] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition("=")
        if name.strip() == key:
            number = float(value)
            values.append(number if math.isfinite(number) else -120.0)
    return values


def gated_loudness(momentary: Sequence[float], span: Span | None = None) -> float | None:
    """BS.1770 gated loudness (LUFS) of the blocks lying wholly inside ``span`` (all when None).

    Block ``k`` (tagged on the frame starting at ``k * 0.1`` s) covers ``[(k - 3) * 0.1, (k + 1) * 0.1)``;
    the first three are partial and skipped. None when no block passes the -70 LUFS absolute gate.
    """
    chosen: list[float] = []
    for k, value in enumerate(momentary):
        if k < 3:
            continue
        begin, end = (k - 3) * BLOCK_SECONDS, (k + 1) * BLOCK_SECONDS
        if span is not None and (begin < span.start - 1e-6 or end > span.end + 1e-6):
            continue
        if value > _ABSOLUTE_GATE:
            chosen.append(value)
    if not chosen:
        return None
    powers = np.power(10.0, (np.asarray(chosen) - _OFFSET) / 10.0)
    relative = _OFFSET + 10.0 * math.log10(float(powers.mean())) + _RELATIVE_GATE
    kept = powers[np.asarray(chosen) > relative]
    return _OFFSET + 10.0 * math.log10(float(kept.mean()))


def block_gains(curve: np.ndarray, blocks: int) -> np.ndarray:
    """Mean power gain (``curve``**2 averaged) over each of the first ``blocks`` momentary blocks."""
    squared = np.concatenate(([0.0], np.cumsum(curve.astype(np.float64) ** 2)))
    per_block = round(0.4 * ENVELOPE_RATE)
    step = round(BLOCK_SECONDS * ENVELOPE_RATE)
    ends = np.clip((np.arange(blocks) + 1) * step, 0, len(curve))
    begins = np.clip(ends - per_block, 0, len(curve))
    widths = np.maximum(ends - begins, 1)
    result: np.ndarray = (squared[ends] - squared[begins]) / widths
    return result


def mixed_momentary(parts: Sequence[tuple[Sequence[float], np.ndarray]]) -> list[float]:
    """Momentary loudness of a sum of uncorrelated signals, each ``(its momentary series, power gains)``.

    Loudness is a power measure and K-weighting is linear, so the mix's block power is the sum of the
    parts' block powers times their gains (the cross terms of a voice and a music bed average out).
    """
    blocks = min(len(series) for series, _ in parts)
    total = np.zeros(blocks)
    for series, gains in parts:
        powers = np.power(10.0, (np.asarray(series[:blocks], dtype=np.float64) - _OFFSET) / 10.0)
        total += powers * gains[:blocks]
    with np.errstate(divide="ignore"):
        values = _OFFSET + 10.0 * np.log10(total)
    return [float(v) if math.isfinite(v) else -120.0 for v in values]


def _raised_cosine(x: np.ndarray) -> np.ndarray:
    """0 at x <= 0, 1 at x >= 1, an S-curve between (no corners, so no clicks)."""
    clipped = np.clip(x, 0.0, 1.0)
    result: np.ndarray = 0.5 - 0.5 * np.cos(np.pi * clipped)
    return result


def _grid(duration: float) -> np.ndarray:
    # Half a second past the end, so the resampled curve never ends before the audio it multiplies.
    return np.arange(round((duration + 0.5) * ENVELOPE_RATE)) / ENVELOPE_RATE


def merge_spans(spans: Sequence[Span], min_pause: float) -> list[Span]:
    """``spans`` sorted, with gaps shorter than ``min_pause`` filled (the music does not rise in them)."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        if span.end <= span.start:
            continue
        if merged and span.start - merged[-1].end < min_pause:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged


def duck_curve(
    duration: float,
    speech: Sequence[Span],
    *,
    duck_db: float,
    min_pause: float,
    fall: float,
    rise: float,
    guard: float = 0.05,
) -> np.ndarray:
    """Gain (linear) of the music over the movie: 1 in pauses, ``duck_db`` under speech.

    The dip (in dB, so the ramp sounds even) is complete ``guard`` seconds before each merged speech
    span, starting ``fall`` seconds earlier, and lifts ``guard`` seconds after it over ``rise`` seconds.
    """
    t = _grid(duration)
    depth = np.zeros_like(t)
    for span in merge_spans(speech, min_pause):
        before = _raised_cosine((t - (span.start - guard - fall)) / max(fall, 1e-3))
        after = 1.0 - _raised_cosine((t - (span.end + guard)) / max(rise, 1e-3))
        depth = np.maximum(depth, np.minimum(before, after))
    curve: np.ndarray = np.power(10.0, duck_db * depth / 20.0)
    return curve


def step_curve(duration: float, boundaries: Sequence[float], gains_db: Sequence[float]) -> np.ndarray:
    """Gain (linear) that is ``gains_db[i]`` from ``boundaries[i]`` on (boundaries ascending, first 0).

    Each change is a 20 ms S-curve centred on its boundary; the exporter puts boundaries between
    segments, where the clips are silent, so the change is never heard.
    """
    t = _grid(duration)
    level = np.full_like(t, gains_db[0] if gains_db else 0.0)
    for boundary, previous, gain in zip(boundaries[1:], gains_db, gains_db[1:], strict=False):
        level += (gain - previous) * _raised_cosine((t - boundary + 0.01) / 0.02)
    curve: np.ndarray = np.power(10.0, level / 20.0)
    return curve


def write_envelope(path: Path, curve: np.ndarray) -> None:
    """``curve`` as raw stereo 32-bit float samples at :data:`ENVELOPE_RATE` (both channels alike).

    Raw (``-f f32le``) rather than WAV: the standard library writes integer WAVs only.
    """
    path.write_bytes(np.repeat(curve.astype("<f4")[:, None], 2, axis=1).tobytes())
