"""The timeline composer: the movie's layout from the *real* clip lengths, as a validated document.

Why measure instead of compute: a clip's length is whatever the renderer produced (lead-in + narration
+ tail, snapped to frames, possibly by another renderer version), and the exporter joins clips exactly
as they are. So segment spans come from probing the clip MP4s; narration windows from the WAV headers
and the lead-in the clips were rendered with; caption cues cut at the spoken word times a local
narration WAV carries (its ``tpwt`` chunk), else per sentence spread over each window; Ken Burns
records for stills from the same presets the clip renderer used; and the music plan (loop when shorter
than the movie, trim when longer, level and ducking from config). Everything goes through
:class:`~tutopanda.core.movie.timeline.TimelineDocument`, so an invalid layout is never stored.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from tutopanda.core.engine.provider_contract import ArtefactInput, JobContext, ProducedArtefact
from tutopanda.core.errors import ProviderError
from tutopanda.core.movie.timeline import (
    WORD_CUE_MAX_CHARS,
    CaptionCue,
    CaptionWord,
    MusicPlan,
    TimelineClip,
    TimelineDocument,
    TimelineSegment,
    TimelineTrack,
    TrackKind,
    ken_burns_for,
    ms,
    split_caption_text,
    time_cues,
    word_cues,
)
from tutopanda.core.store.blob_ref import extension_for_mime
from tutopanda.core.store.hashing import sha256_hex
from tutopanda.providers.local.speech_clip import WordTiming, read_word_timings
from tutopanda.providers.render.ffmpeg import probe
from tutopanda.providers.render.settings import TimelineSettings, parse_settings
from tutopanda.providers.render.workspace import artefact_groups, audio_seconds, place, work_directory

__all__ = ["ClipMeasure", "compose_document", "compose_job"]

DEFAULT_FPS = 30
_T = TypeVar("_T")
_D = TypeVar("_D")


@dataclass(frozen=True)
class ClipMeasure:
    """A rendered clip as measured: its artefact, whole frames, frame rate and picture size."""

    artefact_id: str
    frames: int
    fps: int
    width: int
    height: int


def _texts(value: Any) -> list[str]:
    """Caption groups (lists of strings, or strings) as one text per segment."""
    if not isinstance(value, list | tuple):
        return []
    texts = []
    for group in value:
        parts = group if isinstance(group, list | tuple) else [group]
        texts.append(" ".join(part for part in parts if isinstance(part, str)))
    return texts


def _even_spans(start_frame: int, frames: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` consecutive (first frame, end frame) spans covering ``frames`` frames (none for 0 parts)."""
    if parts <= 0:
        return []
    edges = [start_frame + frames * index // parts for index in range(parts + 1)]
    return list(itertools.pairwise(edges))


def _segment_cues(
    text: str,
    spoken: Sequence[WordTiming] | None,
    window_start: float,
    window: float,
    settings: TimelineSettings,
) -> list[CaptionCue]:
    """A segment's caption cues: cut at spoken word times when the narration WAV carried them and they
    are the caption's own words, else the caption's lines spread over the narration window by length."""
    if spoken and window > 0 and [w.text for w in spoken] == text.split():
        end = window_start + window
        timed = [(w.text, min(window_start + w.start, end), min(window_start + w.stop, end)) for w in spoken]
        return word_cues(timed, end=end, max_chars=min(WORD_CUE_MAX_CHARS, settings.caption_max_chars))
    return time_cues(split_caption_text(text, settings.caption_max_chars), window_start, window)


_TRACK_KINDS: dict[str, TrackKind] = {
    "clips": "visual",
    "images": "visual",
    "videos": "visual",
    "narration": "narration",
    "captions": "captions",
    "music": "music",
}
"""The timeline's tracks, in the order they are stored, and their kinds."""


def _nth(items: Sequence[_T], index: int, default: _D) -> _T | _D:
    """``items[index]``, or ``default`` for a segment the (shorter) list says nothing about."""
    return items[index] if index < len(items) else default


def _at(frame: int, fps: int) -> float:
    """The time of ``frame``, in the milliseconds every stored time has."""
    return ms(frame / fps)


def compose_document(
    clips: Sequence[ClipMeasure],
    narrations: Sequence[tuple[str, float] | None],
    captions: Sequence[str],
    images: Sequence[Sequence[str]],
    videos: Sequence[Sequence[str]],
    music: tuple[str, float] | None,
    title: str,
    settings: TimelineSettings,
    words: Sequence[Sequence[WordTiming] | None] = (),
) -> TimelineDocument:
    """Lay the measured clips end to end and hang narration, captions, stills, videos and music on them.

    Pure: every length is given. ``narrations[i]`` is ``(artefact id, seconds)`` or None when segment
    ``i`` has no narration; ``music`` is ``(artefact id, seconds)``; ``words[i]``, when given, are the
    word times the narration of segment ``i`` carried (captions are then cut at them).
    """
    fps = clips[0].fps if clips else DEFAULT_FPS
    segments: list[TimelineSegment] = []
    tracks: dict[str, list[TimelineClip]] = {name: [] for name in _TRACK_KINDS}
    cursor = 0
    for index, clip in enumerate(clips):
        narration = _nth(narrations, index, None)
        segment = _segment(
            index, clip, cursor, fps, narration[1] if narration is not None else None, settings
        )
        segments.append(segment)
        start, length = segment.start, segment.duration
        tracks["clips"].append(
            TimelineClip(id=f"clip-{index}", artefact_id=clip.artefact_id, start=start, duration=length)
        )
        if narration is not None and segment.narration_duration > 0:
            tracks["narration"].append(
                TimelineClip(
                    id=f"narration-{index}",
                    artefact_id=narration[0],
                    start=segment.narration_start,
                    duration=segment.narration_duration,
                )
            )
        if index < len(captions):
            tracks["captions"] += _caption_clips(segment, captions[index], _nth(words, index, None), settings)
        tracks["images"] += _image_clips(index, _nth(images, index, ()), cursor, clip.frames, fps)
        shown = _nth(videos, index, ())
        if shown:  # the first video of a segment plays through its clip
            tracks["videos"].append(
                TimelineClip(id=f"video-{index}", artefact_id=shown[0], start=start, duration=length)
            )
        cursor += clip.frames
    total = _at(cursor, fps)
    plan, tracks["music"] = _music(music, total, settings)
    body = TimelineDocument(
        id="timeline", movie_title=title, duration=total, fps=fps,
        width=clips[0].width if clips else 1280, height=clips[0].height if clips else 720,
        segments=tuple(segments),
        tracks=tuple(
            TimelineTrack(id=name, kind=_TRACK_KINDS[name], clips=tuple(items))
            for name, items in tracks.items() if items
        ),
        music=plan,
    )  # fmt: skip
    return body.model_copy(update={"id": f"timeline-{sha256_hex(body.to_json_bytes())[:16]}"})


def _segment(
    index: int, clip: ClipMeasure, cursor: int, fps: int, spoken: float | None, settings: TimelineSettings
) -> TimelineSegment:
    """Segment ``index``: its clip's span from frame ``cursor``, and its narration window: from the
    lead-in on, as long as the narration (``spoken`` seconds) or, without one, up to the tail."""
    start, end = _at(cursor, fps), _at(cursor + clip.frames, fps)
    window_start = min(ms(start + settings.lead_in), end)
    if spoken is None:
        window = max(0.0, ms(end - settings.tail - window_start))
    else:
        window = max(0.0, min(ms(spoken), ms(end - window_start)))
    return TimelineSegment(
        index=index, start=start, duration=ms(end - start), clip_artefact_id=clip.artefact_id,
        narration_start=window_start, narration_duration=window,
    )  # fmt: skip


def _caption_clips(
    segment: TimelineSegment,
    text: str,
    spoken: Sequence[WordTiming] | None,
    settings: TimelineSettings,
) -> list[TimelineClip]:
    """The caption track's clips of one segment: its cues over its narration window, with their words."""
    cues = _segment_cues(text, spoken, segment.narration_start, segment.narration_duration, settings)
    return [
        TimelineClip(
            id=f"caption-{segment.index}-{number}",
            start=cue.start,
            duration=ms(cue.end - cue.start),
            text=cue.text,
            words=tuple(CaptionWord(text=w, start=a, end=b) for w, a, b in cue.words) or None,
        )
        for number, cue in enumerate(cues)
    ]


def _image_clips(index: int, stills: Sequence[str], cursor: int, frames: int, fps: int) -> list[TimelineClip]:
    """Segment ``index``'s stills sharing its ``frames`` from ``cursor`` evenly, each with the Ken Burns
    move the clip renderer gave it."""
    return [
        TimelineClip(
            id=f"image-{index}-{order}",
            artefact_id=stills[order],
            start=_at(first, fps),
            duration=ms(_at(stop, fps) - _at(first, fps)),
            ken_burns=ken_burns_for(index, order),
        )
        for order, (first, stop) in enumerate(_even_spans(cursor, frames, len(stills)))
    ]


def _music(
    music: tuple[str, float] | None, total: float, settings: TimelineSettings
) -> tuple[MusicPlan | None, list[TimelineClip]]:
    """The music plan and track: the bed trimmed to a movie ``total`` seconds long, or looped (one
    clip per repeat) when it is shorter."""
    if music is None or total <= 0:
        return None, []
    music_id, music_seconds = music
    plan = MusicPlan(
        artefact_id=music_id,
        volume=settings.music_volume,
        ducking_db=settings.ducking_db,
        loop=music_seconds + 1e-3 < total,
    )
    piece = ms(music_seconds) if plan.loop and music_seconds > 0 else total
    pieces: list[TimelineClip] = []
    for number in range(max(1, math.ceil(total / piece - 1e-9))):
        start = ms(number * piece)
        pieces.append(
            TimelineClip(
                id=f"music-{number}",
                artefact_id=music_id,
                start=start,
                duration=ms(min(total, start + piece) - start),
                volume=settings.music_volume,
            )
        )
    return plan, pieces


def _first(groups: list[list[ArtefactInput]], index: int) -> ArtefactInput | None:
    return groups[index][0] if index < len(groups) and groups[index] else None


def compose_job(context: JobContext) -> ProducedArtefact:
    """The ``timeline`` job: measure the clips, narration and music of ``context``, compose, validate."""
    settings = parse_settings(TimelineSettings, context.config, "ordered-timeline")
    clip_groups = artefact_groups(context.inputs.get("Clips"))
    if not clip_groups or not all(clip_groups):
        raise ProviderError(
            f"{context.job_id}: no rendered clips to lay out",
            hint="wire the segment clips (Clips.SegmentClip grouped by segment) to the timeline's Clips",
        )
    audio_groups = artefact_groups(context.inputs.get("Audio"))
    music_input = context.inputs.get("Music")
    measures: list[ClipMeasure] = []
    narrations: list[tuple[str, float] | None] = []
    spoken: list[tuple[WordTiming, ...] | None] = []
    music: tuple[str, float] | None = None
    with work_directory("timeline") as work:
        for index, group in enumerate(clip_groups):
            clip = group[0]
            info = probe(place(clip, work, f"clip{index:05d}.mp4"))
            video = info.of_type("video")
            if not video or info.duration is None:
                raise ProviderError(f"{clip.id} has no video stream or duration", retryable=False)
            fps = round(video[0].fps or DEFAULT_FPS)
            measures.append(
                ClipMeasure(
                    clip.id,
                    max(1, round(info.duration * fps)),
                    fps,
                    video[0].width or 0,
                    video[0].height or 0,
                )
            )
            audio = _first(audio_groups, index)
            if audio is None:
                narrations.append(None)
                spoken.append(None)
            else:
                name = f"narration{index:05d}.{extension_for_mime(audio.blob.mime_type)}"
                placed = place(audio, work, name)
                narrations.append((audio.id, audio_seconds(placed)))
                spoken.append(read_word_timings(placed))
        if isinstance(music_input, ArtefactInput):
            name = f"music.{extension_for_mime(music_input.blob.mime_type)}"
            music = (music_input.id, audio_seconds(place(music_input, work, name)))
    if len({(m.fps, m.width, m.height) for m in measures}) > 1:
        raise ProviderError(
            f"{context.job_id}: the clips differ in size or frame rate and cannot be joined",
            hint="render every clip with the same Resolution, AspectRatio and fps",
        )
    title = context.inputs.get("MovieTitle")
    groups = (artefact_groups(context.inputs.get(alias)) for alias in ("Images", "Videos"))
    images, videos = ([[item.id for item in group] for group in value] for value in groups)
    document = compose_document(
        measures, narrations, _texts(context.inputs.get("Captions")), images, videos, music,
        " ".join(title.split()) if isinstance(title, str) else "", settings, spoken,
    )  # fmt: skip
    data = document.to_json_bytes()
    TimelineDocument.model_validate_json(data)  # what we store must read back as a timeline
    (artefact_id, _), *_ = context.produces
    diagnostics = {
        "duration": document.duration,
        "segments": len(document.segments),
        "captionCues": sum(len(track.clips) for track in document.track("captions")),
        "musicLoop": document.music.loop if document.music else None,
    }
    return ProducedArtefact(artefact_id, mime_type="application/json", data=data, diagnostics=diagnostics)
