"""The timeline document (a pydantic model) and the mock timeline composer that fills it.

Why a model here: the mock timeline must be *valid*, not just JSON, so the exporter and the tests have
something to check against; a later issue moves the real composer into core and can adopt this shape.
The document is ``{id, movieTitle, duration, tracks: [{id, kind, clips: [{id, artefactId, start,
duration}]}]}``; times are seconds rounded to milliseconds; clips of a track are in time order and do
not overlap; every clip ends within the document's duration.

The composer lays segments end to end. Narration drives the length: a segment lasts as long as its
narration clips (read from their WAV headers). Images or videos of a segment share its span evenly;
music spans the whole movie. Artefact inputs are classified by their *kind and shape*, not by alias:
grouped (fan-in) audio is narration, a single audio artefact is music, grouped images/videos are
visuals. ``MovieTitle`` (text) and ``Duration`` (seconds, used when no narration is wired or a clip is
not a readable WAV) are read by alias.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from tutopanda.core.provider_contract import ArtefactInput
from tutopanda.providers.mock.wav import read_wav_info

__all__ = [
    "DEFAULT_SEGMENT_SECONDS",
    "TimelineClip",
    "TimelineComposition",
    "TimelineDocument",
    "TimelineTrack",
    "compose_timeline",
]

DEFAULT_SEGMENT_SECONDS = 5.0
"""Segment length when neither narration nor a Duration input says otherwise."""

_EPSILON = 1e-6

TrackKind = Literal["visual", "narration", "music", "captions"]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


class TimelineClip(_Model):
    """One artefact placed on a track: ``start`` and ``duration`` in seconds."""

    id: str = Field(min_length=1)
    artefact_id: str = Field(min_length=1)
    start: float = Field(ge=0, allow_inf_nan=False)
    duration: float = Field(gt=0, allow_inf_nan=False)

    @property
    def end(self) -> float:
        """When the clip stops."""
        return self.start + self.duration


class TimelineTrack(_Model):
    """A lane of clips of one kind, in time order, never overlapping."""

    id: str = Field(min_length=1)
    kind: TrackKind
    clips: tuple[TimelineClip, ...]

    @model_validator(mode="after")
    def _clips_in_order(self) -> Self:
        for before, after in zip(self.clips, self.clips[1:], strict=False):
            if after.start + _EPSILON < before.end:
                raise ValueError(f"clip {after.id!r} starts before clip {before.id!r} ends")
        return self


class TimelineDocument(_Model):
    """The whole timeline; see the module docstring for the invariants checked."""

    id: str = Field(min_length=1)
    movie_title: str
    duration: float = Field(ge=0, allow_inf_nan=False)
    tracks: tuple[TimelineTrack, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        track_ids = [track.id for track in self.tracks]
        if len(set(track_ids)) != len(track_ids):
            raise ValueError("track ids must be unique")
        clip_ids = [clip.id for track in self.tracks for clip in track.clips]
        if len(set(clip_ids)) != len(clip_ids):
            raise ValueError("clip ids must be unique")
        for track in self.tracks:
            for clip in track.clips:
                if clip.end > self.duration + _EPSILON:
                    raise ValueError(f"clip {clip.id!r} ends after the timeline ({self.duration}s)")
        return self


@dataclass
class TimelineComposition:
    """The composed document and how durations were obtained (for diagnostics)."""

    document: TimelineDocument
    estimated: list[str] = field(default_factory=list)
    """Narration artefact ids whose length was not readable from a WAV header and was estimated."""


Groups = list[list[ArtefactInput]]


def _groups(value: Any) -> Groups | None:
    """A fan-in value as groups of artefact handles, or None when ``value`` is not one."""
    if isinstance(value, ArtefactInput):
        return None
    if not isinstance(value, list | tuple) or not value:
        return None
    groups: Groups = []
    for item in value:
        members = list(item) if isinstance(item, list | tuple) else [item]
        if not all(isinstance(member, ArtefactInput) for member in members):
            return None
        groups.append(members)
    return groups


@dataclass
class _Sources:
    narration: Groups = field(default_factory=list)
    images: Groups = field(default_factory=list)
    videos: Groups = field(default_factory=list)
    music: ArtefactInput | None = None


def _classify(inputs: Mapping[str, Any]) -> _Sources:
    sources = _Sources()
    for alias in sorted(inputs):
        value = inputs[alias]
        if isinstance(value, ArtefactInput):
            if value.kind == "audio" and sources.music is None:
                sources.music = value
            elif value.kind in ("image", "video"):
                (sources.images if value.kind == "image" else sources.videos).append([value])
            continue
        groups = _groups(value)
        if not groups:
            continue
        kinds = {member.kind for group in groups for member in group}
        target = {"audio": sources.narration, "image": sources.images, "video": sources.videos}
        if len(kinds) == 1 and (kind := kinds.pop()) in target and not target[kind]:
            target[kind].extend(groups)
    return sources


def _seconds(value: Any) -> float | None:
    """A positive number of seconds, or None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _ms(value: float) -> float:
    return round(value, 3)


