"""Musical moods: which words choose them, and the key, chords and tempo each one plays.

Why shared: the local music-prompt writer describes the mood it found in the summary and musical style,
and the local synth reads the mood back out of that prompt (or any prompt a user writes), so both must
use the same vocabulary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["DEFAULT_MOOD", "MOODS", "Mood", "detect_mood"]


@dataclass(frozen=True)
class Mood:
    """A mood's vocabulary and arrangement.

    ``root`` is the MIDI note of the key's bass root; ``chords`` are ``(semitones above the root,
    major?)`` pairs played in a loop, ``chord_seconds`` each; ``tempo`` (beats a minute) paces the
    plucked arpeggio; ``tremolo`` is the pad's slow swell rate in Hz.
    """

    name: str
    keywords: tuple[str, ...]
    description: str
    root: int
    key_name: str
    chords: tuple[tuple[int, bool], ...]
    chord_seconds: float
    tempo: float
    tremolo: float
    pluck_level: float


MOODS: dict[str, Mood] = {
    "calm": Mood(
        "calm",
        ("calm", "gentle", "soft", "peace", "relax", "seren", "quiet", "ambient", "sooth", "tranquil",
         "slow", "warm", "documentary", "underscore", "lullaby", "meditat"),
        "calm, warm and unhurried",
        53, "F major", ((0, True), (9, False), (5, True), (7, True)), 8.0, 60.0, 0.06, 0.10,
    ),
    "tense": Mood(
        "tense",
        ("tense", "tension", "dark", "suspens", "ominous", "danger", "thrill", "myster", "urgent",
         "rumbl", "storm", "threat", "eerie", "war", "disaster", "erupt", "fear", "intense"),
        "tense, dark and suspenseful",
        50, "D minor", ((0, False), (8, True), (5, False), (7, True)), 6.0, 84.0, 0.5, 0.14,
    ),
    "uplifting": Mood(
        "uplifting",
        ("uplift", "happy", "bright", "hope", "inspir", "joy", "cheer", "energ", "playful", "optimis",
         "triumph", "adventur", "fun", "celebrat", "upbeat", "sunny", "wonder", "curious"),
        "uplifting, bright and hopeful",
        55, "G major", ((0, True), (7, True), (9, False), (5, True)), 4.0, 104.0, 0.12, 0.16,
    ),
    "reflective": Mood(
        "reflective",
        ("reflect", "thought", "wistful", "melanchol", "nostalg", "sad", "pensive", "cinematic",
         "orchestral", "epic", "history", "memor", "serious", "solemn"),
        "reflective and cinematic",
        57, "A minor", ((0, False), (8, True), (3, True), (10, True)), 7.5, 72.0, 0.08, 0.12,
    ),
}  # fmt: skip
"""The moods the local synth plays."""

DEFAULT_MOOD = "calm"
"""The mood when no keyword matches: background music under narration should not distract."""

_WORD = re.compile(r"[a-z]+")


def detect_mood(text: str, default: str = DEFAULT_MOOD) -> str:
    """The mood whose keywords (word prefixes) occur most often in ``text``; ``default`` on no match
    (pass ``default=""`` to tell "no match" apart). Ties go to the mood listed first in :data:`MOODS`.
    """
    words = _WORD.findall(text.lower())
    best, best_score = default, 0
    for name, mood in MOODS.items():
        score = sum(1 for word in words if word.startswith(mood.keywords))
        if score > best_score:
            best, best_score = name, score
    return best
