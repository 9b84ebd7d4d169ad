"""A background music bed synthesised with numpy: chords, a plucked arpeggio, tremolo, reverb, fades.

Why synthesis: a narrated explainer needs a quiet, pleasant bed under the voice, not a composition; a
few wavetable oscillators do that offline in well under a second per minute of audio. The mood (see
:mod:`.moods`) picks key, chords and tempo; a seed (from the job's input digest) picks the small
variations (transposition, arpeggio pattern, accents), so the same inputs give the same bytes and a
different movie gets a slightly different bed.

Signal chain: per chord, four detuned wavetable notes (1, .35, .12, .05 harmonics) with slow vibrato,
crossfaded sin²/cos² into the next chord; a plucked arpeggio on the beat with exponential decay; a slow
tremolo; low-passed noise "air"; four delay taps with swapped channels as a cheap room; 2 s fades;
peak normalised to -1 dBFS; 44.1 kHz stereo 16-bit.
"""

from __future__ import annotations

import io
import math
import wave
from dataclasses import dataclass
from typing import Any

import numpy as np

from tutopanda.providers.local.moods import MOODS, Mood

__all__ = ["MUSIC_SAMPLE_RATE", "MusicBed", "synthesise_music"]

MUSIC_SAMPLE_RATE = 44100
_TABLE_SIZE = 4096
_PAD_HARMONICS = (1.0, 0.35, 0.12, 0.05)
_PLUCK_HARMONICS = (1.0, 0.5, 0.28, 0.16, 0.08)
_CROSSFADE = 2.0
_PEAK = 10 ** (-1 / 20)

Signal = np.ndarray[Any, np.dtype[np.float32]]


def _table(harmonics: tuple[float, ...]) -> Signal:
    phase = np.arange(_TABLE_SIZE, dtype=np.float64) * (2 * math.pi / _TABLE_SIZE)
    wave_ = sum(amplitude * np.sin(k * phase) for k, amplitude in enumerate(harmonics, start=1))
    return np.asarray(wave_ / np.max(np.abs(wave_)), dtype=np.float32)


_PAD_TABLE = _table(_PAD_HARMONICS)
_PLUCK_TABLE = _table(_PLUCK_HARMONICS)