def _split(start: float, end: float, parts: int) -> list[tuple[float, float]]:
    """``parts`` consecutive (start, duration) spans covering [start, end], millisecond-rounded."""
    edges = [_ms(start + (end - start) * i / parts) for i in range(parts + 1)]
    return [(edges[i], _ms(edges[i + 1] - edges[i])) for i in range(parts)]


def _audio_seconds(item: ArtefactInput, fallback: float, estimated: list[str]) -> float:
    try:
        return read_wav_info(item.read_bytes()).duration
    except ValueError:
        estimated.append(item.id)
        return fallback


def _visual_track(track_id: str, groups: Groups, spans: Sequence[tuple[float, float]]) -> TimelineTrack:
    clips: list[TimelineClip] = []
    for index, (group, (start, length)) in enumerate(zip(groups, spans, strict=False)):
        for order, (item, (at, duration)) in enumerate(
            zip(group, _split(start, start + length, len(group)), strict=True)
        ):
            if duration > 0:
                clip_id = f"{track_id}-{index}-{order}"
                clips.append(TimelineClip(id=clip_id, artefact_id=item.id, start=at, duration=duration))
    return TimelineTrack(id=track_id, kind="visual", clips=tuple(clips))


def compose_timeline(inputs: Mapping[str, Any], document_id: str) -> TimelineComposition:
    """Lay the artefacts of ``inputs`` on a timeline (blocking: reads narration WAV headers)."""
    sources = _classify(inputs)
    total_hint = _seconds(inputs.get("Duration"))
    segments = len(sources.narration) or max(len(sources.images), len(sources.videos))
    fallback = total_hint / max(segments, 1) if total_hint else DEFAULT_SEGMENT_SECONDS
    estimated: list[str] = []

    narration_clips: list[TimelineClip] = []
    spans: list[tuple[float, float]] = []
    cursor = 0.0
    if sources.narration:
        for index, group in enumerate(sources.narration):
            segment_start = cursor
            for order, item in enumerate(group):
                length = _ms(max(_audio_seconds(item, fallback / len(group), estimated), 0.001))
                clip_id = f"narration-{index}-{order}"
                narration_clips.append(
                    TimelineClip(id=clip_id, artefact_id=item.id, start=_ms(cursor), duration=length)
                )
                cursor = _ms(cursor + length)
            spans.append((_ms(segment_start), _ms(cursor - segment_start)))
    else:
        spans = _split(0.0, fallback * segments, segments) if segments else []
        cursor = spans[-1][0] + spans[-1][1] if spans else (total_hint or 0.0)
    total = _ms(cursor)

    tracks: list[TimelineTrack] = []
    if sources.images:
        tracks.append(_visual_track("images", sources.images, spans))
    if sources.videos:
        tracks.append(_visual_track("videos", sources.videos, spans))
    if narration_clips:
        tracks.append(TimelineTrack(id="narration", kind="narration", clips=tuple(narration_clips)))
    if sources.music is not None and total > 0:
        music = TimelineClip(id="music-0", artefact_id=sources.music.id, start=0.0, duration=total)
        tracks.append(TimelineTrack(id="music", kind="music", clips=(music,)))

    title = inputs.get("MovieTitle")
    document = TimelineDocument(
        id=document_id,
        movie_title=title.strip() if isinstance(title, str) else "",
        duration=total,
        tracks=tuple(tracks),
    )
    return TimelineComposition(document=document, estimated=estimated)
