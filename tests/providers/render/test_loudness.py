"""Loudness of the exported movie: -16 LUFS, true peak under -1.5 dBTP, ducking depth, even segments.

Measured as a listener's meter would: ffmpeg's ``ebur128=peak=true`` on the final MP4 (after AAC), and
the music bed's level read through a narrow band-pass (the test bed is a 3 kHz tone, far above the test
voice's harmonics), under speech and in a pause.
"""

from __future__ import annotations

import asyncio
import math
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tutopanda.core.engine.provider_contract import ArtefactInput, ProducedArtefact
from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers.render import RenderHandler
from tutopanda.providers.render.exporter import limiter_chain
from tutopanda.providers.render.ffmpeg import ffmpeg_exe
from tutopanda.providers.render.loudness import (
    Span,
    block_gains,
    duck_curve,
    gated_loudness,
    merge_spans,
    mixed_momentary,
    step_curve,
)
from tutopanda.providers.render.settings import ExportSettings, parse_settings
from tutopanda.testing import EXPORT_PRODUCES, make_artefact_input, make_job_context

from .conftest import render_clips
from .media import band_rms, clip_context, loudness, narration, payload, tone
from .test_export import _timeline

Rendered = tuple[list[ArtefactInput], list[ArtefactInput]]


def _export(rendered: Rendered, bed: ArtefactInput | None, **config: Any) -> ProducedArtefact:
    clips, narrations = rendered
    inputs: dict[str, Any] = {
        "Timeline": _timeline(clips, narrations, bed),
        "Clips": [[clip] for clip in clips],
        "Resolution": "180p",
        "AspectRatio": "16:9",
        "BurnSubtitles": False,
    }
    if bed is not None:
        inputs["Music"] = bed
    context = make_job_context(
        "export", EXPORT_PRODUCES, inputs=inputs, provider="tutopanda", model="mp4-exporter", mode="live",
        config={"audioBitrate": "160k", **config},
    )  # fmt: skip
    handler = RenderHandler("tutopanda", "mp4-exporter", "local")
    return asyncio.run(handler.produce(context)).artefacts[0]


def _file(artefact: ProducedArtefact, tmp: Path, name: str) -> Path:
    path = tmp / name
    path.write_bytes(payload(artefact))
    return path


def _db(ratio: float) -> float:
    return 20 * math.log10(ratio)


# --- the maths, without ffmpeg -------------------------------------------------------------------


def test_gating_follows_bs1770() -> None:
    assert gated_loudness([-120.0] * 3 + [-20.0] * 50) == pytest.approx(-20.0)
    assert gated_loudness([-120.0] * 40) is None
    # Blocks 10 LU under the ungated mean are dropped: quiet breaths do not pull the figure down.
    assert gated_loudness([-20.0] * 50 + [-45.0] * 50) == pytest.approx(-20.0)
    # A span keeps only the blocks lying wholly inside it (block k covers (k-3)*0.1 .. (k+1)*0.1 s).
    series = [-30.0] * 30 + [-10.0] * 30
    assert gated_loudness(series, Span(3.0, 6.0)) == pytest.approx(-10.0)
    assert gated_loudness(series, Span(0.0, 2.9)) == pytest.approx(-30.0)


def test_short_silences_do_not_lift_the_music() -> None:
    spans = [Span(0.4, 2.0), Span(2.5, 4.0), Span(6.0, 8.0)]
    assert merge_spans(spans, 1.0) == [Span(0.4, 4.0), Span(6.0, 8.0)]
    curve = duck_curve(9.0, spans, duck_db=-12, min_pause=1.0, fall=0.35, rise=0.7)
    at = lambda seconds: _db(float(curve[round(seconds * 1000)]))  # noqa: E731
    assert at(2.25) == pytest.approx(-12)  # a 0.5 s gap between words stays ducked: no breathing
    assert at(1.0) == pytest.approx(-12) and at(7.0) == pytest.approx(-12)
    assert at(5.0) == pytest.approx(0.0)  # a 2 s pause: the music is back up
    assert at(8.9) > -6  # rising after the last words
    # Ramps, not steps: at most 0.2 dB per millisecond.
    assert np.max(np.abs(np.diff(20 * np.log10(curve)))) < 0.2


def test_the_mix_is_predicted_from_its_parts() -> None:
    voice, bed = [-20.0] * 40, [-20.0] * 40
    unity = block_gains(np.ones(5000), 40)
    assert np.allclose(unity, 1.0)
    # Two uncorrelated parts of equal loudness: +3 dB. A part at -6 dB of gain: a quarter of its power.
    assert gated_loudness(mixed_momentary([(voice, unity), (bed, unity)])) == pytest.approx(-16.99, abs=0.01)
    quarter = block_gains(np.full(5000, 0.5), 40)
    assert gated_loudness(mixed_momentary([(voice, quarter)])) == pytest.approx(-26.02, abs=0.01)


def test_segment_gains_change_only_at_the_boundaries() -> None:
    curve = step_curve(6.0, [0.0, 2.0, 4.0], [3.0, -6.0, 0.0])
    assert _db(float(curve[1000])) == pytest.approx(3.0)
    assert _db(float(curve[3000])) == pytest.approx(-6.0)
    assert _db(float(curve[5000])) == pytest.approx(0.0, abs=1e-6)
    changing = np.flatnonzero(np.abs(np.diff(curve)) > 1e-9) / 1000
    assert all(min(abs(t - 2.0), abs(t - 4.0)) <= 0.011 for t in changing)


