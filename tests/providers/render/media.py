"""Test-side media helpers: real inputs (PNG stills, speech-like WAVs) and checks on real outputs."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import wave
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tutopanda.core.engine.provider_contract import ArtefactInput, JobContext, ProducedArtefact
from tutopanda.providers.render.ffmpeg import MediaInfo, ffmpeg_exe, probe
from tutopanda.testing import make_artefact_input, sample_job_context

RATE = 22050


def wav_bytes(seconds: float, pitch: float = 220.0, amplitude: float = 0.3) -> bytes:
    """Speech-like audio: a harmonic tone gated at 4 Hz (syllables), 22050 Hz mono 16-bit."""
    t = np.arange(round(seconds * RATE)) / RATE
    tone = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in (1, 2, 3))
    gate = (np.sin(2 * np.pi * 4 * t) > -0.3).astype(float)
    return _wav(tone * gate * amplitude / 1.9)


def _wav(signal: np.ndarray) -> bytes:
    samples = (np.clip(signal, -1, 1) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(samples.tobytes())
    return buffer.getvalue()


def narration(segment: int, seconds: float, pitch: float = 220.0, amplitude: float = 0.3) -> ArtefactInput:
    return make_artefact_input(
        f"Artifact:Narration.SegmentAudio[{segment}]",
        "audio",
        wav_bytes(seconds, pitch, amplitude),
        "audio/wav",
    )


def music(seconds: float) -> ArtefactInput:
    return make_artefact_input("Artifact:Music.Music", "audio", wav_bytes(seconds, 110.0), "audio/wav")


def tone(seconds: float, frequency: float = 3000.0, amplitude: float = 0.5) -> ArtefactInput:
    """A steady sine as the music bed: far above the test voice's harmonics, so it can be filtered out."""
    t = np.arange(round(seconds * RATE)) / RATE
    data = _wav(amplitude * np.sin(2 * np.pi * frequency * t))
    return make_artefact_input("Artifact:Music.Music", "audio", data, "audio/wav")


def still(segment: int, index: int, size: tuple[int, int] = (320, 180)) -> ArtefactInput:
    """A gradient with a disc, different per (segment, index)."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    red = (xs * 255 // width).astype(np.uint8)
    green = np.full_like(red, (segment * 70 + index * 30) % 256)
    blue = (ys * 255 // height).astype(np.uint8)
    disc = (xs - width / 2) ** 2 + (ys - height / 2) ** 2 < (height / 4) ** 2
    pixels = np.stack([np.where(disc, 250, red), green, blue], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return make_artefact_input(
        f"Artifact:Images.SegmentImage[{segment}][{index}]", "image", buffer.getvalue(), "image/png"
    )


def clip_context(segment: int, seconds: float, stills: int = 1, **inputs: Any) -> JobContext:
    base = sample_job_context(
        "clip", provider="tutopanda", model="segment-renderer", mode="live",
        config={"fps": 30, "leadIn": 0.4, "tail": 0.8, "crossfade": 0.6},
        loop_indices={"segment": segment},
    )  # fmt: skip
    values: dict[str, Any] = {
        "Narration": narration(segment, seconds, 180.0 + 40 * segment),
        "Images": [[still(segment, i) for i in range(stills)]],
        "Text": "A short segment. It has two sentences.",
        "Resolution": "180p",
        "AspectRatio": "16:9",
        **inputs,
    }
    values = {key: value for key, value in values.items() if value is not None}
    produces = ((f"Artifact:Clips.SegmentClip[{segment}]", "video"),)
    return dataclasses.replace(
        base, inputs=values, produces=produces, job_id=f"Producer:Clips.SegmentRenderer[{segment}]"
    )


def payload(artefact: ProducedArtefact) -> bytes:
    return b"".join(artefact.payload_chunks())


def info_of(data: bytes, tmp: Path, name: str = "probe.mp4") -> MediaInfo:
    path = tmp / name
    path.write_bytes(data)
    return probe(path)


def frame_count(path: Path) -> int:
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path), "-map", "0:v", "-c", "copy", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(result.stderr.rsplit("frame=", 1)[1].split()[0])


def audio_rms(path: Path, start: float = 0.0, seconds: float | None = None) -> float:
    """RMS of the decoded audio (mono float, 16 kHz) over a window."""
    command = [ffmpeg_exe(), "-v", "error", "-ss", str(start), "-i", str(path)]
    if seconds is not None:
        command += ["-t", str(seconds)]
    command += ["-map", "0:a", "-ac", "1", "-ar", "16000", "-f", "f32le", "-"]
    raw = subprocess.run(command, capture_output=True, check=True).stdout
    samples = np.frombuffer(raw, dtype="<f4")
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


def band_rms(path: Path, start: float, seconds: float, frequency: float = 3000.0) -> float:
    """RMS of the audio in a narrow band around ``frequency`` (three cascaded band-passes) over a window."""
    band = ",".join([f"bandpass=f={frequency}:width_type=q:w=8"] * 3)
    command = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a", "-af", band]
    command += ["-ac", "1", "-ar", "48000", "-f", "f32le", "-"]
    raw = subprocess.run(command, capture_output=True, check=True).stdout
    samples = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    window = samples[round(start * 48000) : round((start + seconds) * 48000)]
    return float(np.sqrt(np.mean(window**2)))


def loudness(path: Path, start: float | None = None, seconds: float | None = None) -> dict[str, float]:
    """``ebur128=peak=true`` summary of a file (or a window of it): I (LUFS), LRA (LU), TP (dBTP)."""
    command = [ffmpeg_exe(), "-hide_banner", "-nostats"]
    if start is not None:
        command += ["-ss", str(start)]
    if seconds is not None:
        command += ["-t", str(seconds)]
    command += ["-i", str(path), "-map", "0:a", "-filter:a", "ebur128=peak=true", "-f", "null", "-"]
    stderr = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    summary = stderr[stderr.rindex("Summary:") :]

    def figure(key: str) -> float:
        return float(summary.split(key, 1)[1].split()[0])

    return {"I": figure("I:"), "LRA": figure("LRA:"), "TP": figure("Peak:")}
