"""The exporter: a stream-copy join of real clips, ducked music, soft subtitles, SRT and VTT."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tutopanda.core.engine.provider_contract import ArtefactInput, JobContext, ProducedArtefact
from tutopanda.core.errors import ProviderError
from tutopanda.core.logger import MemoryLogger
from tutopanda.core.movie.timeline import TimelineDocument
from tutopanda.providers.render import PROGRESS_MESSAGE, RenderHandler
from tutopanda.providers.render.ffmpeg import ffmpeg_exe
from tutopanda.testing import EXPORT_PRODUCES, ProviderContractTests, make_job_context, sample_job_context

from .conftest import NARRATION_SECONDS, render_clips
from .media import audio_rms, info_of, music, payload

Rendered = tuple[list[ArtefactInput], list[ArtefactInput]]
TEXTS = ["Magma rises. It gathers.", "Pressure builds until the crust breaks.", "Lava flows downhill."]


def _timeline(clips: list[ArtefactInput], narrations: list[ArtefactInput], bed: ArtefactInput | None) -> Any:
    inputs: dict[str, Any] = {
        "Clips": [[clip] for clip in clips],
        "Audio": [[narration] for narration in narrations],
        "Captions": [[text] for text in TEXTS[: len(clips)]],
        "MovieTitle": "Volcanoes",
    }
    if bed is not None:
        inputs["Music"] = bed
    context = make_job_context(
        "timeline", [("Artifact:Timeline.Timeline", "json")], inputs=inputs, provider="tutopanda",
        model="ordered-timeline", mode="live",
    )  # fmt: skip
    (artefact,) = asyncio.run(
        RenderHandler("tutopanda", "ordered-timeline", "local").produce(context)
    ).artefacts
    return json.loads(artefact.data or b"")


def _export(
    rendered: Rendered, *, burn: bool = False, with_music: bool = True, **changes: Any
) -> list[ProducedArtefact]:
    clips, narrations = rendered
    bed = music(2.5) if with_music else None
    inputs: dict[str, Any] = {
        "Timeline": _timeline(clips, narrations, bed),
        "Clips": [[clip] for clip in clips],
        "Resolution": "180p",
        "AspectRatio": "16:9",
        "BurnSubtitles": burn,
    }
    if bed is not None:
        inputs["Music"] = bed
    context = make_job_context(
        "export", EXPORT_PRODUCES, inputs=inputs, provider="tutopanda", model="mp4-exporter", mode="live",
        config={"audioBitrate": "160k"},
    )  # fmt: skip
    context = dataclasses.replace(context, **changes)
    return asyncio.run(RenderHandler("tutopanda", "mp4-exporter", "local").produce(context)).artefacts


def _annexb(path: Path) -> bytes:
    """The raw H.264 stream of a file (Annex B), to compare encoded pictures byte for byte."""
    command = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy"]
    command += ["-bsf:v", "h264_mp4toannexb", "-f", "h264", "-"]
    return subprocess.run(command, capture_output=True, check=True).stdout


@pytest.fixture(scope="module")
def exported(rendered: Rendered) -> list[ProducedArtefact]:
    return _export(rendered)


def test_the_movie_has_video_audio_and_a_soft_subtitle_track(
    exported: list[ProducedArtefact], tmp_path: Path
) -> None:
    video, srt, vtt = exported
    assert (video.mime_type, srt.mime_type, vtt.mime_type) == (
        "video/mp4",
        "application/x-subrip",
        "text/vtt",
    )
    info = info_of(payload(video), tmp_path, "movie.mp4")
    assert [(s.type, s.codec) for s in info.streams] == [
        ("video", "h264"),
        ("audio", "aac"),
        ("subtitle", "mov_text"),
    ]
    assert info.of_type("subtitle")[0].language == "eng"
    clip_seconds = sum(0.4 + seconds + 0.8 for seconds in NARRATION_SECONDS)
    assert info.duration == pytest.approx(clip_seconds, abs=0.1)
    assert audio_rms(tmp_path / "movie.mp4") > 0.02  # narration and music, not silence
    assert video.diagnostics["videoCopied"] is True


def test_the_music_is_ducked_under_the_narration(rendered: Rendered, tmp_path: Path) -> None:
    (video, *_) = _export(rendered)
    (plain, *_) = _export(rendered, with_music=False)
    (tmp_path / "music.mp4").write_bytes(payload(video))
    (tmp_path / "plain.mp4").write_bytes(payload(plain))
    # The tail of segment 0 (1.5-2.2 s) has no speech: the music is there at full level only with music.
    assert audio_rms(tmp_path / "plain.mp4", 1.6, 0.5) < 0.005
    assert audio_rms(tmp_path / "music.mp4", 1.6, 0.5) > 0.01


def test_subtitles_cover_every_segment(exported: list[ProducedArtefact], rendered: Rendered) -> None:
    _, srt, vtt = exported
    srt_text, vtt_text = payload(srt).decode(), payload(vtt).decode()
    assert vtt_text.startswith("WEBVTT\n\n00:00:00.400 --> ")
    assert srt_text.startswith("1\n00:00:00,400 --> ")
    for text in TEXTS:
        for sentence in text.split(". "):
            assert sentence in srt_text and sentence in vtt_text
    assert "00:00:02,600 --> " in srt_text  # segment 1 speaks 0.4 s into its clip at 2.2 s
    assert srt_text.count(" --> ") == vtt_text.count(" --> ") == 4


def test_the_join_copies_the_clips_and_one_edit_touches_one_clip(
    rendered: Rendered, exported: list[ProducedArtefact], tmp_path: Path
) -> None:
    clips, _ = rendered
    edited_clips, _ = render_clips((NARRATION_SECONDS[0], 1.7, NARRATION_SECONDS[2]))
    assert [payload_of(c) for c in edited_clips[::2]] == [payload_of(c) for c in clips[::2]]
    assert payload_of(edited_clips[1]) != payload_of(clips[1])
    edited = _export(rendered_with(edited_clips))
    assert payload(edited[0]) != payload(exported[0])
    movie = tmp_path / "movie.mp4"
    movie.write_bytes(payload(edited[0]))
    first = tmp_path / "clip0.mp4"
    first.write_bytes(payload_of(edited_clips[0]))
    assert _annexb(movie).startswith(_annexb(first))  # the pictures were copied, not re-encoded


def payload_of(artefact: ArtefactInput) -> bytes:
    return artefact.read_bytes()


def rendered_with(clips: list[ArtefactInput]) -> Rendered:
    from .media import narration

    seconds = (NARRATION_SECONDS[0], 1.7, NARRATION_SECONDS[2])
    return clips, [narration(i, s, 180.0 + 40 * i) for i, s in enumerate(seconds)]


def test_burning_subtitles_re_encodes_and_keeps_the_soft_track(rendered: Rendered, tmp_path: Path) -> None:
    logger = MemoryLogger()
    video, *_ = _export(rendered, burn=True, logger=logger)
    info = info_of(payload(video), tmp_path, "burned.mp4")
    assert [s.codec for s in info.streams] == ["h264", "aac", "mov_text"]
    assert video.diagnostics["videoCopied"] is False and video.diagnostics["burnedSubtitles"] is True
    fractions = [fields["fraction"] for _, message, fields in logger.records if message == PROGRESS_MESSAGE]
    assert fractions and fractions[-1] == 1.0


def test_the_export_is_deterministic(rendered: Rendered, exported: list[ProducedArtefact]) -> None:
    assert [payload(a) for a in _export(rendered)] == [payload(a) for a in exported]


def test_a_timeline_for_other_clips_is_refused(rendered: Rendered) -> None:
    clips, narrations = rendered
    with pytest.raises(ProviderError, match="3 segments but 2 clips"):
        _export(
            rendered,
            inputs={"Timeline": _timeline(clips, narrations, None), "Clips": [[c] for c in clips[:2]]},
        )


class TestExportContract(ProviderContractTests):
    def make_handler(self) -> RenderHandler:
        return RenderHandler("tutopanda", "mp4-exporter", "local")

    def sample_contexts(self) -> list[JobContext]:
        return [
            sample_job_context(
                "export",
                provider="tutopanda",
                model="mp4-exporter",
                mode="live",
                produces=list(EXPORT_PRODUCES),
            )
        ]

    def failing_contexts(self) -> list[JobContext]:
        context = sample_job_context("export", provider="tutopanda", model="mp4-exporter", mode="live")
        broken = {**context.inputs, "Timeline": {"id": "t", "duration": -1}}
        return [dataclasses.replace(context, inputs=broken)]


def test_the_sample_timeline_is_a_valid_document() -> None:
    context = sample_job_context("export")
    TimelineDocument.model_validate(context.inputs["Timeline"])
