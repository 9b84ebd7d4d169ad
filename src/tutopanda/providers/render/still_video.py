"""An offline stand-in for a generated video clip: the segment's video prompt on a slide, slowly moving.

``video-audio-music`` asks a video model for a short clip per segment. Offline there is none, so the
``local``/``slides`` variant of the video producer paints the style's text-free slide background (seeded
by the prompt) and encodes ``SegmentDuration`` seconds of it with a Ken Burns move. The clip renderer then
treats it like any generated video (looped or trimmed to the narration) and draws the segment's text
over it as a fixed overlay, so the move never crops text. Silent, H.264, byte-stable.
"""

from __future__ import annotations

import shutil

from tutopanda.core.engine.provider_contract import JobContext, ProducedArtefact
from tutopanda.core.movie.timeline import ken_burns_for
from tutopanda.providers.render.clip import zoompan_filter
from tutopanda.providers.render.ffmpeg import ProgressCallback, run_ffmpeg
from tutopanda.providers.render.settings import EncodeSettings, frame_size, parse_settings
from tutopanda.providers.render.workspace import outbox_file, segment_index, work_directory

__all__ = ["render_still_video"]

_DEFAULT_SECONDS = 5


def render_still_video(context: JobContext, on_progress: ProgressCallback | None = None) -> ProducedArtefact:
    """Render the video job of ``context`` (blocking: run it in a thread) into an outbox MP4."""
    from tutopanda.providers.local.slides import render_slide

    settings = parse_settings(EncodeSettings, context.config, "local slides video")
    width, height = frame_size(context.inputs.get("Resolution"), context.inputs.get("AspectRatio"))
    seconds = context.inputs.get("SegmentDuration")
    seconds = seconds if isinstance(seconds, int | float) and seconds > 0 else _DEFAULT_SECONDS
    frames = max(1, round(seconds * settings.fps))
    prompt, style = context.inputs.get("Prompt"), context.inputs.get("Style")
    (artefact_id, _), *_ = context.produces
    segment = segment_index(context.loop_indices, artefact_id, context.job_id)
    with work_directory("still-video") as work:
        slide = render_slide(
            prompt if isinstance(prompt, str) else "",
            (width, height),
            style if isinstance(style, str) else None,
        )
        (work / "slide.png").write_bytes(slide)
        moving = zoompan_filter(ken_burns_for(segment, 0), frames, width, height, settings.fps, 2)
        args = [
            "-i", "slide.png", "-filter_complex", f"[0:v]{moving}[v]", "-map", "[v]", "-an",
            "-c:v", "libx264", "-preset", settings.preset, "-crf", str(settings.crf), "-profile:v", "high",
            "-pix_fmt", "yuv420p", "-r", str(settings.fps), "-threads", str(settings.threads),
            "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-movflags", "+faststart",
            "video.mp4",
        ]  # fmt: skip
        run_ffmpeg(
            args,
            cwd=work,
            expected_seconds=frames / settings.fps,
            on_progress=on_progress,
            what=f"rendering {artefact_id}",
        )
        final = outbox_file(".mp4")
        shutil.move(work / "video.mp4", final)
    diagnostics = {
        "width": width,
        "height": height,
        "fps": settings.fps,
        "duration": round(frames / settings.fps, 3),
    }
    return ProducedArtefact(artefact_id, mime_type="video/mp4", file=final, diagnostics=diagnostics)
