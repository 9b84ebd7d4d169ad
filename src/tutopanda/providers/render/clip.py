"""The clip renderer: one segment's stills (or video, or a text card) under its narration, as H.264/AAC.

Why one clip per segment: editing a segment's narration or pictures re-encodes only that segment; the
exporter joins clips with a stream copy. That join only works if every clip has identical stream
parameters, so all of them come from :class:`~tutopanda.providers.render.settings.EncodeSettings`:
same size, fps, x264 preset/profile, AAC 48 kHz stereo.

Timing: the clip lasts ``leadIn + narration + tail`` snapped to whole frames; the narration starts after
``leadIn`` and is padded with silence to exactly the clip's length in samples, so audio and video cannot
drift. Stills share the clip evenly with ``crossfade``-long xfades between them; each still gets the
shared Ken Burns preset for its (segment, image) index, done with zoompan on a single-frame input
upscaled x2 (zoompan crops on whole pixels; x2 hides the shimmer, and a single frame avoids re-decoding
the PNG per frame). A video is scaled/padded to the frame and looped or trimmed to length. Every clip
fades in from and out to black briefly, so hard joins between clips look intentional.

Text is never part of the moving picture: the Ken Burns move applies to the pictures only, and the
segment's headline and key points (from ``Text``) are a fixed overlay drawn with Pillow
(:mod:`.overlay`) and composited once per layer on top, so no zoom crops them. Key points fade in when the
narration reaches them (word timings from the narration WAV when it carries them, else in proportion to
the words before them). Pictures that are not local slide backgrounds (AI images, videos) get a soft
scrim behind the text; cinematic frames get letterbox bars drawn after the move. The first segment shows
the movie's title card (``MovieTitle``, ``MovieSummary``) for ``titleSeconds`` before its headline.

Deterministic: x264 with a fixed thread count and bitexact muxing gives the same bytes for the same
inputs.
"""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from tutopanda.core.engine.provider_contract import ArtefactInput, JobContext, ProducedArtefact
from tutopanda.core.errors import ProviderError
from tutopanda.core.movie.timeline import KenBurns, ken_burns_for
from tutopanda.core.store.blob_ref import extension_for_mime
from tutopanda.providers.local.palettes import palette_for
from tutopanda.providers.local.slides import is_slide_background, render_slide
from tutopanda.providers.render.ffmpeg import ProgressCallback, run_ffmpeg
from tutopanda.providers.render.overlay import (
    KeyPoint,
    Layer,
    draw_scrim,
    headline_for,
    key_points,
    overlay_layers,
    title_layers,
)
from tutopanda.providers.render.settings import ClipSettings, EncodeSettings, frame_size, parse_settings
from tutopanda.providers.render.text_card import key_sentence
from tutopanda.providers.render.workspace import (
    artefact_groups,
    audio_seconds,
    outbox_file,
    place,
    segment_index,
    work_directory,
)

__all__ = [
    "AUDIO_RATE",
    "ClipLayout",
    "OverlayPlacement",
    "clip_command",
    "clip_frames",
    "encode_args",
    "render_clip",
    "reveal_times",
    "still_frames",
    "zoompan_filter",
]

AUDIO_RATE = 48_000
"""Every clip's audio sample rate (the exporter's stream join relies on it)."""


def clip_frames(narration_seconds: float, settings: ClipSettings) -> int:
    """The clip's length in frames: lead-in + narration + tail, snapped to the nearest whole frame."""
    seconds = settings.lead_in + max(narration_seconds, 0.0) + settings.tail
    return max(1, round(seconds * settings.fps))


