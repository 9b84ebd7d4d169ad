"""The exporter: join the segment clips without re-encoding video, mix the music, add subtitles.

Why a stream copy: clips are the expensive part and are already encoded with identical parameters, so
the concat demuxer with ``-c:v copy`` joins them in about the time it takes to copy the bytes. Editing
one segment therefore costs one clip render plus this cheap join. A soft ``mov_text`` subtitle track is
muxed in, and SubRip and WebVTT files are produced from the timeline's caption cues. ``BurnSubtitles``
draws them into the picture with libass instead, which re-encodes the video (the documented trade-off).

Audio *is* re-encoded, to sound like online video (-16 LUFS integrated, true peak <= -1.5 dBTP, music
ducked ~14 LU under the voice). Audio-only passes cost a fraction of a second per minute, so we measure
rather than guess (see :mod:`~tutopanda.providers.render.loudness` for the maths and the ducking design):

1. *Sources*: one decode gives the momentary loudness of the narration and of the music bed. Each
   segment's narration gets its own gain to the target, so a quiet take and a loud take sound alike
   (the voice level matters more than the integrated figure); the change happens between segments,
   where the clips are silent. The bed gets the gain that puts it ``musicUnderVoice`` under the voice
   while ducked, ``duckingDb`` higher in pauses (the timeline's ``volume`` scales it relative to the
   default 0.35).
2. *Mix*: voice and bed are multiplied by their gain curves (``amultiply``) and summed (``amix
   normalize=0``). Their loudness is predicted from the measured block powers times the curves' block
   gains (loudness is a power measure, the voice and the bed are uncorrelated; this lands within a
   tenth of a LU), which gives a first master gain. The limiter then takes 0.1-0.7 LU off real voices'
   peaks, which only a measurement tells: the mix is measured once through the final pass's limiter at
   that gain, and the residual corrects the master gain.
3. *Export*: the same graph with the master gain, a linear gain (no dynamic "loudnorm", which pumps),
   then a look-ahead limiter run at 4x the sample rate (``aresample=192000``) so that it catches the
   peaks between samples, ceiling 0.5 dB under ``truePeak`` to leave room for AAC's overshoot.
4. *Check*: the encoded audio is measured as a player decodes it. Should it land more than 0.5 LU off
   (the limiter took more than predicted) or should AAC have overshot the ceiling (sustained loud
   treble can), it is encoded again with the master gain and the limiter margin corrected. So the
   promise holds for the file, not only for the filter graph.

Every stateful filter gets fixed-size frames, and curves are precomputed files, so the same inputs give
the same bytes whatever ffmpeg's thread scheduling.

No ``-shortest``: with a subtitle input it cuts the movie at the last cue. The video's end and
``amix duration=first`` (the narration) define the length.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tutopanda.core.engine.provider_contract import ArtefactInput, JobContext, ProducedArtefact
from tutopanda.core.errors import ProviderError
from tutopanda.core.movie.timeline import (
    CaptionCue,
    TimelineDocument,
    cues_from_document,
    render_ass,
    render_srt,
    render_vtt,
)
from tutopanda.core.store.json_file import validation_summary
from tutopanda.providers.render.clip import AUDIO_RATE
from tutopanda.providers.render.ffmpeg import ProgressCallback, probe, run_ffmpeg
from tutopanda.providers.render.loudness import (
    ENVELOPE_RATE,
    MEASURE_FRAME,
    Span,
    block_gains,
    duck_curve,
    gated_loudness,
    mixed_momentary,
    read_momentary,
    step_curve,
    write_envelope,
)
from tutopanda.providers.render.settings import ExportSettings, parse_settings
from tutopanda.providers.render.workspace import artefact_groups, outbox_file, place, work_directory

__all__ = ["AudioLevels", "export_command", "export_job", "limiter_chain", "measure_output", "plan_levels"]

_FIXED_FRAMES = "asetnsamples=n=1024:p=0"
_DEFAULT_MUSIC_VOLUME = 0.35
"""The timeline's default ``volume``: the bed sits exactly ``musicUnderVoice`` under the voice at it."""
_GAIN_RANGE = (-30.0, 40.0)
"""Per-segment narration gains are kept in this range (dB); a near-silent take is not blown up to noise."""
_ATTEMPTS = 3
"""Encodes tried to meet the targets (each corrects the master gain and the limiter's margin)."""
_LOUDNESS_TOLERANCE = 0.5
"""How far (LU) the encoded movie may land from ``loudness`` before the audio is encoded again."""
_VOICE_GAIN, _MUSIC_GAIN = "voice.gain", "music.gain"