def _frequency(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _warped_time(t: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Times bent by a 0.17 Hz, ±0.1% vibrato; shared by every note (a note's cycles are f x this)."""
    rate, depth = 0.17, 0.001
    return t + depth / (2 * math.pi * rate) * (1 - np.cos(2 * math.pi * rate * t))


def _oscillator(table: Signal, frequency: float, warped: np.ndarray[Any, np.dtype[np.float64]]) -> Signal:
    """A wavetable note at ``frequency`` over (vibrato-warped) times: one multiply and one lookup."""
    index = (warped * (frequency * _TABLE_SIZE)).astype(np.int64) & (_TABLE_SIZE - 1)
    note: Signal = table[index]
    return note


def _chord_notes(mood: Mood, offset: int, major: bool, transpose: int) -> list[tuple[float, float]]:
    """(MIDI note, gain) of one chord's voicing: bass root, then the triad an octave up."""
    root = mood.root + transpose + offset
    third = 4 if major else 3
    return [(root - 12, 0.42), (root, 0.30), (root + third, 0.26), (root + 7, 0.24)]


@dataclass(frozen=True)
class MusicBed:
    """The synthesised bed: 16-bit stereo WAV bytes and what was played."""

    wav: bytes
    mood: str
    key: str
    tempo: float
    duration: float
    transpose: int


def _pad(mood: Mood, frames: int, rng: np.random.Generator, transpose: int) -> tuple[Signal, Signal]:
    sr = MUSIC_SAMPLE_RATE
    left = np.zeros(frames, dtype=np.float32)
    right = np.zeros(frames, dtype=np.float32)
    span = mood.chord_seconds
    fade = min(_CROSSFADE, span / 2)
    count = math.ceil(frames / sr / span) + 1
    for index in range(count):
        start_s = index * span - fade / 2
        first, last = max(0, round(start_s * sr)), min(frames, round((start_s + span + fade) * sr))
        if first >= last:
            continue
        t = np.arange(first, last, dtype=np.float64) / sr
        local = t - start_s
        envelope = np.ones(len(t), dtype=np.float64)
        rise, fall = local < fade, local > span
        envelope[rise] = np.sin(0.5 * math.pi * local[rise] / fade) ** 2
        envelope[fall] = np.cos(0.5 * math.pi * (local[fall] - span) / fade) ** 2
        offset, major = mood.chords[index % len(mood.chords)]
        warped = _warped_time(t)
        chord_l = np.zeros(len(t), dtype=np.float32)
        chord_r = np.zeros(len(t), dtype=np.float32)
        for note, gain in _chord_notes(mood, offset, major, transpose):
            frequency = _frequency(note)
            level = gain * float(rng.uniform(0.9, 1.1))
            chord_l += level * _oscillator(_PAD_TABLE, frequency - 0.12, warped)
            chord_r += level * _oscillator(_PAD_TABLE, frequency + 0.12, warped)
        env = envelope.astype(np.float32)
        left[first:last] += chord_l * env
        right[first:last] += chord_r * env
    return left, right


def _plucks(mood: Mood, frames: int, rng: np.random.Generator, transpose: int) -> tuple[Signal, Signal]:
    sr = MUSIC_SAMPLE_RATE
    left = np.zeros(frames, dtype=np.float32)
    right = np.zeros(frames, dtype=np.float32)
    beat = 60.0 / mood.tempo
    length = min(round(1.4 * sr), frames)
    t = _warped_time(np.arange(length, dtype=np.float64) / sr)
    envelope = (np.minimum(t / 0.006, 1.0) * np.exp(-t / 0.35)).astype(np.float32)
    pattern = rng.permutation(4)
    for step in range(math.ceil(frames / sr / beat)):
        start = round(step * beat * sr)
        chord = mood.chords[int(step * beat // mood.chord_seconds) % len(mood.chords)]
        notes = _chord_notes(mood, chord[0], chord[1], transpose)[1:]
        note = notes[int(pattern[step % 4]) % len(notes)][0] + 12
        accent = mood.pluck_level * (1.0 if step % 4 == 0 else float(rng.uniform(0.55, 0.8)))
        end = min(frames, start + length)
        tone = (
            _oscillator(_PLUCK_TABLE, _frequency(note), t[: end - start]) * envelope[: end - start] * accent
        )
        pan = 0.5 + 0.25 * math.sin(step * 1.3)
        left[start:end] += tone * (1 - pan) * 2
        right[start:end] += tone * pan * 2
    return left, right


def _air(frames: int, rng: np.random.Generator) -> Signal:
    """Low-passed noise: white noise at 1/8 of the rate, held, then smoothed by a 16-sample box."""
    held = np.repeat(rng.normal(0.0, 1.0, frames // 8 + 3).astype(np.float32), 8)
    summed = np.cumsum(held, dtype=np.float32)
    smooth = (summed[16:] - summed[:-16]) / 16
    return np.asarray(smooth[:frames] * 0.012, dtype=np.float32)


def _room(left: Signal, right: Signal) -> tuple[Signal, Signal]:
    """Four delay taps, odd ones swapping channels, for a sense of space."""
    wet_l, wet_r = left.copy(), right.copy()
    for index, (delay, gain) in enumerate(((0.061, 0.32), (0.097, 0.26), (0.139, 0.2), (0.211, 0.14))):
        shift = round(delay * MUSIC_SAMPLE_RATE)
        if shift >= len(left):
            continue
        source_l, source_r = (right, left) if index % 2 else (left, right)
        wet_l[shift:] += gain * source_l[:-shift]
        wet_r[shift:] += gain * source_r[:-shift]
    return wet_l, wet_r


def synthesise_music(duration: float, mood_name: str, seed: int) -> MusicBed:
    """``duration`` seconds of the ``mood_name`` bed (a key of :data:`MOODS`), varied by ``seed``."""
    mood = MOODS[mood_name]
    sr = MUSIC_SAMPLE_RATE
    frames = max(1, round(duration * sr))
    rng = np.random.default_rng(seed)
    transpose = int(rng.integers(-2, 3))
    pad_l, pad_r = _pad(mood, frames, rng, transpose)
    pluck_l, pluck_r = _plucks(mood, frames, rng, transpose)
    t = np.arange(frames, dtype=np.float32) / sr
    tremolo = (1.0 - 0.18 * (0.5 + 0.5 * np.sin(2 * math.pi * mood.tremolo * t))).astype(np.float32)
    air = _air(frames, rng)
    left, right = _room(pad_l * tremolo + pluck_l + air, pad_r * tremolo + pluck_r + air[::-1])
    fade = min(2.0, duration / 4)
    edge = min(frames, round(fade * sr))
    if edge > 0:
        ramp = (np.sin(0.5 * math.pi * np.arange(edge, dtype=np.float32) / edge) ** 2).astype(np.float32)
        for channel in (left, right):
            channel[:edge] *= ramp
            channel[frames - edge :] *= ramp[::-1]
    stereo = np.stack([left, right], axis=1)
    stereo -= stereo.mean(axis=0)
    peak = float(np.max(np.abs(stereo))) or 1.0
    samples = np.rint(stereo * (_PEAK * 32767 / peak)).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(sr)
        writer.writeframes(samples.tobytes())
    key = _key_name(mood, transpose)
    return MusicBed(buffer.getvalue(), mood.name, key, mood.tempo, frames / sr, transpose)


_NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _key_name(mood: Mood, transpose: int) -> str:
    quality = mood.key_name.split()[-1]
    return f"{_NOTE_NAMES[(mood.root + transpose) % 12]} {quality}"
