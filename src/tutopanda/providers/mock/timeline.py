"""The mock timeline composer: a :class:`~tutopanda.core.movie.timeline.TimelineDocument` without ffmpeg.

Why the core model: a mock build's timeline must validate exactly like a real one (the exporter and the
tests read both), so the mock fills the same document — segments, tracks, caption cues, music plan —
with lengths it can get for free (WAV headers) instead of probing rendered clips.

The composer lays segments end to end. Narration drives the length: a segment lasts as long as its
narration clips (read from their WAV headers). Images or videos of a segment share its span evenly;
music spans the whole movie. Artefact inputs are classified by their *kind and shape*, not by alias:
grouped (fan-in) audio is narration, a single audio artefact is music, grouped images/videos are
visuals. ``MovieTitle`` (text), ``Duration`` (seconds, used when no narration is wired or a clip is
not a readable WAV), ``Clips`` (the rendered segment clips: each segment's ``clipArtefactId``) and
``Captions`` (narration texts: caption cues inside each segment's narration) are read by alias. The
mock has no lead-in: a segment's narration window is the whole segment. The frame is 30 fps, 1280x720.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tutopanda.core.engine.provider_contract import ArtefactInput
from tutopanda.core.movie.timeline import (
    MusicPlan,
    TimelineClip,
    TimelineDocument,
    TimelineSegment,
    TimelineTrack,
    split_caption_text,
    time_cues,
)
from tutopanda.providers.mock.wav import HEADER_BYTES, read_wav_info

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

MOCK_FPS, MOCK_WIDTH, MOCK_HEIGHT = 30, 1280, 720
_BY_ALIAS = frozenset({"Clips", "Captions"})


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
        if alias in _BY_ALIAS:
            continue
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
        with item.open() as stream:  # the header only: the samples are not needed for a length
            head = stream.read(HEADER_BYTES)
        try:
            return read_wav_info(head, total_size=item.blob.size).duration
        except ValueError:  # its samples start further in (big metadata chunks): read it all
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

    clip_groups = _groups(inputs.get("Clips")) or []
    tracks: list[TimelineTrack] = []
    if clip_groups:
        tracks.append(_visual_track("clips", clip_groups, spans))
    if sources.images:
        tracks.append(_visual_track("images", sources.images, spans))
    if sources.videos:
        tracks.append(_visual_track("videos", sources.videos, spans))
    if narration_clips:
        tracks.append(TimelineTrack(id="narration", kind="narration", clips=tuple(narration_clips)))
    captions = _caption_track(inputs.get("Captions"), spans)
    if captions.clips:
        tracks.append(captions)
    plan = None
    if sources.music is not None and total > 0:
        music = TimelineClip(id="music-0", artefact_id=sources.music.id, start=0.0, duration=total)
        tracks.append(TimelineTrack(id="music", kind="music", clips=(music,)))
        music_seconds = _audio_seconds(sources.music, total, [])
        plan = MusicPlan(
            artefact_id=sources.music.id, volume=0.35, ducking_db=-12, loop=music_seconds < total
        )

    segment_list: list[TimelineSegment] = []
    if spans and all(length > 0 for _, length in spans):
        for index, (start, length) in enumerate(spans):
            group = clip_groups[index] if index < len(clip_groups) else []
            segment_list.append(
                TimelineSegment(
                    index=index,
                    start=start,
                    duration=length,
                    clip_artefact_id=group[0].id if group else None,
                    narration_start=start,
                    narration_duration=length,
                )
            )
    title = inputs.get("MovieTitle")
    document = TimelineDocument(
        id=document_id,
        movie_title=title.strip() if isinstance(title, str) else "",
        duration=total,
        fps=MOCK_FPS,
        width=MOCK_WIDTH,
        height=MOCK_HEIGHT,
        segments=tuple(segment_list),
        tracks=tuple(tracks),
        music=plan,
    )
    return TimelineComposition(document=document, estimated=estimated)


def _caption_track(value: Any, spans: Sequence[tuple[float, float]]) -> TimelineTrack:
    """Caption cues of each segment's text (``Captions`` groups of strings) inside its span."""
    clips: list[TimelineClip] = []
    groups = value if isinstance(value, list | tuple) else []
    for index, (group, (start, length)) in enumerate(zip(groups, spans, strict=False)):
        parts = group if isinstance(group, list | tuple) else [group]
        text = " ".join(part for part in parts if isinstance(part, str))
        for number, cue in enumerate(time_cues(split_caption_text(text), start, length)):
            clips.append(
                TimelineClip(
                    id=f"caption-{index}-{number}",
                    start=cue.start,
                    duration=_ms(cue.end - cue.start),
                    text=cue.text,
                )
            )
    return TimelineTrack(id="captions", kind="captions", clips=tuple(clips))
