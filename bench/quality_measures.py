"""The measurements behind ``bench/quality.py``: word error rate, loudness and a frame safe-margin proxy.

Why these and why this way: issue 14 asks whether an offline movie is *worth watching*, which tests
cannot answer with a yes/no. These figures turn "can you understand the voice", "is it as loud as online
video" and "is any text cut off" into numbers that can be compared before and after a change:

* WER uses pocketsphinx (offline, already in the dev venv) on the finished movie's audio — what a viewer
  hears, music included — against the script the movie was made from. pocketsphinx is a weak recogniser
  (a clean human voice still scores 15-30 %), so the figure is for *comparisons* (voice A vs voice B, old
  vs new), never an absolute grade. The edit distance is written here (word level, unit costs).
* Loudness is ffmpeg's EBU R128 meter (``ebur128=peak=true``): integrated LUFS, loudness range and true
  peak, the three numbers a streaming platform's normaliser looks at.
* The frame proxy looks at real frames for sharp, high-contrast edges (text, its shadow, the accent bar)
  in the outer 5 % band. It is weaker than rendering masks (a textured background can trip it, dark text
  on a dark band can hide), so ``quality.py`` prefers the overlay masks when the tree has them.
"""

from __future__ import annotations

import re
import subprocess
import unicodedata
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Loudness",
    "MarginProxy",
    "Script",
    "Transcriber",
    "decode_audio",
    "ffmpeg_exe",
    "frame_margin_proxy",
    "measure_loudness",
    "normalise_words",
    "parse_script",
    "split_at_pauses",
    "word_errors",
]

SAMPLE_RATE = 16000
"""pocketsphinx's bundled en-us model expects 16 kHz mono 16-bit."""


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped in ``imageio-ffmpeg`` (the one the project renders with)."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


# --- the script -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Script:
    """A ``--script`` Markdown file: ``# Title``, a summary paragraph, one ``## Heading`` per segment."""

    title: str
    summary: str
    headings: list[str]
    bodies: list[str]

    @property
    def narration(self) -> str:
        """Everything the narrator is asked to read, in order (the segment bodies)."""
        return " ".join(self.bodies)


def parse_script(text: str) -> Script:
    """Split a script into title, summary and (heading, body) sections; paragraphs are joined."""
    title = ""
    summary: list[str] = []
    headings: list[str] = []
    bodies: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("## "):
            headings.append(stripped[3:].strip())
            bodies.append([])
        elif stripped.startswith("# ") and not title:
            title = stripped[2:].strip()
        elif stripped:
            (bodies[-1] if bodies else summary).append(stripped)
    return Script(title, " ".join(summary), headings, [" ".join(body) for body in bodies])


# --- word error rate --------------------------------------------------------------------------------


def normalise_words(text: str) -> list[str]:
    """Lower case, accents folded, hyphens and slashes as spaces, punctuation dropped (inner ' kept)."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(char for char in folded if not unicodedata.combining(char)).lower()
    folded = re.sub(r"[-/\u2010-\u2015]", " ", folded)
    words = []
    for raw in folded.split():
        word = re.sub(r"[^a-z0-9']", "", raw).strip("'")
        if word:
            words.append(word)
    return words


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Substitutions + deletions + insertions turning ``reference`` into ``hypothesis`` (Levenshtein)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, start=1):
        current = [i]
        for j, hyp_word in enumerate(hypothesis, start=1):
            current.append(
                min(
                    previous[j] + 1,  # deletion
                    current[j - 1] + 1,  # insertion
                    previous[j - 1] + (ref_word != hyp_word),  # substitution or match
                )
            )
        previous = current
    return previous[-1]


class Transcriber:
    """pocketsphinx's bundled en-us model; one decoder reused (loading takes about a second)."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self._decoder: Any = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")

    def utterance(self, pcm: bytes) -> list[str]:
        """Words heard in 16 kHz mono s16le ``pcm``, decoded as one utterance."""
        self._decoder.start_utt()
        self._decoder.process_raw(pcm, full_utt=True)
        self._decoder.end_utt()
        hypothesis = self._decoder.hyp()
        return normalise_words(hypothesis.hypstr) if hypothesis is not None else []

    def __call__(self, pcm: bytes) -> list[str]:
        """Words heard in a whole movie's audio: decoded in pieces cut at its quietest moments.

        Why: pocketsphinx decodes one long utterance much worse than sentences (measured here on a 56 s
        movie: 53 % WER in one piece, 36 % cut per segment, 37 % cut like this). Cutting at the
        lowest-energy 50 ms between 6 and 12 s after the previous cut lands in the pauses between
        sentences (music keeps playing, the voice stops) and needs nothing from the build record, so old
        and new trees are cut alike. Other cut lengths moved the same movie's WER by up to 9 points: read
        differences below ~5 points as noise.
        """
        return [word for piece in split_at_pauses(pcm) for word in self.utterance(piece)]


