"""The clip renderer: real ffmpeg runs at 320x180 with short narrations."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.core.logger import MemoryLogger
from tutopanda.core.provider_contract import JobContext
from tutopanda.providers.render import PROGRESS_MESSAGE, RenderHandler
from tutopanda.providers.render.clip import clip_frames, still_frames
from tutopanda.providers.render.settings import ClipSettings, frame_size
from tutopanda.testing import ProviderContractTests, make_artefact_input

from .media import clip_context, frame_count, info_of, payload


def _render(context: JobContext) -> bytes:
    handler = RenderHandler("tutopanda", "segment-renderer", "local")
    (artefact,) = asyncio.run(handler.produce(context)).artefacts
    assert artefact.file is not None and artefact.mime_type == "video/mp4"
    return payload(artefact)


@pytest.mark.parametrize(
    ("stills", "extra"),
    [(1, {}), (3, {}), (0, {"Images": None}), (0, {"Images": None, "Video": "mock"})],
    ids=["one-still", "three-stills", "text-card", "video"],
)
def test_a_clip_is_h264_and_aac_and_lasts_narration_plus_padding(
    tmp_path: Path, stills: int, extra: dict[str, object]
) -> None:
    if extra.get("Video") == "mock":
        from tutopanda.testing.samples import sample_job_context

        extra = {**extra, "Video": sample_job_context("timeline").inputs["Videos"][0][0]}
    data = _render(clip_context(0, 1.5, stills=max(stills, 1), **extra))
    info = info_of(data, tmp_path)
    (video,), (audio,) = info.of_type("video"), info.of_type("audio")
    assert (video.codec, video.width, video.height, video.fps) == ("h264", 320, 180, 30.0)
    assert (audio.codec, audio.sample_rate) == ("aac", 48000)
    # 0.4 s lead-in + 1.5 s narration + 0.8 s tail = 2.7 s = 81 frames.
    assert frame_count(tmp_path / "probe.mp4") == 81
    assert info.duration == pytest.approx(2.7, abs=0.02)


def test_the_same_inputs_give_the_same_bytes() -> None:
    assert _render(clip_context(1, 1.0, stills=2)) == _render(clip_context(1, 1.0, stills=2))


def test_a_different_narration_gives_a_different_clip() -> None:
    assert _render(clip_context(0, 1.0)) != _render(clip_context(0, 1.1))


def test_progress_is_logged() -> None:
    logger = MemoryLogger()
    _render(dataclasses.replace(clip_context(0, 1.0), logger=logger))
    fractions = [fields["fraction"] for _, message, fields in logger.records if message == PROGRESS_MESSAGE]
    assert fractions and fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_frame_snapping_and_still_split() -> None:
    settings = ClipSettings(fps=30, lead_in=0.4, tail=0.8)
    assert clip_frames(2.0, settings) == 96
    assert clip_frames(2.0 + 1 / 90, settings) == 96  # a third of a frame rounds away
    frames, crossfade = still_frames(300, 3, 18)
    assert sum(frames) - 2 * crossfade == 300 and crossfade == 18 and max(frames) - min(frames) <= 1
    assert still_frames(12, 3, 18) == ([5, 5, 4], 1)  # a crossfade at most a third of a still
    assert still_frames(6, 3, 18) == ([2, 2, 2], 0)
    assert still_frames(90, 1, 18) == ([90], 0)


@pytest.mark.parametrize(
    ("resolution", "aspect", "size"),
    [("720p", "16:9", (1280, 720)), ("1080p", "16:9", (1920, 1080)), ("480p", "16:9", (854, 480)),
     ("720p", "9:16", (720, 1280)), ("720p", "1:1", (720, 720)), ("720p", "4:3", (960, 720)),
     (None, None, (1280, 720))],
)  # fmt: skip
def test_frame_sizes(resolution: str | None, aspect: str | None, size: tuple[int, int]) -> None:
    assert frame_size(resolution, aspect) == size


def test_bad_config_and_inputs_fail_clearly() -> None:
    handler = RenderHandler("tutopanda", "segment-renderer", "local")
    with pytest.raises(ProviderConfigError, match="fps"):
        asyncio.run(handler.produce(dataclasses.replace(clip_context(0, 1.0), config={"fps": 0})))
    with pytest.raises(ProviderConfigError, match="Resolution"):
        asyncio.run(handler.produce(clip_context(0, 1.0, Resolution="huge")))
    broken = make_artefact_input("Artifact:Narration.SegmentAudio[0]", "audio", b"not audio", "audio/wav")
    with pytest.raises(ProviderError, match="cannot read"):
        asyncio.run(handler.produce(clip_context(0, 1.0, Narration=broken)))


class TestClipContract(ProviderContractTests):
    def make_handler(self) -> RenderHandler:
        return RenderHandler("tutopanda", "segment-renderer", "local")

    def sample_contexts(self) -> list[JobContext]:
        return [clip_context(0, 1.0, stills=2)]

    def failing_contexts(self) -> list[JobContext]:
        return [clip_context(0, 1.0, Narration=None)]
