"""Movies without narration (image-only, music-only, video-only): silent clips timed by the movie's
Duration, and music that keeps its level because there is no voice to duck under."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tutopanda.core.engine.provider_contract import ArtefactInput
from tutopanda.core.errors import ProviderError
from tutopanda.providers.render import RenderHandler
from tutopanda.providers.render.clip import ClipLayout, clip_command
from tutopanda.providers.render.settings import ClipSettings
from tutopanda.testing import EXPORT_PRODUCES, make_artefact_input, make_job_context

from .media import audio_rms, band_rms, clip_context, frame_count, info_of, loudness, payload, tone

TEXTS = ["Magma rises. It gathers under the crust.", "Pressure builds until the crust breaks."]


def _silent_clip(segment: int, duration: int = 6, segments: int = 2) -> bytes:
    context = clip_context(segment, 0.0, Narration=None, Duration=duration, NumOfSegments=segments)
    handler = RenderHandler("tutopanda", "segment-renderer", "local")
    (artefact,) = asyncio.run(handler.produce(context)).artefacts
    assert artefact.diagnostics["silent"] is True
    return payload(artefact)


def test_the_command_of_a_silent_clip_reads_no_narration_and_makes_silence() -> None:
    layout = ClipLayout(320, 180, 90, None, ("still000.png",), overlays=())
    command = clip_command(layout, ClipSettings(), "clip.mp4")
    assert command.count("-i") == 1  # the still only
    graph = command[command.index("-filter_complex") + 1]
    assert "anullsrc" in graph and "[1:a]" not in graph


def test_a_silent_clip_lasts_its_share_of_the_duration_with_a_silent_track(tmp_path: Path) -> None:
    data = _silent_clip(0)
    info = info_of(data, tmp_path)
    (audio,) = info.of_type("audio")
    assert (audio.codec, audio.sample_rate) == ("aac", 48000)  # joins with narrated clips' settings
    assert frame_count(tmp_path / "probe.mp4") == 90  # 6 s / 2 segments = 3 s at 30 fps
    assert audio_rms(tmp_path / "probe.mp4") < 1e-4


def test_a_clip_with_neither_narration_nor_duration_says_what_to_wire() -> None:
    context = clip_context(0, 0.0, Narration=None)
    with pytest.raises(ProviderError) as caught:
        asyncio.run(RenderHandler("tutopanda", "segment-renderer", "local").produce(context))
    assert "no Narration audio and no Duration" in caught.value.message
    assert caught.value.hint and "timed-clip" in caught.value.hint


def _timeline(clips: list[ArtefactInput], bed: ArtefactInput) -> Any:
    context = make_job_context(
        "timeline", [("Artifact:Timeline.Timeline", "json")],
        inputs={"Clips": [[clip] for clip in clips], "Captions": [[text] for text in TEXTS], "Music": bed},
        provider="tutopanda", model="ordered-timeline", mode="live",
    )  # fmt: skip
    handler = RenderHandler("tutopanda", "ordered-timeline", "local")
    (artefact,) = asyncio.run(handler.produce(context)).artefacts
    return json.loads(artefact.data or b"")


def test_music_without_narration_is_at_the_target_loudness_and_never_ducked(tmp_path: Path) -> None:
    clips = [
        make_artefact_input(f"Artifact:Clips.SegmentClip[{i}]", "video", _silent_clip(i), "video/mp4")
        for i in range(2)
    ]
    bed = tone(6.0, amplitude=0.2)
    timeline = _timeline(clips, bed)
    assert not any(track["kind"] == "narration" for track in timeline["tracks"])
    context = make_job_context(
        "export", EXPORT_PRODUCES,
        inputs={"Timeline": timeline, "Clips": [[c] for c in clips], "Music": bed, "Resolution": "180p"},
        provider="tutopanda", model="mp4-exporter", mode="live",
    )  # fmt: skip
    video, *_ = asyncio.run(RenderHandler("tutopanda", "mp4-exporter", "local").produce(context)).artefacts
    movie = tmp_path / "movie.mp4"
    movie.write_bytes(payload(video))
    assert loudness(movie)["I"] == pytest.approx(-16.0, abs=0.6)
    # Mid-segment (where a voice would duck it) the bed is as loud as around the cut between segments.
    middle, cut = band_rms(movie, 1.2, 0.8), band_rms(movie, 2.7, 0.6)
    assert middle == pytest.approx(cut, rel=0.15)
