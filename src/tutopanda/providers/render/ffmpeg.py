"""Running the ffmpeg binary: locating it, progress, failures as ProviderErrors, probing without ffprobe.

Why our own wrapper: imageio-ffmpeg ships ffmpeg but no ffprobe, and ``ffmpeg -i`` exits 1 by design,
so probing means parsing its stderr. Every render goes through :func:`run_ffmpeg`, which runs in a work
directory with bare file names (filter arguments break on ``:`` and ``\\`` in paths), reports
``-progress`` as a fraction, and turns a non-zero exit into a :class:`ProviderError` carrying the last
lines of stderr. We pass ffmpeg no secrets, so its stderr holds none.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tutopanda.core.errors import ProviderConfigError, ProviderError

__all__ = [
    "FFMPEG_ENV",
    "MediaInfo",
    "ProgressCallback",
    "StreamInfo",
    "ffmpeg_exe",
    "parse_media_info",
    "probe",
    "run_ffmpeg",
]

FFMPEG_ENV = "IMAGEIO_FFMPEG_EXE"
"""Environment variable naming an ffmpeg binary to use instead of the bundled one."""

ProgressCallback = Callable[[float], None]
"""Called with the fraction done, in [0, 1]."""

_TAIL_LINES = 12
_NOISE = ("Fontconfig", "Error opening memory font", "Last message repeated")


def ffmpeg_exe() -> str:
    """The ffmpeg binary: ``$IMAGEIO_FFMPEG_EXE`` when set, else the one bundled with imageio-ffmpeg."""
    override = os.environ.get(FFMPEG_ENV)
    if override:
        if not Path(override).is_file():
            raise ProviderConfigError(
                f"{FFMPEG_ENV} points to {override!r}, which is not a file",
                hint=f"unset {FFMPEG_ENV} to use the ffmpeg bundled with imageio-ffmpeg",
            )
        return override
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ProviderConfigError(
            "the ffmpeg binary is missing (imageio-ffmpeg is not installed)",
            hint="pip install imageio-ffmpeg, or set IMAGEIO_FFMPEG_EXE to an ffmpeg binary",
        ) from exc
    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


@dataclass(frozen=True)
class StreamInfo:
    """One stream line of ``ffmpeg -i``: its type (video, audio, subtitle, data) and codec."""

    index: int
    type: str
    codec: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    sample_rate: int | None = None
    language: str | None = None


@dataclass(frozen=True)
class MediaInfo:
    """What ``ffmpeg -i`` says about a file: container duration (centisecond precision) and streams."""

    duration: float | None
    streams: tuple[StreamInfo, ...]

    def of_type(self, kind: str) -> tuple[StreamInfo, ...]:
        """The streams of one type (``video``, ``audio``, ``subtitle``)."""
        return tuple(stream for stream in self.streams if stream.type == kind)


_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #\d+:(\d+)(?:\[0x[0-9a-f]+\])?(?:\((\w+)\))?: (\w+): (\w+)(.*)")
_SIZE = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")
_FPS = re.compile(r"([\d.]+) fps")
_RATE = re.compile(r"(\d+) Hz")


def parse_media_info(stderr: str) -> MediaInfo:
    """Parse the banner ``ffmpeg -hide_banner -i FILE`` prints for the first input."""
    duration = None
    if match := _DURATION.search(stderr):
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    streams: list[StreamInfo] = []
    for line in stderr.splitlines():
        if "Output #" in line:
            break
        if not (match := _STREAM.search(line)):
            continue
        index, language, kind, codec, rest = match.groups()
        size = _SIZE.search(rest) if kind == "Video" else None
        fps = _FPS.search(rest) if kind == "Video" else None
        rate = _RATE.search(rest) if kind == "Audio" else None
        streams.append(
            StreamInfo(
                index=int(index),
                type=kind.lower(),
                codec=codec,
                width=int(size.group(1)) if size else None,
                height=int(size.group(2)) if size else None,
                fps=float(fps.group(1)) if fps else None,
                sample_rate=int(rate.group(1)) if rate else None,
                language=language if language and language != "und" else None,
            )
        )
    return MediaInfo(duration=duration, streams=tuple(streams))


def probe(path: Path) -> MediaInfo:
    """Duration and streams of a media file, from ``ffmpeg -i`` (which exits 1: that is expected)."""
    completed = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", path.name],
        cwd=path.parent,
        capture_output=True,
        check=False,
    )
    stderr = completed.stderr.decode("utf-8", "replace")
    info = parse_media_info(stderr)
    if not info.streams:
        raise ProviderError(
            f"ffmpeg cannot read {path.name}: {_tail(stderr, 3) or 'no streams found'}",
            hint="the upstream artefact is not a media file ffmpeg understands",
            retryable=False,
        )
    return info


def _tail(text: str, lines: int = _TAIL_LINES) -> str:
    kept = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(_NOISE)]
    return " | ".join(kept[-lines:])


def _parse_progress(line: str) -> float | None:
    """Seconds of output written, from a ``-progress`` line (``out_time_us`` is microseconds)."""
    key, _, value = line.partition("=")
    if key in ("out_time_us", "out_time_ms") and value.strip().lstrip("-").isdigit():
        return max(0, int(value)) / 1_000_000
    return None


def run_ffmpeg(
    args: Sequence[str],
    *,
    cwd: Path,
    expected_seconds: float | None = None,
    on_progress: ProgressCallback | None = None,
    what: str = "ffmpeg",
) -> None:
    """Run ``ffmpeg -y -hide_banner -nostdin -progress pipe:1 <args>`` in ``cwd``.

    ``on_progress`` receives the fraction of ``expected_seconds`` written so far (and 1.0 at the end).
    A non-zero exit raises :class:`ProviderError` (not retryable: the same command fails again) whose
    message ends with the last meaningful stderr lines.
    """
    command = [ffmpeg_exe(), "-y", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"]
    command += ["-progress", "pipe:1", *args]
    stderr_lines: deque[str] = deque(maxlen=200)
    try:
        process = subprocess.Popen(
            command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
    except OSError as exc:
        raise ProviderConfigError(
            f"cannot start ffmpeg: {exc.strerror or exc}", hint=f"check {FFMPEG_ENV} or imageio-ffmpeg"
        ) from exc
    with process:
        assert process.stdout is not None and process.stderr is not None
        stderr = process.stderr

        def drain() -> None:
            for raw in stderr:
                stderr_lines.append(raw.decode("utf-8", "replace").rstrip())

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        last = -1.0
        for raw in process.stdout:
            seconds = _parse_progress(raw.decode("ascii", "replace").strip())
            if seconds is None or on_progress is None or not expected_seconds:
                continue
            fraction = min(1.0, seconds / expected_seconds)
            if fraction - last >= 0.01:
                last = fraction
                on_progress(fraction)
        code = process.wait()
        reader.join()
    if code != 0:
        detail = _tail("\n".join(stderr_lines)) or f"exit status {code}"
        raise ProviderError(
            f"{what} failed (ffmpeg exit {code}): {detail}",
            hint="the ffmpeg command and its inputs are in the job's work directory while it runs",
            retryable=False,
        )
    if on_progress is not None:
        on_progress(1.0)
