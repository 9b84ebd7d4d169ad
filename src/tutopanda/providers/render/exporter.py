"""The exporter: join the segment clips without re-encoding video, mix the music, add subtitles.

Why a stream copy: clips are the expensive part and are already encoded with identical parameters, so
the concat demuxer with ``-c:v copy`` joins them in about the time it takes to copy the bytes. Editing
one segment therefore costs one clip render plus this cheap join. Audio *is* re-encoded (cheap): the
clips' narration is mixed with the music bed, looped or trimmed to the movie and ducked under the voice
with ``sidechaincompress`` (keyed by the narration), summed with ``amix normalize=0`` (the default
halves the voice) and limited. A soft ``mov_text`` subtitle track is muxed in, and SubRip and WebVTT
files are produced from the timeline's caption cues. ``BurnSubtitles`` draws them into the picture with
libass instead, which re-encodes the video (the documented trade-off).

No ``-shortest``: with a subtitle input it cuts the movie at the last cue. The video's end and
``amix duration=first`` (the narration) define the length.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tutopanda.core.errors import ProviderError
from tutopanda.core.json_file import validation_summary
from tutopanda.core.provider_contract import ArtefactInput, JobContext, ProducedArtefact
from tutopanda.core.timeline import TimelineDocument, cues_from_document, render_srt, render_vtt
from tutopanda.providers.render.clip import AUDIO_RATE
from tutopanda.providers.render.ffmpeg import ProgressCallback, probe, run_ffmpeg
from tutopanda.providers.render.settings import ExportSettings, parse_settings
from tutopanda.providers.render.workspace import artefact_groups, outbox_file, place, work_directory

__all__ = ["ducking_ratio", "export_command", "export_job"]

_SPEECH_OVER_THRESHOLD_DB = 14.0
"""How far narration typically sits above the compressor threshold (0.02, about -34 dBFS)."""


_FIXED_FRAMES = "asetnsamples=n=1024:p=0"


def ducking_ratio(ducking_db: float) -> float:
    """The ``sidechaincompress`` ratio that dips the music by about ``ducking_db`` under typical speech.

    A compressor reduces a signal ``over`` dB above threshold by ``over * (1 - 1/ratio)``; with speech
    about 14 dB over the threshold, -12 dB needs a ratio of 7. Approximate by nature: the dip follows
    the voice's level.
    """
    wanted = min(abs(ducking_db), _SPEECH_OVER_THRESHOLD_DB - 0.7)
    return round(min(20.0, _SPEECH_OVER_THRESHOLD_DB / (_SPEECH_OVER_THRESHOLD_DB - wanted)), 2)


def _font_dir() -> Path | None:
    try:
        import font_roboto
    except ImportError:  # pragma: no cover - a dependency
        return None
    return Path(font_roboto.Roboto).parent


def export_command(
    document: TimelineDocument,
    settings: ExportSettings,
    *,
    music: str | None,
    subtitles: str | None,
    burn: bool,
    output: str,
) -> list[str]:
    """ffmpeg arguments joining ``clips.txt`` (concat list) with ``music`` and ``subtitles`` (file names)."""
    inputs = ["-f", "concat", "-safe", "0", "-i", "clips.txt"]
    voice = f"[0:a]aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"
    chains: list[str] = []
    plan = document.music
    if music is not None and plan is not None:
        if plan.loop:
            inputs += ["-stream_loop", "-1"]
        inputs += ["-i", music]
        level = (
            f"[1:a]aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,"
            f"atrim=end={document.duration},asetpts=N/SR/TB,volume={plan.volume}"
        )
        if plan.ducking_db < 0:
            ratio = ducking_ratio(plan.ducking_db)
            # sidechaincompress output depends on how its inputs are chunked, which depends on thread
            # scheduling; fixed 1024-sample frames on both inputs make it byte-stable.
            chains += [
                f"{voice},{_FIXED_FRAMES},asplit=2[voice][key]",
                f"{level},{_FIXED_FRAMES}[bed]",
                f"[bed][key]sidechaincompress=threshold=0.02:ratio={ratio}:attack=20:release=600:makeup=1[duck]",
            ]
        else:
            chains += [f"{voice}[voice]", f"{level}[duck]"]
        chains.append("[voice][duck]amix=inputs=2:duration=first:normalize=0,alimiter=limit=0.95[a]")
    else:
        chains.append(f"{voice},alimiter=limit=0.95[a]")
    subtitle_input = None
    if subtitles is not None:  # the soft track is always included, burned in or not
        subtitle_input = sum(1 for arg in inputs if arg == "-i")
        inputs += ["-i", subtitles]
    video_map = "0:v"
    video_codec = ["-c:v", "copy"]
    if burn and subtitles is not None:
        style = f"FontName=Roboto,FontSize={settings.subtitle_font_size},Outline=2,MarginV=28"
        chains.append(
            f"[0:v]subtitles=filename={subtitles}:fontsdir=fonts:force_style='{style}',format=yuv420p[v]"
        )
        video_map = "[v]"
        video_codec = [
            "-c:v", "libx264", "-preset", settings.preset, "-crf", str(settings.crf), "-profile:v", "high",
            "-pix_fmt", "yuv420p", "-r", str(document.fps), "-threads", str(settings.threads),
            "-flags:v", "+bitexact",
        ]  # fmt: skip
    command = [*inputs, "-filter_complex", ";".join(chains), "-map", video_map, "-map", "[a]"]
    if subtitle_input is not None:
        command += ["-map", f"{subtitle_input}:s", "-c:s", "mov_text"]
        command += ["-metadata:s:s:0", f"language={settings.subtitle_language}"]
    command += [
        *video_codec,
        "-c:a", "aac", "-aac_coder", settings.aac_coder, "-b:a", settings.audio_bitrate,
        "-ar", str(AUDIO_RATE), "-ac", "2",
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
        "-movflags", "+faststart", output,
    ]  # fmt: skip
    return command


def _document(value: Any, job_id: str) -> TimelineDocument:
    try:
        if isinstance(value, str | bytes):
            return TimelineDocument.model_validate_json(value)
        return TimelineDocument.model_validate(value)
    except ValidationError as exc:
        raise ProviderError(
            f"{job_id}: the Timeline input is not a valid timeline: {validation_summary(exc)}",
            hint="rebuild the timeline job (see docs/timeline.md for the format)",
            retryable=False,
        ) from exc


def _clips(context: JobContext, document: TimelineDocument) -> list[ArtefactInput]:
    clips = [group[0] for group in artefact_groups(context.inputs.get("Clips")) if group]
    if not clips:
        raise ProviderError(f"{context.job_id}: no clips to join", hint="wire Clips to the export module")
    expected = [segment.clip_artefact_id for segment in document.segments]
    if expected and len(expected) != len(clips):
        raise ProviderError(
            f"{context.job_id}: the timeline has {len(expected)} segments but {len(clips)} clips were given",
            hint="the timeline and the export must see the same clips; rebuild the timeline",
        )
    for clip, wanted in zip(clips, expected, strict=False):
        if wanted is not None and clip.id != wanted:
            raise ProviderError(
                f"{context.job_id}: clip {clip.id} is not the timeline's {wanted}",
                hint="the timeline and the export must see the same clips; rebuild the timeline",
            )
    return clips


def _subtitle_format(artefact_id: str) -> str:
    name = artefact_id.rsplit(".", 1)[-1].lower()
    return "vtt" if "web" in name or "vtt" in name else "srt"


def export_job(context: JobContext, on_progress: ProgressCallback | None = None) -> list[ProducedArtefact]:
    """The ``export`` job (blocking): the final MP4 plus SubRip and WebVTT subtitles."""
    settings = parse_settings(ExportSettings, context.config, "mp4-exporter")
    document = _document(context.inputs.get("Timeline"), context.job_id)
    clips = _clips(context, document)
    cues = cues_from_document(document)
    srt, vtt = render_srt(cues), render_vtt(cues)
    burn = context.inputs.get("BurnSubtitles") is True
    music_input = context.inputs.get("Music")
    with work_directory("export") as work:
        names = [place(clip, work, f"clip{index:05d}.mp4").name for index, clip in enumerate(clips)]
        listing = "ffconcat version 1.0\n" + "".join(f"file '{name}'\n" for name in names)
        (work / "clips.txt").write_text(listing, encoding="utf-8")
        music = None
        if isinstance(music_input, ArtefactInput) and document.music is not None:
            music = place(music_input, work, "music.audio").name
        subtitles = None
        if cues:
            (work / "subs.srt").write_text(srt, encoding="utf-8")
            subtitles = "subs.srt"
            fonts = _font_dir()
            if burn and fonts is not None:
                (work / "fonts").symlink_to(fonts, target_is_directory=True)
        output = work / "movie.mp4"
        command = export_command(
            document, settings, music=music, subtitles=subtitles, burn=burn, output=output.name
        )
        run_ffmpeg(
            command,
            cwd=work,
            expected_seconds=document.duration,
            on_progress=on_progress,
            what="exporting the movie",
        )
        info = probe(output)
        final = outbox_file(".mp4")
        shutil.move(output, final)
    diagnostics: dict[str, Any] = {
        "duration": info.duration,
        "clips": len(clips),
        "captionCues": len(cues),
        "music": music is not None,
        "burnedSubtitles": burn and subtitles is not None,
        "videoCopied": not (burn and subtitles is not None),
    }
    results: list[ProducedArtefact] = []
    for artefact_id, kind in context.produces:
        if kind == "video":
            results.append(
                ProducedArtefact(artefact_id, mime_type="video/mp4", file=final, diagnostics=diagnostics)
            )
        elif kind == "text" and _subtitle_format(artefact_id) == "vtt":
            results.append(ProducedArtefact(artefact_id, mime_type="text/vtt", data=vtt.encode("utf-8")))
        elif kind == "text" and cues:
            results.append(
                ProducedArtefact(artefact_id, mime_type="application/x-subrip", data=srt.encode("utf-8"))
            )
        elif kind == "text":
            results.append(
                ProducedArtefact(artefact_id, status="failed", error="the timeline has no caption cues")
            )
        else:
            results.append(
                ProducedArtefact(
                    artefact_id, status="failed", error=f"the exporter cannot produce a {kind} artefact"
                )
            )
    return results
