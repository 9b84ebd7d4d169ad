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

Deterministic: x264 with a fixed thread count and bitexact muxing gives the same bytes for the same
inputs.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from tutopanda.core.blob_ref import extension_for_mime
from tutopanda.core.errors import ProviderError
from tutopanda.core.provider_contract import ArtefactInput, JobContext, ProducedArtefact
from tutopanda.core.timeline import KenBurns, ken_burns_for
from tutopanda.providers.render.ffmpeg import ProgressCallback, run_ffmpeg
from tutopanda.providers.render.settings import ClipSettings, EncodeSettings, frame_size, parse_settings
from tutopanda.providers.render.text_card import render_text_card
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
    "clip_command",
    "clip_frames",
    "encode_args",
    "render_clip",
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
class ClipLayout:
    """What one clip shows: file names in the work directory and the timing, all decided up front."""

    width: int
    height: int
    frames: int
    narration: str
    stills: tuple[str, ...] = ()
    video: str | None = None
    segment: int = 0

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


def clip_command(layout: ClipLayout, settings: ClipSettings, output: str) -> list[str]:
    """ffmpeg arguments (after the global options) rendering ``layout`` to ``output``."""
    if layout.video is None and not layout.stills:
        raise ValueError("a clip needs stills or a video")
    fps = settings.fps
    seconds = layout.frames / fps
    inputs, chains, picture = _picture_graph(layout, settings)
    narration_index = len(layout.stills) if layout.video is None else 1
    inputs += ["-i", layout.narration]
    fade = settings.fade if seconds > 2 * settings.fade else 0.0
    finish = "format=yuv420p"
    if fade > 0:
        finish = f"fade=t=in:st=0:d={_fmt(fade)},fade=t=out:st={_fmt(seconds - fade)}:d={_fmt(fade)},{finish}"
    chains.append(f"[{picture}]{finish}[v]")
    samples = layout.frames * AUDIO_RATE // fps
    lead = round(settings.lead_in * AUDIO_RATE)
    audio = f"[{narration_index}:a]aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,"
    if lead > 0:
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


def render_clip(context: JobContext, on_progress: ProgressCallback | None = None) -> ProducedArtefact:
    """Render the clip job of ``context`` (blocking: run it in a thread) into an outbox MP4."""
    settings = parse_settings(ClipSettings, context.config, "segment-renderer")
    width, height = frame_size(context.inputs.get("Resolution"), context.inputs.get("AspectRatio"))
    narration = context.inputs.get("Narration")
    if not isinstance(narration, ArtefactInput):
        raise ProviderError(
            f"{context.job_id}: no Narration audio to time the clip by",
            hint="wire the segment's narration audio to the clip module's Narration input",
        )
    stills = [still for group in artefact_groups(context.inputs.get("Images")) for still in group]
    video = context.inputs.get("Video")
    (artefact_id, _), *_ = context.produces
    segment = segment_index(context.loop_indices, artefact_id, narration.id, context.job_id)
    with work_directory("clip") as work:
        narration_file = place(narration, work, f"narration.{extension_for_mime(narration.blob.mime_type)}")
        narration_seconds = audio_seconds(narration_file)
        frames = clip_frames(narration_seconds, settings)
        names: tuple[str, ...] = ()
        video_name = None
        if isinstance(video, ArtefactInput):
            video_name = place(video, work, f"source.{extension_for_mime(video.blob.mime_type)}").name
            source = "video"
        elif stills:
            names = tuple(
                place(still, work, f"still{index:03d}.{extension_for_mime(still.blob.mime_type)}").name
                for index, still in enumerate(stills)
            )
            source = "stills"
        else:
            text, style = context.inputs.get("Text"), context.inputs.get("Style")
            card = render_text_card(
                text if isinstance(text, str) else "",
                (width, height),
                style if isinstance(style, str) else None,
                work / "card.png",
            )
            names = (card.name,)
            source = "text-card"
        layout = ClipLayout(width, height, frames, narration_file.name, names, video_name, segment)
        output = work / "clip.mp4"
        run_ffmpeg(
            clip_command(layout, settings, output.name),
            cwd=work,
            expected_seconds=layout.seconds(settings.fps),
            on_progress=on_progress,
            what=f"rendering {artefact_id}",
        )
        final = outbox_file(".mp4")
        shutil.move(output, final)
    diagnostics = {
        "width": width,
        "height": height,
        "fps": settings.fps,
        "frames": frames,
        "duration": round(frames / settings.fps, 3),
        "narrationDuration": round(narration_seconds, 3),
        "source": source,
        "stills": len(names) if source == "stills" else 0,
    }
    return ProducedArtefact(artefact_id, mime_type="video/mp4", file=final, diagnostics=diagnostics)