def split_at_pauses(pcm: bytes, shortest: float = 6.0, longest: float = 12.0) -> list[bytes]:
    """Cut s16le mono ``pcm`` into pieces of ``shortest``..``longest`` seconds at energy minima."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    window = SAMPLE_RATE // 20
    count = len(samples) // window
    if count == 0:
        return [pcm]
    energy = (samples[: count * window].reshape(count, window) ** 2).mean(axis=1)
    per_second = SAMPLE_RATE / window
    cuts = [0]
    while count - cuts[-1] > longest * per_second:
        low, high = cuts[-1] + int(shortest * per_second), cuts[-1] + int(longest * per_second)
        cuts.append(low + int(np.argmin(energy[low:high])))
    cuts.append(len(samples) // window + 1)
    return [pcm[start * window * 2 : end * window * 2] for start, end in pairwise(cuts)]


def decode_audio(path: Path) -> bytes:
    """The file's audio as 16 kHz mono s16le PCM (ffmpeg resamples and downmixes)."""
    done = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE),
         "-f", "s16le", "-"],
        capture_output=True, check=True, timeout=300,
    )  # fmt: skip
    return done.stdout


# --- loudness ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loudness:
    """EBU R128 summary of a file's audio."""

    integrated_lufs: float
    range_lu: float
    true_peak_dbtp: float


def _summary_value(summary: str, label: str) -> float:
    match = re.search(rf"^\s*{label}:\s*(-?[\d.]+|-?inf)\s", summary, re.MULTILINE)
    if match is None:
        raise ValueError(f"ebur128 summary has no {label!r} line:\n{summary}")
    return float(match.group(1))


def measure_loudness(path: Path) -> Loudness:
    """Integrated loudness, loudness range and true peak from ffmpeg's ``ebur128=peak=true``."""
    done = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path), "-vn",
         "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    summary = done.stderr[done.stderr.rfind("Summary:") :]
    return Loudness(
        integrated_lufs=_summary_value(summary, "I"),
        range_lu=_summary_value(summary, "LRA"),
        true_peak_dbtp=_summary_value(summary, "Peak"),
    )


# --- frame safe-margin proxy ------------------------------------------------------------------------


@dataclass(frozen=True)
class MarginProxy:
    """How many sampled frames have text-like edges in the outer band, and the worst frame's count."""

    frames: int
    touching: int
    worst_pixels: int

    @property
    def touching_percent(self) -> float:
        return 100.0 * self.touching / self.frames if self.frames else 0.0


EDGE_STEP = 90
"""Luma step (0-255) between neighbouring pixels counted as a text-like edge: glyph outlines, the drop
shadow and the accent bar give 100-200; gradients, dither, glows and faint grid lines stay well below."""

TOUCH_PIXELS = 12
"""A frame touches the band when at least this many edge pixels lie in it (a few codec speckles do not)."""


def _video_size(path: Path) -> tuple[int, int]:
    done = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True, check=False
    )
    match = re.search(r"Video: .*?(\d{2,5})x(\d{2,5})", done.stderr)
    if match is None:
        raise ValueError(f"no video stream in {path}")
    return int(match.group(1)), int(match.group(2))


def band_mask(width: int, height: int, fraction: float = 0.05) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """True on the outer band: ``fraction`` of the width left and right, of the height top and bottom."""
    band_x, band_y = round(width * fraction), round(height * fraction)
    mask = np.ones((height, width), dtype=bool)
    mask[band_y : height - band_y, band_x : width - band_x] = False
    return mask


def frame_margin_proxy(path: Path, fps: float = 2.0, fraction: float = 0.05) -> MarginProxy:
    """Sample frames at ``fps`` and count sharp luma edges inside the outer ``fraction`` band."""
    width, height = _video_size(path)
    band = band_mask(width, height, fraction)
    process = subprocess.Popen(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-an", "-vf", f"fps={fps}", "-pix_fmt", "gray",
         "-f", "rawvideo", "-"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    frame_bytes = width * height
    frames = touching = worst = 0
    try:
        while True:
            data = process.stdout.read(frame_bytes)
            if len(data) < frame_bytes:
                break
            luma = np.frombuffer(data, dtype=np.uint8).reshape(height, width).astype(np.int16)
            edges = np.zeros((height, width), dtype=bool)
            across = np.abs(np.diff(luma, axis=1)) >= EDGE_STEP
            down = np.abs(np.diff(luma, axis=0)) >= EDGE_STEP
            edges[:, 1:] |= across
            edges[:, :-1] |= across
            edges[1:, :] |= down
            edges[:-1, :] |= down
            count = int(np.count_nonzero(edges & band))
            frames += 1
            touching += count >= TOUCH_PIXELS
            worst = max(worst, count)
    finally:
        process.stdout.close()
        process.wait(timeout=60)
    return MarginProxy(frames, touching, worst)