@pytest.mark.parametrize(
    ("key", "value"),
    [("loudness", -40), ("loudness", -5), ("truePeak", 0.5), ("musicUnderVoice", 0), ("musicRise", 0)],
)
def test_loudness_settings_out_of_range_are_refused(key: str, value: float) -> None:
    with pytest.raises(ProviderConfigError, match=key):
        parse_settings(ExportSettings, {key: value}, "mp4-exporter")


def test_loudness_defaults() -> None:
    settings = ExportSettings()
    assert (settings.loudness, settings.true_peak, settings.music_under_voice) == (-16, -1.5, -14)


def test_the_limiter_catches_peaks_between_samples(tmp_path: Path) -> None:
    # A 12 kHz tone sampled at 45 degrees: every sample is 3 dB under the wave's real (true) peak, so a
    # limiter that only looks at samples lets it through. The exporter's runs 4x oversampled.
    source = "aevalsrc=0.999*sin(2*PI*12000*t+PI/4)+0.3*sin(2*PI*200*t):s=48000:d=3"
    chain = f"aformat=sample_fmts=fltp:channel_layouts=stereo,{limiter_chain(ExportSettings())}"
    command = [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", source, "-af", chain]
    command += ["-c:a", "pcm_f32le", str(tmp_path / "limited.wav")]
    subprocess.run(command, check=True)
    assert loudness(tmp_path / "limited.wav")["TP"] <= -1.9  # the ceiling: 0.5 dB under -1.5 dBTP


# --- the real movie ------------------------------------------------------------------------------


def test_the_movie_plays_at_minus_16_lufs_under_the_true_peak_ceiling(
    rendered: Rendered, tmp_path: Path
) -> None:
    video = _export(rendered, tone(8.0))
    figures = loudness(_file(video, tmp_path, "movie.mp4"))
    assert figures["I"] == pytest.approx(-16, abs=1.0)
    assert figures["TP"] <= -1.5
    figures_seen = video.diagnostics["loudness"]
    assert figures_seen["targetLufs"] == -16
    assert figures_seen["finalTruePeakDbtp"] <= -1.5  # the exporter checks its own output
    assert figures_seen["finalLufs"] == pytest.approx(figures["I"], abs=0.2)
    assert figures_seen["encodes"] == 1  # the prediction was good enough: one encode


def test_other_targets_are_met_too(rendered: Rendered, tmp_path: Path) -> None:
    video = _export(rendered, None, loudness=-23, truePeak=-3)
    figures = loudness(_file(video, tmp_path, "movie.mp4"))
    assert figures["I"] == pytest.approx(-23, abs=1.0)
    assert figures["TP"] <= -3


def test_the_music_dips_by_the_timeline_amount_under_speech(rendered: Rendered, tmp_path: Path) -> None:
    # Short ramps so the 1.2 s gap between segments 0 and 1 (1.4-2.6 s) reaches the full pause level.
    video = _export(rendered, tone(8.0), musicRise=0.2, musicFall=0.2)
    movie = _file(video, tmp_path, "movie.mp4")
    pause = band_rms(movie, 1.75, 0.5)
    speech = band_rms(movie, 2.8, 1.1)  # inside segment 1's narration (2.6-4.1 s)
    assert _db(speech / pause) == pytest.approx(-12, abs=1.5)  # the timeline's duckingDb
    # And under the voice it is quiet but there (not gated away like a compressor at rest).
    assert _db(speech) < -28


@pytest.mark.slow
def test_a_quiet_and_a_loud_narration_end_up_alike(tmp_path: Path) -> None:
    quiet_take = narration(0, 1.5, 180.0, amplitude=0.01)  # about -51 LUFS
    loud_take = narration(1, 1.5, 220.0, amplitude=0.95)  # about -11 LUFS
    contexts = [clip_context(0, 1.5, Narration=quiet_take), clip_context(1, 1.5, Narration=loud_take)]
    handler = RenderHandler("tutopanda", "segment-renderer", "local")
    clips: list[ArtefactInput] = []
    for segment, context in enumerate(contexts):
        (artefact,) = asyncio.run(handler.produce(context)).artefacts
        clip_id = f"Artifact:Clips.SegmentClip[{segment}]"
        clips.append(make_artefact_input(clip_id, "video", payload(artefact), "video/mp4"))
    narrations = [context.inputs["Narration"] for context in contexts]
    video = _export((clips, narrations), tone(8.0))
    movie = _file(video, tmp_path, "movie.mp4")
    whole = loudness(movie)
    assert whole["I"] == pytest.approx(-16, abs=1.0) and whole["TP"] <= -1.5
    quiet = loudness(movie, 0.5, 1.3)["I"]
    loud = loudness(movie, 2.9 + 0.5, 1.3)["I"]  # segment 1 starts at 2.7 s; its speech at 3.1 s
    assert quiet == pytest.approx(loud, abs=1.0)
    assert quiet == pytest.approx(-16, abs=2.0)  # speech sits a little over the integrated figure


@pytest.mark.slow
def test_the_levelled_export_is_byte_stable(tmp_path: Path) -> None:
    rendered = render_clips((1.0, 1.3))
    first = payload(_export(rendered, tone(1.5)))  # a looped bed
    assert payload(_export(rendered, tone(1.5))) == first