@dataclass(frozen=True)
class AudioLevels:
    """What the measurements decided: gains in dB (rounded to 0.01 so the command is byte-stable)."""

    segment_gains: tuple[float, ...] = ()
    """Gain of each segment's narration; empty for one gain (``voice_gain``) over the whole movie."""
    voice_gain: float = 0.0
    music_gain: float | None = None
    """Gain of the bed in pauses; None plays no music."""
    master_gain: float = 0.0
    limiter_margin: float = 0.5
    """How far under ``truePeak`` the limiter aims: AAC encoding adds overshoot between samples."""
    measured: dict[str, Any] = field(default_factory=dict, compare=False)
    """Figures for the job's diagnostics (LUFS of the sources and the mix)."""


def _audio_format(label: str) -> str:
    return f"[{label}]aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"


def _source_inputs(document: TimelineDocument, music: str | None) -> list[str]:
    inputs = ["-f", "concat", "-safe", "0", "-i", "clips.txt"]
    if music is not None and document.music is not None:
        if document.music.loop:
            inputs += ["-stream_loop", "-1"]
        inputs += ["-i", music]
    return inputs


def _bed_chain(document: TimelineDocument) -> str:
    return f"{_audio_format('1:a')},atrim=end={document.duration},asetpts=N/SR/TB"


def _db(value: float) -> str:
    return f"{value:.2f}dB"


def limiter_chain(settings: ExportSettings, margin: float = 0.5) -> str:
    """Linear gain is applied before; this holds true peaks: a look-ahead limiter at 4x the sample rate.

    The ceiling is ``margin`` dB under ``truePeak``, headroom for the encoder's overshoot.
    """
    ceiling = 10 ** ((settings.true_peak - margin) / 20)
    return (
        f"aresample={AUDIO_RATE * 4},asetnsamples=n=4096:p=0,"
        f"alimiter=limit={ceiling:.5f}:attack=5:release=80:level=0:latency=1,aresample={AUDIO_RATE}"
    )


