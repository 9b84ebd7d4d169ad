"""The timeline composer: real clip lengths, narration windows, caption cues, Ken Burns, music plan."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tutopanda.core.engine.provider_contract import ArtefactInput, JobContext
from tutopanda.core.errors import ProviderError
from tutopanda.core.movie.timeline import TimelineDocument, ken_burns_for
from tutopanda.providers.render import RenderHandler
from tutopanda.testing import ProviderContractTests, make_job_context, sample_job_context

from .conftest import NARRATION_SECONDS
from .media import music, still

Rendered = tuple[list[ArtefactInput], list[ArtefactInput]]
TEXTS = [
    "Magma rises. It gathers in a chamber.",
    "Pressure builds, slowly, until the crust gives way and the eruption begins with a roar of gas.",
    "Lava flows downhill.",
]


def _context(rendered: Rendered, **inputs: Any) -> JobContext:
    clips, narrations = rendered
    values: dict[str, Any] = {
        "Clips": [[clip] for clip in clips],
        "Audio": [[narration] for narration in narrations],
        "Captions": [[text] for text in TEXTS],
        "Images": [[still(i, 0), still(i, 1)] for i in range(len(clips))],
        "MovieTitle": "  Volcanoes,\n explained ",
        **inputs,
    }
    values = {key: value for key, value in values.items() if value is not None}
    return make_job_context(
        "timeline", [("Artifact:Timeline.Timeline", "json")], inputs=values, provider="tutopanda",
        model="ordered-timeline", mode="live",
        config={"musicVolume": 0.35, "duckingDb": -12, "leadIn": 0.4, "tail": 0.8},
    )  # fmt: skip


def _compose(context: JobContext) -> tuple[TimelineDocument, bytes]:
    handler = RenderHandler("tutopanda", "ordered-timeline", "local")
    (artefact,) = asyncio.run(handler.produce(context)).artefacts
    assert artefact.mime_type == "application/json" and artefact.data is not None
    return TimelineDocument.model_validate_json(artefact.data), artefact.data


def test_segments_follow_the_real_clip_lengths(rendered: Rendered) -> None:
    document, data = _compose(_context(rendered, Music=music(20.0)))
    assert (document.fps, document.width, document.height) == (30, 320, 180)
    assert document.movie_title == "Volcanoes, explained"
    lengths = [round(0.4 + seconds + 0.8, 3) for seconds in NARRATION_SECONDS]
    assert [segment.duration for segment in document.segments] == lengths
    assert document.duration == pytest.approx(sum(lengths))
    for segment, seconds, clip in zip(document.segments, NARRATION_SECONDS, rendered[0], strict=True):
        assert segment.clip_artefact_id == clip.id
        assert segment.narration_start == pytest.approx(segment.start + 0.4)
        assert segment.narration_duration == pytest.approx(seconds, abs=0.001)
    assert data == json.dumps(json.loads(data), sort_keys=True, separators=(",", ":")).encode()


def test_captions_are_cut_per_sentence_inside_each_narration_window(rendered: Rendered) -> None:
    document, _ = _compose(_context(rendered))
    (captions,) = document.track("captions")
    for segment, text in zip(document.segments, TEXTS, strict=True):
        cues = [clip for clip in captions.clips if clip.id.startswith(f"caption-{segment.index}-")]
        assert " ".join(cue.text or "" for cue in cues) == text
        assert cues[0].start == pytest.approx(segment.narration_start)
        assert cues[-1].end == pytest.approx(segment.narration_start + segment.narration_duration, abs=0.002)
    assert [cue.text for cue in captions.clips[:2]] == ["Magma rises.", "It gathers in a chamber."]


def test_stills_carry_the_ken_burns_moves_the_renderer_used(rendered: Rendered) -> None:
    document, _ = _compose(_context(rendered))
    (images,) = [track for track in document.tracks if track.id == "images"]
    assert len(images.clips) == 6
    for clip in images.clips:
        _, segment, order = clip.id.split("-")
        assert clip.ken_burns == ken_burns_for(int(segment), int(order))


@pytest.mark.parametrize(("seconds", "loop", "pieces"), [(2.5, True, 3), (20.0, False, 1)])
def test_music_loops_when_short_and_is_trimmed_when_long(
    rendered: Rendered, seconds: float, loop: bool, pieces: int
) -> None:
    document, _ = _compose(_context(rendered, Music=music(seconds)))
    assert document.music is not None
    assert (document.music.loop, document.music.volume, document.music.ducking_db) == (loop, 0.35, -12)
    (track,) = document.track("music")
    assert len(track.clips) == pieces and track.clips[-1].end == pytest.approx(document.duration)


def test_without_clips_the_job_fails(rendered: Rendered) -> None:
    handler = RenderHandler("tutopanda", "ordered-timeline", "local")
    with pytest.raises(ProviderError, match="no rendered clips"):
        asyncio.run(handler.produce(_context(rendered, Clips=None)))


class TestTimelineContract(ProviderContractTests):
    def make_handler(self) -> RenderHandler:
        return RenderHandler("tutopanda", "ordered-timeline", "local")

    def sample_contexts(self) -> list[JobContext]:
        return [sample_job_context("timeline", provider="tutopanda", model="ordered-timeline", mode="live")]
