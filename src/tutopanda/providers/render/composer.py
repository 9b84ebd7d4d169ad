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
from typing import Any

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
    tracks: dict[str, list[TimelineClip]] = {
        "clips": [], "images": [], "videos": [], "narration": [], "captions": [], "music": [],
    }  # fmt: skip
    cursor = 0

    def at(frame: int) -> float:
        return ms(frame / fps)

    for index, clip in enumerate(clips):
        start, end = at(cursor), at(cursor + clip.frames)
        length = ms(end - start)
        narration = narrations[index] if index < len(narrations) else None
        spoken = narration[1] if narration is not None else None
        window_start = min(ms(start + settings.lead_in), end)
        if spoken is None:
            window = max(0.0, ms(end - settings.tail - window_start))
        else:
            window = max(0.0, min(ms(spoken), ms(end - window_start)))
        segments.append(
            TimelineSegment(
                index=index, start=start, duration=length, clip_artefact_id=clip.artefact_id,
                narration_start=window_start, narration_duration=window,
            )
        )  # fmt: skip
        tracks["clips"].append(
            TimelineClip(id=f"clip-{index}", artefact_id=clip.artefact_id, start=start, duration=length)
        )
        if narration is not None and window > 0:
            tracks["narration"].append(
                TimelineClip(
                    id=f"narration-{index}", artefact_id=narration[0], start=window_start, duration=window
                )
            )
        spoken_words = words[index] if index < len(words) else None
        for number, cue in enumerate(
            _segment_cues(captions[index], spoken_words, window_start, window, settings)
            if index < len(captions)
            else []
        ):
            tracks["captions"].append(
                TimelineClip(
                    id=f"caption-{index}-{number}",
                    start=cue.start,
                    duration=ms(cue.end - cue.start),
                    text=cue.text,
                    words=tuple(CaptionWord(text=w, start=a, end=b) for w, a, b in cue.words) or None,
                )
            )
        stills = images[index] if index < len(images) else ()
        for order, (first, stop) in enumerate(_even_spans(cursor, clip.frames, len(stills))):
            tracks["images"].append(
                TimelineClip(
                    id=f"image-{index}-{order}",
                    artefact_id=stills[order],
                    start=at(first),
                    duration=ms(at(stop) - at(first)),
                    ken_burns=ken_burns_for(index, order),
                )
            )
        for order, video in enumerate(videos[index] if index < len(videos) else ()):
            if order == 0:
                tracks["videos"].append(
                    TimelineClip(id=f"video-{index}", artefact_id=video, start=start, duration=length)
                )
        cursor += clip.frames
    total = at(cursor)
    plan = None
    if music is not None and total > 0:
        music_id, music_seconds = music
        plan = MusicPlan(
            artefact_id=music_id,
            volume=settings.music_volume,
            ducking_db=settings.ducking_db,
            loop=music_seconds + 1e-3 < total,
        )
        piece = ms(music_seconds) if plan.loop and music_seconds > 0 else total
        for number in range(max(1, math.ceil(total / piece - 1e-9))):
            start = ms(number * piece)
            tracks["music"].append(
                TimelineClip(
                    id=f"music-{number}",
                    artefact_id=music_id,
                    start=start,
                    duration=ms(min(total, start + piece) - start),
                    volume=settings.music_volume,
                )
            )
    kinds: dict[str, TrackKind] = {
        "clips": "visual",
        "images": "visual",
        "videos": "visual",
        "narration": "narration",
        "captions": "captions",
        "music": "music",
    }
    body = TimelineDocument(
        id="timeline", movie_title=title, duration=total, fps=fps,
        width=clips[0].width if clips else 1280, height=clips[0].height if clips else 720,
        segments=tuple(segments),
        tracks=tuple(
            TimelineTrack(id=name, kind=kinds[name], clips=tuple(items))
            for name, items in tracks.items() if items
        ),
        music=plan,
    )  # fmt: skip
    return body.model_copy(update={"id": f"timeline-{sha256_hex(body.to_json_bytes())[:16]}"})


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
