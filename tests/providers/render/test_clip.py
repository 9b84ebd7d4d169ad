"""The clip renderer: real ffmpeg runs at 320x180 with short narrations."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tutopanda.core.engine.provider_contract import ArtefactInput, JobContext
from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.core.logger import MemoryLogger
from tutopanda.providers.local.slides import render_slide
from tutopanda.providers.render import PROGRESS_MESSAGE, RenderHandler
from tutopanda.providers.render.clip import clip_frames, reveal_times, still_frames
from tutopanda.providers.render.ffmpeg import ffmpeg_exe
from tutopanda.providers.render.overlay import KeyPoint, headline_for, key_points, overlay_layers
from tutopanda.providers.render.settings import ClipSettings, frame_size
from tutopanda.testing import ProviderContractTests, make_artefact_input

from .media import clip_context, frame_count, info_of, payload, wav_bytes


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


def _frames(data: bytes, tmp_path: Path, times: list[float], size: tuple[int, int]) -> list[np.ndarray]:
    path = tmp_path / "overlay.mp4"
    path.write_bytes(data)
    frames = []
    for at in times:
        raw = subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-ss", str(at), "-i", str(path), "-frames:v", "1",
             "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        frames.append(np.frombuffer(raw, np.uint8).reshape(size[1], size[0], 3).astype(np.float64))
    return frames


def _slide_still(text: str, size: tuple[int, int], style: str) -> ArtefactInput:
    return make_artefact_input(
        "Artifact:Images.SegmentImage[0][0]", "image", render_slide(text, size, style), "image/png"
    )


@pytest.mark.parametrize("aspect", ["16:9", "9:16"])
def test_the_text_stays_fixed_while_the_background_moves(tmp_path: Path, aspect: str) -> None:
    size = frame_size("360p", aspect)
    text = "Magma rises through the crust. It gathers in a chamber. Pressure builds for years."
    context = clip_context(
        0, 2.5, Text=text, Style="diagram", Resolution="360p", AspectRatio=aspect,
        Images=[[_slide_still(text, size, "diagram")]],
    )  # fmt: skip
    early, late = _frames(_render(context), tmp_path, [0.4, 3.0], size)
    headline = next(
        layer
        for layer in overlay_layers(size, "diagram", headline_for(text), key_points(text), index=0)
        if layer.role == "headline"
    )
    mask = np.zeros(size[::-1], dtype=bool)
    ink = np.asarray(headline.image)[:, :, 3] == 255
    mask[headline.y : headline.y + ink.shape[0], headline.x : headline.x + ink.shape[1]] = ink
    assert mask.sum() > 200
    text_change = np.abs(early - late)[mask].mean()
    background_change = np.abs(early - late)[~mask].mean()
    assert text_change < 6 < background_change  # the zoom moved the picture, not the headline
    bright = late.mean(axis=2)[mask].mean()
    assert bright > 150  # the headline (light on blue) is drawn in the late frame too


def test_overlay_layers_follow_the_picture_kind_and_config(tmp_path: Path) -> None:
    handler = RenderHandler("tutopanda", "segment-renderer", "local")

    def layers(context: JobContext) -> int:
        (artefact,) = asyncio.run(handler.produce(context)).artefacts
        return int(artefact.diagnostics["overlayLayers"])

    text = "Magma rises. It gathers in a chamber. Pressure builds."
    photo = clip_context(1, 1.0, Text=text)  # an ordinary picture: a scrim goes under the text
    slide = clip_context(1, 1.0, Text=text, Images=[[_slide_still(text, (320, 180), "anime")]])
    assert layers(photo) == layers(slide) + 1
    assert layers(dataclasses.replace(photo, config={**photo.config, "overlay": False})) == 0
    titled = clip_context(0, 3.0, Text=text, MovieTitle="Volcanoes", MovieSummary="Why they erupt.")
    assert layers(titled) == layers(clip_context(0, 3.0, Text=text)) + 2  # title text and its dimmer
    assert layers(clip_context(1, 3.0, Text=text, MovieTitle="Volcanoes")) == layers(photo)  # segment 0 only


def test_key_points_appear_when_the_narration_reaches_them() -> None:
    points = [KeyPoint("It gathers", 4), KeyPoint("Pressure builds", 8)]
    proportional = reveal_times(points, 12, 6.0, 0.4, None, earliest=0.8, latest=6.0)
    assert proportional == [pytest.approx(2.4), pytest.approx(4.4)]
    timed = reveal_times(points, 12, 6.0, 0.4, [0.1 * i for i in range(12)], earliest=0.8, latest=6.0)
    assert timed == [pytest.approx(0.8), pytest.approx(1.2)]  # word 4 at 0.4+0.4, then 0.4 s apart
    assert reveal_times(points, 12, 6.0, 0.4, None, earliest=3.0, latest=3.2) == [3.0, 3.2]


def test_key_points_follow_the_word_timings_of_the_narration() -> None:
    from tutopanda.providers.local.speech_clip import WordTiming, with_word_timings

    text = "Magma rises. It gathers in a chamber. Pressure builds for years."
    words = text.split()
    timed = with_word_timings(
        wav_bytes(4.0), [WordTiming(w, 0.3 * i, 0.3 * i + 0.25) for i, w in enumerate(words)]
    )
    voice = make_artefact_input("Artifact:Narration.SegmentAudio[1]", "audio", timed, "audio/wav")
    handler = RenderHandler("tutopanda", "segment-renderer", "local")
    (artefact,) = asyncio.run(handler.produce(clip_context(1, 4.0, Text=text, Narration=voice))).artefacts
    assert artefact.diagnostics["wordTimings"] is True
    # "It" is word 2 (0.6 s), "Pressure" word 7 (2.1 s); the clip's lead-in is 0.4 s; the first point
    # waits for the headline to settle (0.8 s).
    assert artefact.diagnostics["pointTimes"] == [pytest.approx(1.0), pytest.approx(2.5)]
    (plain,) = asyncio.run(handler.produce(clip_context(1, 4.0, Text=text))).artefacts
    assert plain.diagnostics["wordTimings"] is False
    assert plain.diagnostics["pointTimes"] == [
        pytest.approx(0.4 + 4.0 * 2 / 11, abs=1e-3),
        pytest.approx(0.4 + 4.0 * 7 / 11, abs=1e-3),
    ]
