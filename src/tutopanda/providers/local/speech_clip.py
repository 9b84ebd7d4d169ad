"""A synthesised narration clip (PCM plus timings) and its WAV encoding.

Why a shared type: eSpeak NG and Piper both yield 16-bit mono PCM with some timing information (word
starts from eSpeak events, sentence spans from Piper's per-sentence chunks); the narration handler turns
either into the same WAV bytes and compact diagnostics, which captions can use later.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SpeechClip", "WordTiming"]


@dataclass(frozen=True)
class WordTiming:
    """A spoken word and when it starts (seconds from the start of the clip)."""

    text: str
    start: float


@dataclass(frozen=True)
class SpeechClip:
    """16-bit little-endian mono PCM at ``sample_rate``, with what produced it and its timings."""

    engine: str
    voice: str
    sample_rate: int
    pcm: bytes
    words: tuple[WordTiming, ...] = ()
    sentences: tuple[tuple[float, float], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.pcm) / 2 / self.sample_rate

    def to_wav(self) -> bytes:
        """The clip as a canonical 16-bit mono PCM WAV (no metadata chunks: same PCM, same bytes)."""
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(self.sample_rate)
            writer.writeframes(self.pcm)
        return buffer.getvalue()

    def diagnostics(self) -> dict[str, Any]:
        """Engine, voice, duration and timings, compact enough for an artefact event."""
        found: dict[str, Any] = {
            "engine": self.engine,
            "voice": self.voice,
            "durationSeconds": round(self.duration, 3),
            "sampleRate": self.sample_rate,
            **self.extra,
        }
        if self.words:
            found["words"] = [{"text": word.text, "start": round(word.start, 3)} for word in self.words]
        if self.sentences:
            found["sentences"] = [{"start": round(a, 3), "end": round(b, 3)} for a, b in self.sentences]
        return found