def _mix_chains(
    document: TimelineDocument, levels: AudioLevels, first_curve: int
) -> tuple[list[str], list[str]]:
    """(extra inputs, filter chains ending in ``[mix]``): voice and bed with their gain curves, summed."""
    inputs: list[str] = []
    chains: list[str] = []
    curve = first_curve

    def curve_input(name: str) -> str:
        nonlocal curve
        inputs.extend(["-f", "f32le", "-ar", str(ENVELOPE_RATE), "-ac", "2", "-i", name])
        curve += 1
        return f"{_audio_format(f'{curve - 1}:a')}"

    voice = _audio_format("0:a")
    if levels.segment_gains:
        chains += [f"{voice}[v0]", f"{curve_input(_VOICE_GAIN)}[vg]", "[v0][vg]amultiply[voice]"]
    else:
        chains.append(f"{voice},volume={_db(levels.voice_gain)}[voice]")
    plan = document.music
    if levels.music_gain is None or plan is None:
        chains.append(f"[voice]volume={_db(levels.master_gain)}[mix]")
        return inputs, chains
    bed = f"{_bed_chain(document)},volume={_db(levels.music_gain)}"
    if plan.ducking_db < 0:
        chains += [f"{bed}[b0]", f"{curve_input(_MUSIC_GAIN)}[bg]", "[b0][bg]amultiply[bed]"]
    else:
        chains.append(f"{bed}[bed]")
    chains.append(
        f"[voice][bed]amix=inputs=2:duration=first:normalize=0,{_FIXED_FRAMES},"
        f"volume={_db(levels.master_gain)}[mix]"
    )
    return inputs, chains


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
    levels: AudioLevels | None = None,
    burn_file: str | None = None,
) -> list[str]:
    """ffmpeg arguments joining ``clips.txt`` (concat list) with ``music`` and ``subtitles`` (file names).

    ``levels`` come from :func:`plan_levels` (its curve files must be in the work directory); without
    them the narration is only limited, and no music is mixed.
    """
    levels = levels or AudioLevels()
    inputs = _source_inputs(document, music if levels.music_gain is not None else None)
    curve_inputs, chains = _mix_chains(document, levels, sum(1 for arg in inputs if arg == "-i"))
    inputs += curve_inputs
    chains.append(f"[mix]{limiter_chain(settings, levels.limiter_margin)}[a]")
    subtitle_input = None
    if subtitles is not None:  # the soft track is always included, burned in or not
        subtitle_input = sum(1 for arg in inputs if arg == "-i")
        inputs += ["-i", subtitles]
    video_map = "0:v"
    video_codec = ["-c:v", "copy"]
    if burn and subtitles is not None:
        style = f"FontName=Roboto,FontSize={settings.subtitle_font_size},Outline=2,MarginV=28"
        drawn = burn_file or subtitles  # an .ass file for karaoke, else the SubRip cues
        chains.append(
            f"[0:v]subtitles=filename={drawn}:fontsdir=fonts:force_style='{style}',format=yuv420p[v]"
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


def _measure(work: Path, inputs: list[str], chains: dict[str, str], what: str) -> dict[str, list[float]]:
    """Run ``chains`` (name -> chain without its sink) to a null output; their momentary loudness series."""
    graph, maps = [], []
    for name, chain in chains.items():
        graph.append(
            f"{chain},{MEASURE_FRAME},ebur128=metadata=1,"
            f"ametadata=mode=print:key=lavfi.r128.M:file={name}.loudness[{name}]"
        )
        maps += ["-map", f"[{name}]"]
    run_ffmpeg([*inputs, "-filter_complex", ";".join(graph), *maps, "-f", "null", "-"], cwd=work, what=what)
    return {name: read_momentary(work / f"{name}.loudness") for name in chains}


def _rounded(value: float) -> float:
    return round(value, 2) + 0.0  # + 0.0 turns -0.0 into 0.0


def _gain_to(target: float, loudness: float) -> float:
    """The gain (dB) bringing ``loudness`` to ``target``, within :data:`_GAIN_RANGE`."""
    return _rounded(min(max(target - loudness, _GAIN_RANGE[0]), _GAIN_RANGE[1]))


def plan_levels(
    work: Path, document: TimelineDocument, settings: ExportSettings, music: str | None
) -> AudioLevels:
    """Measure the narration and the bed, then the mix through the limiter; write the gain curves.

    Two audio-only ffmpeg runs in ``work`` (see the module docstring). The curve files are named in the
    command :func:`export_command` builds from the returned levels.
    """
    target = settings.loudness
    plan = document.music if music is not None else None
    sources = {"voice": _audio_format("0:a")}
    if plan is not None and plan.volume > 0:
        sources["bed"] = _bed_chain(document)
    series = _measure(work, _source_inputs(document, music), sources, "measuring the narration loudness")
    voice = series["voice"]
    whole = gated_loudness(voice)
    measured: dict[str, Any] = {"narrationLufs": None if whole is None else round(whole, 2)}
    voice_gain = 0.0 if whole is None else _gain_to(target, whole)
    segment_gains: tuple[float, ...] = ()
    voice_curve = step_curve(document.duration, [0.0], [voice_gain])
    if settings.level_segments and len(document.segments) > 1:
        found = [gated_loudness(voice, Span(s.start, s.end)) for s in document.segments]
        measured["segmentLufs"] = [None if value is None else round(value, 2) for value in found]
        segment_gains = tuple(voice_gain if value is None else _gain_to(target, value) for value in found)
        voice_curve = step_curve(document.duration, [s.start for s in document.segments], segment_gains)
        write_envelope(work / _VOICE_GAIN, voice_curve)
    parts = [(voice, block_gains(voice_curve, len(voice)))]
    music_gain = None
    bed = gated_loudness(series["bed"]) if "bed" in series and plan is not None else None
    if bed is not None and plan is not None:
        measured["musicLufs"] = round(bed, 2)
        # The ducked bed sits musicUnderVoice under the voice; pauses are duckingDb higher.
        pause_level = target + settings.music_under_voice - plan.ducking_db
        music_gain = _rounded(pause_level - bed + 20 * math.log10(plan.volume / _DEFAULT_MUSIC_VOLUME))
        bed_curve = step_curve(document.duration, [0.0], [music_gain])
        if plan.ducking_db < 0:
            # Duck under the narration that is there: a movie without a voice (image-only, music-only)
            # keeps its music level, instead of dipping it under every segment's silent text window.
            speech = [
                Span(clip.start, clip.start + clip.duration)
                for track in document.track("narration")
                for clip in track.clips
            ]
            duck = duck_curve(
                document.duration, speech, duck_db=plan.ducking_db, min_pause=settings.music_min_pause,
                fall=settings.music_fall, rise=settings.music_rise,
            )  # fmt: skip
            write_envelope(work / _MUSIC_GAIN, duck)
            bed_curve = bed_curve * duck
        parts.append((series["bed"], block_gains(bed_curve, len(series["bed"]))))
    # The mix's loudness follows from the parts' block powers: the master gain that would reach the
    # target without a limiter. The limiter then takes some loudness off the peaks (0.1-0.7 LU with
    # real voices), which only a measurement after it tells: the mix is measured through it once.
    predicted = gated_loudness(mixed_momentary(parts))
    master = 0.0 if predicted is None else _master(target - predicted)
    levels = AudioLevels(segment_gains, voice_gain, music_gain, master, measured=measured)
    inputs = _source_inputs(document, music if music_gain is not None else None)
    curve_inputs, chains = _mix_chains(document, levels, sum(1 for arg in inputs if arg == "-i"))
    mix_chain = f"{';'.join(chains)};[mix]{limiter_chain(settings, levels.limiter_margin)}"
    series = _measure(work, inputs + curve_inputs, {"mix": mix_chain}, "measuring the mix")
    limited = gated_loudness(series["mix"])
    if limited is not None:
        master = _master(master + target - limited)
        if segment_gains:
            # The limiter takes more off a segment with sharper peaks: even the segments out again.
            after = [gated_loudness(series["mix"], Span(s.start, s.end)) for s in document.segments]
            segment_gains = tuple(
                gain if level is None else _gain_to(gain + limited, level)
                for gain, level in zip(segment_gains, after, strict=True)
            )
            voice_curve = step_curve(document.duration, [s.start for s in document.segments], segment_gains)
            write_envelope(work / _VOICE_GAIN, voice_curve)
    measured.update(
        predictedMixLufs=None if predicted is None else round(predicted, 2),
        limitedMixLufs=None if limited is None else round(limited, 2),
    )
    return dataclasses.replace(levels, segment_gains=segment_gains, master_gain=master)


def _master(gain: float) -> float:
    return _rounded(min(max(gain, -20.0), 20.0))


def measure_output(work: Path, movie: str) -> tuple[float | None, float]:
    """(integrated LUFS, true peak dBTP) of the audio of ``movie`` as a player decodes it."""
    chain = (
        f"[0:a]{MEASURE_FRAME},ebur128=metadata=1:peak=true,ametadata=mode=print:file=final.loudness[final]"
    )
    run_ffmpeg(
        ["-i", movie, "-filter_complex", chain, "-map", "[final]", "-f", "null", "-"],
        cwd=work,
        what="measuring the exported audio",
    )
    series = work / "final.loudness"
    peaks = read_momentary(series, "lavfi.r128.true_peak")
    peak = max(peaks, default=0.0)
    return gated_loudness(read_momentary(series)), 20 * math.log10(peak) if peak > 0 else -120.0


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


@dataclass(frozen=True)
class _Subtitles:
    """The subtitle files written into the work directory: the SubRip ``track`` muxed in (None without
    cues) and, for burned karaoke, the ``burn`` file drawn instead of it."""

    track: str | None = None
    burn: str | None = None


@dataclass(frozen=True)
class _Encoded:
    """The final encode: the levels it used, how many ``encodes`` it took and what it measured."""

    levels: AudioLevels
    encodes: int
    lufs: float | None
    peak: float


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
        subtitles = _write_subtitles(work, document, settings, cues, srt, burn) if cues else _Subtitles()
        output = work / "movie.mp4"
        levels = plan_levels(work, document, settings, music)
        encoded = _encode(work, document, settings, levels, music, subtitles, burn, output.name, on_progress)
        info = probe(output)
        final = outbox_file(".mp4")
        shutil.move(output, final)
    burned = burn and subtitles.track is not None
    diagnostics: dict[str, Any] = {
        "duration": info.duration,
        "clips": len(clips),
        "captionCues": len(cues),
        "music": encoded.levels.music_gain is not None,
        "loudness": _loudness_diagnostics(encoded, settings),
        "burnedSubtitles": burned,
        "videoCopied": not burned,
    }
    return [
        _result(artefact_id, kind, final, diagnostics, srt, vtt, bool(cues))
        for artefact_id, kind in context.produces
    ]


def _write_subtitles(
    work: Path,
    document: TimelineDocument,
    settings: ExportSettings,
    cues: list[CaptionCue],
    srt: str,
    burn: bool,
) -> _Subtitles:
    """Write the SubRip cues (the soft track, and what is burned in), an ASS file when karaoke is burned
    in and the narration carried word times, and link the fonts libass draws burned subtitles with."""
    (work / "subs.srt").write_text(srt, encoding="utf-8")
    burn_file = None
    if burn and settings.subtitle_style == "karaoke" and any(cue.words for cue in cues):
        ass = render_ass(cues, width=document.width, height=document.height, karaoke=True)
        (work / "subs.ass").write_text(ass, encoding="utf-8")  # words light up as spoken
        burn_file = "subs.ass"
    fonts = _font_dir()
    if burn and fonts is not None:
        (work / "fonts").symlink_to(fonts, target_is_directory=True)
    return _Subtitles("subs.srt", burn_file)


def _encode(
    work: Path,
    document: TimelineDocument,
    settings: ExportSettings,
    levels: AudioLevels,
    music: str | None,
    subtitles: _Subtitles,
    burn: bool,
    output: str,
    on_progress: ProgressCallback | None,
) -> _Encoded:
    """Encode the movie, measure its audio as a player decodes it, and encode again (up to
    :data:`_ATTEMPTS` times) while it misses the loudness or true-peak target."""
    for attempt in range(_ATTEMPTS):
        command = export_command(
            document, settings, music=music, subtitles=subtitles.track, burn=burn, output=output,
            levels=levels, burn_file=subtitles.burn,
        )  # fmt: skip
        run_ffmpeg(
            command,
            cwd=work,
            expected_seconds=document.duration,
            on_progress=on_progress,
            what="exporting the movie",
        )
        final_lufs, final_peak = measure_output(work, output)
        over = final_peak - settings.true_peak
        off = 0.0 if final_lufs is None else settings.loudness - final_lufs
        if (over <= 0 and abs(off) <= _LOUDNESS_TOLERANCE) or attempt == _ATTEMPTS - 1:
            break
        # Rare: the limiter took more loudness than predicted, or the encoder overshot the ceiling
        # (sustained loud treble). Correct the master gain and aim the limiter that much lower.
        margin = _rounded(levels.limiter_margin + max(0.0, over + 0.1))
        master = _master(levels.master_gain + off)
        levels = dataclasses.replace(levels, limiter_margin=margin, master_gain=master)
    return _Encoded(levels, attempt + 1, final_lufs, final_peak)


def _loudness_diagnostics(encoded: _Encoded, settings: ExportSettings) -> dict[str, Any]:
    """The loudness figures the export reports: what was measured, the gains used and the result."""
    levels = encoded.levels
    return {
        **levels.measured,
        "targetLufs": settings.loudness,
        "segmentGainsDb": list(levels.segment_gains),
        "musicGainDb": levels.music_gain,
        "masterGainDb": levels.master_gain,
        "limiterMarginDb": levels.limiter_margin,
        "encodes": encoded.encodes,
        "finalLufs": None if encoded.lufs is None else round(encoded.lufs, 2),
        "finalTruePeakDbtp": round(encoded.peak, 2),
    }


def _result(
    artefact_id: str,
    kind: str,
    movie: Path,
    diagnostics: dict[str, Any],
    srt: str,
    vtt: str,
    has_cues: bool,
) -> ProducedArtefact:
    """The artefact the job produces for ``artefact_id``: the movie, WebVTT or SubRip subtitles, or a
    failure (SubRip without cues, a kind the exporter does not make)."""
    if kind == "video":
        return ProducedArtefact(artefact_id, mime_type="video/mp4", file=movie, diagnostics=diagnostics)
    if kind == "text" and _subtitle_format(artefact_id) == "vtt":
        return ProducedArtefact(artefact_id, mime_type="text/vtt", data=vtt.encode("utf-8"))
    if kind == "text" and has_cues:
        return ProducedArtefact(artefact_id, mime_type="application/x-subrip", data=srt.encode("utf-8"))
    if kind == "text":
        return ProducedArtefact(artefact_id, status="failed", error="the timeline has no caption cues")
    return ProducedArtefact(
        artefact_id, status="failed", error=f"the exporter cannot produce a {kind} artefact"
    )
