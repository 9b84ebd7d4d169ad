"""The render handlers' config (the ``config:`` of the clip, timeline and export variants) and frame sizes.

Why validated models: a typo in a blueprint's config must fail before ffmpeg runs, with the key named,
as a :class:`ProviderConfigError` (exit 2, never retried). Keys are camelCase like the blueprints';
unknown keys are ignored so engine-level keys (``mock`` knobs, future options) do not break renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from tutopanda.core.errors import ProviderConfigError
from tutopanda.core.movie.frame import frame_size as movie_frame_size
from tutopanda.core.store.json_file import validation_summary

__all__ = [
    "ClipSettings",
    "EncodeSettings",
    "ExportSettings",
    "TimelineSettings",
    "frame_size",
    "parse_settings",
]


class _Settings(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")


class EncodeSettings(_Settings):
    """x264/AAC parameters. Every clip of a movie must share them, or the exporter's stream copy breaks."""

    fps: int = Field(default=30, ge=1, le=120)
    crf: int = Field(default=23, ge=0, le=51)
    preset: str = Field(default="veryfast", pattern=r"^(ultrafast|superfast|veryfast|faster|fast|medium)$")
    threads: int = Field(default=2, ge=1, le=16)
    """Fixed (not ``auto``): x264's output depends on its thread count, and blobs must be byte-stable."""
    audio_bitrate: str = Field(default="160k", pattern=r"^\d{2,3}k$")


class ClipSettings(EncodeSettings):
    """``segment-renderer`` config: padding around the narration, crossfades, fades from black."""

    lead_in: float = Field(default=0.4, ge=0, le=10, allow_inf_nan=False)
    tail: float = Field(default=0.8, ge=0, le=10, allow_inf_nan=False)
    crossfade: float = Field(default=0.6, ge=0, le=5, allow_inf_nan=False)
    fade: float = Field(default=0.25, ge=0, le=2, allow_inf_nan=False)
    """Fade from and to black at the clip's edges, so hard joins between clips look intentional."""
    upscale: int = Field(default=2, ge=1, le=4)
    """Stills are upscaled this much before zoompan (which crops on whole pixels): x2 hides the shimmer."""
    overlay: bool = True
    """Draw the fixed text overlay (headline, key points) from ``Text``; off leaves the pictures alone."""
    reveal: float = Field(default=0.35, ge=0, le=3, allow_inf_nan=False)
    """Each key point fades in over this many seconds when the narration reaches it (0: all at once)."""
    title_seconds: float = Field(default=3.0, ge=0, le=20, allow_inf_nan=False)
    """How long the movie's title card (``MovieTitle``) shows at the start of the first segment."""


class TimelineSettings(_Settings):
    """``ordered-timeline`` config: the padding the clips were rendered with, and the music plan."""

    lead_in: float = Field(default=0.4, ge=0, le=10, allow_inf_nan=False)
    tail: float = Field(default=0.8, ge=0, le=10, allow_inf_nan=False)
    music_volume: float = Field(default=0.35, ge=0, le=4, allow_inf_nan=False)
    ducking_db: float = Field(default=-12, ge=-60, le=0, allow_inf_nan=False)
    caption_max_chars: int = Field(default=60, ge=10, le=200)


class ExportSettings(_Settings):
    """``mp4-exporter`` config: audio bitrate and loudness, music ducking, subtitle language and style."""

    audio_bitrate: str = Field(default="160k", pattern=r"^\d{2,3}k$")
    aac_coder: str = Field(default="fast", pattern=r"^(fast|twoloop)$")
    """ffmpeg's AAC coder for the final mix: ``fast`` encodes 60 s in ~2 s less than ``twoloop`` here."""
    subtitle_language: str = Field(default="eng", pattern=r"^[a-z]{3}$")
    """ISO 639-2 code written on the soft subtitle track."""
    subtitle_font_size: int = Field(default=22, ge=8, le=72)
    """libass size relative to a 288-line picture (22 is about 55 px at 720p)."""
    subtitle_style: str = Field(default="plain", pattern=r"^(plain|karaoke)$")
    """How burned-in subtitles look: ``plain``, or ``karaoke`` (each word turns gold as it is spoken,
    when the narration carried word times)."""
    crf: int = Field(default=23, ge=0, le=51)
    preset: str = Field(default="veryfast", pattern=r"^(ultrafast|superfast|veryfast|faster|fast|medium)$")
    threads: int = Field(default=2, ge=1, le=16)
    loudness: float = Field(default=-16.0, ge=-31, le=-10, allow_inf_nan=False)
    """Integrated loudness of the final mix (LUFS, EBU R128): -16 is what online video plays at."""
    true_peak: float = Field(default=-1.5, ge=-9, le=-0.5, allow_inf_nan=False)
    """Highest true peak (dBTP) after AAC encoding; the limiter works 4x oversampled, a little lower."""
    level_segments: bool = True
    """Bring every segment's narration to the same loudness (a quiet and a loud take sound alike)."""
    music_under_voice: float = Field(default=-14.0, ge=-40, le=-6, allow_inf_nan=False)
    """Loudness of the ducked music bed relative to the voice while it speaks (LU)."""
    music_min_pause: float = Field(default=1.0, ge=0, le=10, allow_inf_nan=False)
    """The music rises only in silences at least this long (s); shorter ones stay ducked."""
    music_fall: float = Field(default=0.35, ge=0.05, le=3, allow_inf_nan=False)
    """Seconds the music takes to dip before speech (done 50 ms before the first word)."""
    music_rise: float = Field(default=0.7, ge=0.05, le=5, allow_inf_nan=False)
    """Seconds the music takes to come back up after speech."""


_S = TypeVar("_S", bound=_Settings)


def parse_settings(model: type[_S], config: Mapping[str, Any], where: str) -> _S:
    """``config`` as ``model``, or a :class:`ProviderConfigError` naming the bad keys."""
    try:
        return model.model_validate(dict(config))
    except ValidationError as exc:
        raise ProviderConfigError(
            f"invalid {where} config: {validation_summary(exc)}",
            hint="fix the variant's config in the blueprint module",
        ) from exc


def frame_size(resolution: object, aspect_ratio: object) -> tuple[int, int]:
    """The movie's frame size (:func:`tutopanda.core.movie.frame.frame_size`); bad values: config errors."""
    try:
        return movie_frame_size(resolution, aspect_ratio, strict=True)
    except ValueError as exc:
        raise ProviderConfigError(str(exc), hint="fix the movie's Resolution or AspectRatio input") from exc
