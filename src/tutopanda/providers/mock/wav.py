"""Deterministic WAV tones, and reading a WAV's duration from its header.

Mock narration and music must be real audio (so exporters and players accept them) yet cost nothing
to make. A tone is one precomputed period repeated, so an hour of audio is a byte multiplication, not
millions of ``struct`` calls. The input digest goes into a ``LIST/INFO/ICMT`` chunk placed *after* the
samples: different inputs always give different bytes, and readers that stop at ``data`` (or skip
unknown chunks, as :mod:`wave` does) are unaffected.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from dataclasses import dataclass

__all__ = ["HEADER_BYTES", "WavInfo", "read_wav_info", "write_tone_wav"]


@dataclass(frozen=True)
class WavInfo:
    """A WAV's format and length."""

    channels: int
    sample_width: int
    sample_rate: int
    frames: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    pad = b"\0" if len(payload) % 2 else b""
    return kind + struct.pack("<I", len(payload)) + payload + pad


def write_tone_wav(
    duration: float, *, period: int, amplitude: float, sample_rate: int = 8000, comment: str = ""
) -> bytes:
    """16-bit mono PCM of a sine tone: ``period`` samples per cycle, ``amplitude`` in (0, 1].

    ``duration`` is rounded to whole samples (at least one).
    """
    if period < 2:
        raise ValueError("a tone period needs at least 2 samples")
    if not 0 < amplitude <= 1:
        raise ValueError("amplitude must be in (0, 1]")
    frames = max(1, round(duration * sample_rate))
    peak = int(32767 * amplitude)
    cycle = struct.pack(
        f"<{period}h", *(round(peak * math.sin(2 * math.pi * i / period)) for i in range(period))
    )
    repeats, rest = divmod(frames, period)
    samples = cycle * repeats + cycle[: rest * 2]
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate * 2, 2, 16)
    body = b"WAVE" + _riff_chunk(b"fmt ", fmt) + _riff_chunk(b"data", samples)
    if comment:
        info = b"INFO" + _riff_chunk(b"ICMT", comment.encode("ascii") + b"\0")
        body += _riff_chunk(b"LIST", info)
    return b"RIFF" + struct.pack("<I", len(body)) + body


HEADER_BYTES = 64 * 1024
"""Enough of a WAV's start to hold every chunk header before its samples (ours: under 200 bytes)."""


def read_wav_info(data: bytes, *, total_size: int | None = None) -> WavInfo:
    """Format and length of a PCM WAV held in memory; :class:`ValueError` when it is not one.

    With ``total_size`` (the whole file's size), ``data`` may be just its first :data:`HEADER_BYTES`:
    a timeline of 1,000 narrations needs their lengths, not their samples.
    """
    size = len(data) if total_size is None else total_size
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV: missing RIFF/WAVE header")
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size + 8 != size:
        raise ValueError(f"WAV RIFF size {riff_size + 8} does not match its {size} bytes")
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            return WavInfo(
                channels=reader.getnchannels(),
                sample_width=reader.getsampwidth(),
                sample_rate=reader.getframerate(),
                frames=reader.getnframes(),
            )
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a readable WAV: {exc}") from exc