def still_frames(total: int, count: int, crossfade: int) -> tuple[list[int], int]:
    """Frames per still and the crossfade actually used, so the stills exactly cover ``total`` frames.

    With ``n`` stills overlapping by ``c`` frames, ``sum(d) - (n-1)c == total``. The crossfade shrinks
    when the stills would be too short to hold it (at most a third of a still).
    """
    if count <= 1:
        return [total], 0
    crossfade = max(0, min(crossfade, (total // count) // 3))
    span = total + (count - 1) * crossfade
    base, extra = divmod(span, count)
    return [base + (1 if index < extra else 0) for index in range(count)], crossfade


def _fmt(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def zoompan_filter(move: KenBurns, frames: int, width: int, height: int, fps: int, upscale: int) -> str:
    """Scale a still to cover ``upscale`` x the frame, then zoompan along ``move`` over ``frames``.

    The output is converted to yuv420p at once: xfade on RGB frames is about 3x slower.
    """
    big_w, big_h = width * upscale, height * upscale
    progress = f"on/{frames - 1}" if frames > 1 else "0"
    zoom = f"{_fmt(move.from_scale)}+{_fmt(move.to_scale - move.from_scale)}*{progress}"
    centre_x = f"({_fmt(move.from_x)}+{_fmt(move.to_x - move.from_x)}*{progress})"
    centre_y = f"({_fmt(move.from_y)}+{_fmt(move.to_y - move.from_y)}*{progress})"
    x = f"clip({centre_x}*iw-iw/zoom/2,0,iw-iw/zoom)"
    y = f"clip({centre_y}*ih-ih/zoom/2,0,ih-ih/zoom)"
    return (
        f"scale={big_w}:{big_h}:force_original_aspect_ratio=increase:flags=lanczos,"
        f"crop={big_w}:{big_h},setsar=1,"
        f"zoompan=z='{zoom}':x='{x}':y='{y}':d={frames}:s={width}x{height}:fps={fps},setsar=1,format=yuv420p"
    )


@dataclass(frozen=True)
class OverlayPlacement:
    """A fixed RGBA layer over the moving picture: file ``name`` at (``x``, ``y``), fading in at
    ``start`` over ``fade_in`` seconds and, when ``end`` is set, out by ``end``."""

    name: str
    x: int = 0
    y: int = 0
    start: float = 0.0
    fade_in: float = 0.0
    end: float | None = None
    fade_out: float = 0.0
    role: str = ""


@dataclass(frozen=True)
class ClipLayout:
    """What one clip shows: file names in the work directory and the timing, all decided up front."""

    width: int
    height: int
    frames: int
    narration: str | None
    """The narration file; None for a silent clip (a slideshow or video without a voice)."""
    stills: tuple[str, ...] = ()
    video: str | None = None
    segment: int = 0
    overlays: tuple[OverlayPlacement, ...] = ()
    letterbox: int = 0

    def seconds(self, fps: int) -> float:
        """The clip's exact length."""
        return self.frames / fps


def encode_args(settings: EncodeSettings) -> list[str]:
    """x264 + AAC output options shared by every clip (and by a burn-in export), byte-stable."""
    return [
        "-c:v", "libx264", "-preset", settings.preset, "-crf", str(settings.crf),
        "-profile:v", "high", "-pix_fmt", "yuv420p", "-r", str(settings.fps),
        "-threads", str(settings.threads),
        "-c:a", "aac", "-b:a", settings.audio_bitrate, "-ar", str(AUDIO_RATE), "-ac", "2",
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
        "-movflags", "+faststart",
    ]  # fmt: skip


def _picture_graph(layout: ClipLayout, settings: ClipSettings) -> tuple[list[str], list[str], str]:
    """Inputs, filter chains and the label of the picture before fades (stills or a video)."""
    fps = settings.fps
    if layout.video is not None:
        chain = (
            f"[0:v]scale={layout.width}:{layout.height}:force_original_aspect_ratio=decrease:flags=lanczos,"
            f"pad={layout.width}:{layout.height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps={fps},"
            f"trim=end_frame={layout.frames},setpts=PTS-STARTPTS[pic]"
        )
        return ["-stream_loop", "-1", "-i", layout.video], [chain], "pic"
    frames, crossfade = still_frames(
        layout.frames, len(layout.stills), round(settings.crossfade * settings.fps)
    )
    inputs: list[str] = []
    chains: list[str] = []
    for index, (still, length) in enumerate(zip(layout.stills, frames, strict=True)):
        inputs += ["-i", still]
        move = ken_burns_for(layout.segment, index)
        chains.append(
            f"[{index}:v]{zoompan_filter(move, length, layout.width, layout.height, fps, settings.upscale)}"
            f"[s{index}]"
        )
    label = "s0"
    elapsed = frames[0]
    for index in range(1, len(frames)):
        offset = (elapsed - crossfade) / fps
        chains.append(
            f"[{label}][s{index}]xfade=transition=fade:duration={_fmt(crossfade / fps)}:offset={_fmt(offset)}"
            f"[x{index}]"
        )
        label = f"x{index}"
        elapsed += frames[index] - crossfade
    # xfade offsets are rounded to the time base: pad/trim to the exact frame count.
    chains.append(
        f"[{label}]tpad=stop_mode=clone:stop=2,trim=end_frame={layout.frames},setpts=PTS-STARTPTS[pic]"
    )
    return inputs, chains, "pic"


def _overlay_graph(
    layout: ClipLayout, settings: ClipSettings, inputs: list[str], chains: list[str], picture: str, first: int
) -> str:
    """Letterbox bars, then each fixed overlay layer, over ``picture``; returns the new label.

    A layer shown for the whole clip is one still frame that ``overlay`` repeats; a layer that fades is
    that frame looped (``loop``, no re-decoding) and faded in its alpha only: layers are cropped to their
    ink, so the per-frame cost stays small.
    """
    fps = settings.fps
    label = picture
    if layout.letterbox > 0:
        bar = layout.letterbox
        chains.append(
            f"[{label}]drawbox=x=0:y=0:w=iw:h={bar}:color=black:t=fill,"
            f"drawbox=x=0:y=ih-{bar}:w=iw:h={bar}:color=black:t=fill[lb]"
        )
        label = "lb"
    for number, placement in enumerate(layout.overlays):
        index = first + number
        inputs += ["-i", placement.name]
        source = f"[{index}:v]format=yuva420p"
        fades: list[str] = []
        if placement.fade_in > 0 and placement.start > 0:
            fades.append(f"fade=t=in:st={_fmt(placement.start)}:d={_fmt(placement.fade_in)}:alpha=1")
        if placement.end is not None and placement.fade_out > 0:
            fades.append(
                f"fade=t=out:st={_fmt(max(0.0, placement.end - placement.fade_out))}:"
                f"d={_fmt(placement.fade_out)}:alpha=1"
            )
        last = placement.end if placement.end is not None else layout.frames / fps
        if fades:
            frames = max(1, min(layout.frames, round(last * fps)))
            source += f",loop=loop={frames - 1}:size=1:start=0,setpts=N/{fps}/TB," + ",".join(fades)
        chains.append(f"{source}[o{number}]")
        enable = []
        if placement.start > 0 and not (placement.fade_in > 0):
            enable.append(f"gte(t,{_fmt(placement.start)})")
        if placement.end is not None:
            enable.append(f"lt(t,{_fmt(placement.end)})")
        when = f":enable='{'*'.join(enable)}'" if enable else ""
        eof = ":eof_action=pass" if fades and placement.end is not None else ""
        chains.append(f"[{label}][o{number}]overlay=x={placement.x}:y={placement.y}{eof}{when}[ov{number}]")
        label = f"ov{number}"
    return label


def clip_command(layout: ClipLayout, settings: ClipSettings, output: str) -> list[str]:
    """ffmpeg arguments (after the global options) rendering ``layout`` to ``output``."""
    if layout.video is None and not layout.stills:
        raise ValueError("a clip needs stills or a video")
    fps = settings.fps
    seconds = layout.frames / fps
    inputs, chains, picture = _picture_graph(layout, settings)
    narration_index = len(layout.stills) if layout.video is None else 1
    if layout.narration is not None:
        inputs += ["-i", layout.narration]
    first_overlay = narration_index + (1 if layout.narration is not None else 0)
    picture = _overlay_graph(layout, settings, inputs, chains, picture, first_overlay)
    fade = settings.fade if seconds > 2 * settings.fade else 0.0
    finish = "format=yuv420p"
    if fade > 0:
        finish = f"fade=t=in:st=0:d={_fmt(fade)},fade=t=out:st={_fmt(seconds - fade)}:d={_fmt(fade)},{finish}"
    chains.append(f"[{picture}]{finish}[v]")
    samples = layout.frames * AUDIO_RATE // fps
    lead = round(settings.lead_in * AUDIO_RATE)
    if layout.narration is None:
        # Silence of the clip's exact length: the exporter joins clips by stream copy, so every clip
        # needs the same audio stream, a silent one included.
        audio = f"anullsrc=r={AUDIO_RATE}:cl=stereo,aformat=sample_fmts=fltp:channel_layouts=stereo,"
    else:
        audio = (
            f"[{narration_index}:a]aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,"
        )
    if lead > 0 and layout.narration is not None:
        audio += f"adelay=delays={lead}S:all=1,"
    audio += f"apad=whole_len={samples},atrim=end_sample={samples},asetpts=N/SR/TB[a]"
    chains.append(audio)
    return [
        *inputs,
        "-filter_complex", ";".join(chains),
        "-map", "[v]", "-map", "[a]",
        *encode_args(settings),
        output,
    ]  # fmt: skip


@dataclass(frozen=True)
class _Picture:
    """What a clip moves under its text, placed in the work directory: ``stills`` or a ``video``, where
    it came from (``source``: ``video``, ``stills`` or ``text-card``) and whether it is ``local`` (text-free
    slide backgrounds the text goes straight on, without a scrim)."""

    stills: tuple[str, ...]
    video: str | None
    source: str
    local: bool


def render_clip(context: JobContext, on_progress: ProgressCallback | None = None) -> ProducedArtefact:
    """Render the clip job of ``context`` (blocking: run it in a thread) into an outbox MP4."""
    settings = parse_settings(ClipSettings, context.config, "segment-renderer")
    width, height = frame_size(context.inputs.get("Resolution"), context.inputs.get("AspectRatio"))
    narration = context.inputs.get("Narration")
    silent_seconds = None if isinstance(narration, ArtefactInput) else _silent_seconds(context, settings)
    (artefact_id, _), *_ = context.produces
    narration_id = narration.id if isinstance(narration, ArtefactInput) else ""
    segment = segment_index(context.loop_indices, artefact_id, narration_id, context.job_id)
    text = _text_input(context, "Text")
    style = _text_input(context, "Style") or None
    with work_directory("clip") as work:
        narration_file, narration_seconds = _place_narration(narration, work, silent_seconds)
        frames = clip_frames(narration_seconds, settings)
        picture = _place_picture(context, work, (width, height), text, style)
        word_starts = _word_starts(narration_file) if narration_file is not None else None
        overlays: tuple[OverlayPlacement, ...] = ()
        if settings.overlay:
            overlays = _overlays(
                work,
                (width, height),
                style,
                text,
                segment,
                local=picture.local,
                settings=settings,
                narration_seconds=narration_seconds,
                word_starts=word_starts,
                clip_seconds=frames / settings.fps,
                title=_text_input(context, "MovieTitle") if segment == 0 else "",
                summary=_text_input(context, "MovieSummary") if segment == 0 else "",
            )
        layout = ClipLayout(
            width,
            height,
            frames,
            narration_file.name if narration_file is not None else None,
            picture.stills,
            picture.video,
            segment,
            overlays,
            _letterbox(width, height, style) if settings.overlay else 0,
        )
        final = _encode(layout, settings, work, f"rendering {artefact_id}", on_progress)
    diagnostics = _diagnostics(layout, settings, narration_seconds, picture, word_starts)
    return ProducedArtefact(artefact_id, mime_type="video/mp4", file=final, diagnostics=diagnostics)


def _place_narration(
    narration: object, work: Path, silent_seconds: float | None
) -> tuple[Path | None, float]:
    """The narration file placed in ``work`` and its length; without a voice, no file and the time the
    text "is read" over (the segment's share of the movie, see :func:`_silent_seconds`)."""
    if not isinstance(narration, ArtefactInput):
        return None, silent_seconds or 0.0
    placed = place(narration, work, f"narration.{extension_for_mime(narration.blob.mime_type)}")
    return placed, audio_seconds(placed)


def _place_picture(
    context: JobContext, work: Path, size: tuple[int, int], text: str, style: str | None
) -> _Picture:
    """Put the clip's picture in ``work``: its video, else its stills, else a text card of ``text``
    (a slide with its key sentence) for a segment without pictures."""
    video = context.inputs.get("Video")
    stills = [still for group in artefact_groups(context.inputs.get("Images")) for still in group]
    if isinstance(video, ArtefactInput):
        name = place(video, work, f"source.{extension_for_mime(video.blob.mime_type)}").name
        return _Picture((), name, "video", False)
    if stills:
        names = tuple(
            place(still, work, f"still{index:03d}.{extension_for_mime(still.blob.mime_type)}").name
            for index, still in enumerate(stills)
        )
        return _Picture(names, None, "stills", all(_is_slide(work / name) for name in names))
    card = work / "card.png"
    card.write_bytes(render_slide(key_sentence(text) or text, size, style))
    return _Picture((card.name,), None, "text-card", True)


def _encode(
    layout: ClipLayout, settings: ClipSettings, work: Path, what: str, on_progress: ProgressCallback | None
) -> Path:
    """Run ffmpeg on ``layout`` in ``work`` and move the clip into the outbox; returns its path there."""
    output = work / "clip.mp4"
    run_ffmpeg(
        clip_command(layout, settings, output.name),
        cwd=work,
        expected_seconds=layout.seconds(settings.fps),
        on_progress=on_progress,
        what=what,
    )
    final = outbox_file(".mp4")
    shutil.move(output, final)
    return final


def _diagnostics(
    layout: ClipLayout,
    settings: ClipSettings,
    narration_seconds: float,
    picture: _Picture,
    word_starts: Sequence[float] | None,
) -> dict[str, Any]:
    """What the clip job reports: its size, timing, picture source, overlay layers and point times."""
    silent = layout.narration is None
    return {
        "width": layout.width,
        "height": layout.height,
        "fps": settings.fps,
        "frames": layout.frames,
        "duration": round(layout.frames / settings.fps, 3),
        "narrationDuration": 0.0 if silent else round(narration_seconds, 3),
        "silent": silent,
        "source": picture.source,
        "stills": len(picture.stills) if picture.source == "stills" else 0,
        "overlayLayers": len(layout.overlays),
        "pointTimes": [placement.start for placement in layout.overlays if placement.role == "point"],
        "wordTimings": word_starts is not None,
    }


def _silent_seconds(context: JobContext, settings: ClipSettings) -> float:
    """The "narration" time of a clip without narration: its share of the movie's ``Duration`` minus the
    lead-in and tail, so ``NumOfSegments`` such clips add up to ``Duration`` (blueprints without a voice
    wire ``Duration`` and ``NumOfSegments``; there is no audio whose length could time them)."""
    duration, count = context.inputs.get("Duration"), context.inputs.get("NumOfSegments")
    if isinstance(duration, bool) or not isinstance(duration, int | float) or duration <= 0:
        raise ProviderError(
            f"{context.job_id}: no Narration audio and no Duration to time the clip by",
            hint="wire the segment's narration audio to the clip's Narration input, or Duration and "
            "NumOfSegments for a clip without narration (modules/timed-clip.yaml)",
        )
    segments = count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 1
    return max(1.0, float(duration) / segments - settings.lead_in - settings.tail)


def _text_input(context: JobContext, name: str) -> str:
    value = context.inputs.get(name)
    return value if isinstance(value, str) else ""


def _is_slide(path: Path) -> bool:
    """Whether a placed still is a local, text-free slide background (text goes straight on it)."""
    try:
        with Image.open(path) as image:
            return is_slide_background(image)
    except (OSError, ValueError, Image.DecompressionBombError):
        return False


def _word_starts(path: Path) -> tuple[float, ...] | None:
    """Word start times stored in the narration WAV by the local speech engines, when there are any."""
    module = importlib.import_module("tutopanda.providers.local.speech_clip")
    reader = getattr(module, "read_word_timings", None)
    if reader is None:
        return None
    timings = reader(path)
    if not timings:
        return None
    return tuple(float(timing.start) for timing in timings)


def _letterbox(width: int, height: int, style: str | None) -> int:
    """Cinema bars (wide frames of a letterboxed style only): a tenth of the height, even."""
    if not palette_for(style).letterbox or width < height * 1.5:
        return 0
    return max(2, height // 10 // 2 * 2)


def reveal_times(
    points: Sequence[KeyPoint],
    words: int,
    narration_seconds: float,
    lead_in: float,
    word_starts: Sequence[float] | None,
    earliest: float,
    latest: float,
) -> list[float]:
    """When each key point appears: when the narration reaches its first word (from ``word_starts`` when
    the WAV carried timings, else in proportion to the words before it), kept between ``earliest`` and
    ``latest`` and at least 0.4 s apart."""
    times: list[float] = []
    previous = earliest - 0.4
    for point in points:
        if word_starts:
            position = (
                point.word
                if len(word_starts) == words
                else round(point.word * len(word_starts) / max(words, 1))
            )
            spoken = lead_in + word_starts[min(position, len(word_starts) - 1)]
        else:
            spoken = lead_in + narration_seconds * point.word / max(words, 1)
        at = min(max(spoken, earliest, previous + 0.4), max(latest, earliest))
        times.append(round(at, 3))
        previous = at
    return times


def _save_layer(work: Path, name: str, image: Image.Image) -> str:
    image.save(work / name, format="PNG", compress_level=1)
    return name


def _overlays(
    work: Path,
    size: tuple[int, int],
    style: str | None,
    text: str,
    segment: int,
    *,
    local: bool,
    settings: ClipSettings,
    narration_seconds: float,
    word_starts: Sequence[float] | None,
    clip_seconds: float,
    title: str,
    summary: str,
) -> tuple[OverlayPlacement, ...]:
    """Draw the overlay layers into ``work`` and say where and when each shows."""
    placements: list[OverlayPlacement] = []
    title = " ".join(title.split())
    has_text = bool(text.strip())
    if not has_text and not title:
        return ()
    if not local:
        placements.append(OverlayPlacement(_save_layer(work, "scrim.png", draw_scrim(size))))
    begin = 0.0
    if title:
        title_end = min(settings.title_seconds, clip_seconds * 0.6) if has_text else clip_seconds
        fade = min(0.4, title_end / 3)
        if not local:
            dim = Image.new("RGBA", size, (0, 0, 0, 120))
            placements.append(
                OverlayPlacement(_save_layer(work, "dim.png", dim), end=title_end, fade_out=fade)
            )
        for number, layer in enumerate(title_layers(size, style, title, summary, over_picture=not local)):
            placements.append(
                OverlayPlacement(
                    _save_layer(work, f"title{number}.png", layer.image),
                    layer.x,
                    layer.y,
                    end=title_end if has_text else None,
                    fade_out=fade if has_text else 0.0,
                )
            )
        begin = title_end if has_text else clip_seconds
    if not has_text:
        return tuple(placements)
    points = key_points(text)
    layers: list[Layer] = overlay_layers(
        size, style, headline_for(text), points, index=segment, over_picture=not local
    )
    shown = [layer.point for layer in layers if layer.role == "point" and layer.point is not None]
    times = reveal_times(
        shown,
        len(text.split()),
        narration_seconds,
        settings.lead_in,
        word_starts,
        earliest=begin + 0.8,
        latest=clip_seconds - settings.tail - 0.5,
    )
    fade_in = 0.4 if begin > 0 else 0.0
    reveal = iter(times)
    for number, layer in enumerate(layers):
        name = _save_layer(work, f"layer{number}.png", layer.image)
        if layer.role == "point" and settings.reveal > 0:
            at = next(reveal)
            placements.append(OverlayPlacement(name, layer.x, layer.y, at, settings.reveal, role="point"))
        else:
            placements.append(OverlayPlacement(name, layer.x, layer.y, begin, fade_in, role=layer.role))
    return tuple(placements)
