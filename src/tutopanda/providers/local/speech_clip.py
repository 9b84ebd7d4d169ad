"""A synthesised narration clip (PCM plus word timings) and its WAV encoding with a ``tpwt`` chunk.

Why a shared type: eSpeak NG and Piper both yield 16-bit mono PCM with word timings (eSpeak from its
word events, Piper from its per-phoneme durations); the narration handler turns either into the same
WAV bytes and compact diagnostics.

Why the timings travel *inside* the WAV: captions (the timeline composer) and key-point reveals (the
clip renderer) need them, and both already receive the narration audio. A custom RIFF chunk ``tpwt``
(compact JSON ``{"v":1,"w":[[token,startMs,endMs],...]}``) after the ``data`` chunk adds no blueprint
artefact and no wiring; RIFF readers (Python's ``wave``, ffmpeg) skip chunks they do not know. The
chunk is a pure function of the PCM's timings, so the same speech still gives the same bytes.

Word tokens are the whitespace-separated tokens of the narrated text, punctuation included
(``"Earth's"``, ``"crust."``), so a caption cut at word times reads exactly like the script.
"""

from __future__ import annotations

import io
import json
import re
import struct
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "TIMINGS_CHUNK",
    "SpeechClip",
    "WordTiming",
    "read_word_timings",
    "text_tokens",
    "with_word_timings",
]

TIMINGS_CHUNK = b"tpwt"
"""RIFF chunk id holding the word timings (Tutopanda word timings)."""

_MAX_WAV_SCAN = 512 * 1024 * 1024
_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class WordTiming:
    """A spoken word (a whitespace token of the text) and when it is heard, in seconds from clip start."""

    text: str
    start: float
    end: float | None = None

    @property
    def stop(self) -> float:
        """``end``, or ``start`` when the engine gave no end."""
        return self.start if self.end is None else self.end


def text_tokens(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, token)`` character spans of the whitespace-separated tokens of ``text``."""
    return [(match.start(), match.end(), match.group()) for match in _TOKEN.finditer(text)]


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
        """The clip as 16-bit mono PCM WAV, with a ``tpwt`` chunk when it has word timings."""
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(self.sample_rate)
            writer.writeframes(self.pcm)
        return with_word_timings(buffer.getvalue(), self.words)

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
            found["words"] = [
                {"text": word.text, "start": round(word.start, 3), "end": round(word.stop, 3)}
                for word in self.words
            ]
        if self.sentences:
            found["sentences"] = [{"start": round(a, 3), "end": round(b, 3)} for a, b in self.sentences]
        return found


def _chunk_payload(words: Sequence[WordTiming]) -> bytes:
    rows = [[word.text, round(word.start * 1000), round(word.stop * 1000)] for word in words]
    return json.dumps({"v": 1, "w": rows}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def with_word_timings(wav: bytes, words: Sequence[WordTiming]) -> bytes:
    """``wav`` with a ``tpwt`` chunk appended (and the RIFF size fixed); unchanged when ``words`` is empty.

    Raises ValueError when ``wav`` is not a RIFF/WAVE file.
    """
    if not words:
        return wav
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    payload = _chunk_payload(words)
    body = wav[: 8 + struct.unpack("<I", wav[4:8])[0]]
    if len(body) % 2:
        body += b"\0"
    chunk = TIMINGS_CHUNK + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")
    out = body + chunk
    return out[:4] + struct.pack("<I", len(out) - 8) + out[8:]


def _parse_payload(payload: bytes) -> tuple[WordTiming, ...] | None:
    try:
        document = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(document, dict) or document.get("v") != 1 or not isinstance(document.get("w"), list):
        return None
    words: list[WordTiming] = []
    for row in document["w"]:
        if not (isinstance(row, list) and len(row) == 3 and isinstance(row[0], str)):
            return None
        start, end = row[1], row[2]
        if not all(isinstance(value, int) and not isinstance(value, bool) for value in (start, end)):
            return None
        words.append(WordTiming(row[0], start / 1000, max(start, end) / 1000))
    return tuple(words)


def read_word_timings(wav: bytes | str | Path) -> tuple[WordTiming, ...] | None:
    """The word timings stored in a narration WAV (bytes or a file path), or None when it has none.

    Tolerant by design: a WAV from another engine (live providers, the mock), a truncated file or a
    damaged chunk gives None, never an error, so callers fall back to spreading text evenly.
    """
    if isinstance(wav, str | Path):
        try:
            with Path(wav).open("rb") as stream:
                data = stream.read(_MAX_WAV_SCAN)
        except OSError:
            return None
    else:
        data = wav
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    position = 12
    while position + 8 <= len(data):
        chunk_id = data[position : position + 4]
        size = struct.unpack("<I", data[position + 4 : position + 8])[0]
        start = position + 8
        if chunk_id == TIMINGS_CHUNK:
            return _parse_payload(data[start : start + size]) if start + size <= len(data) else None
        position = start + size + (size % 2)
    return None
