"""The offline stand-in for a generated video: a moving slide of the video prompt, SegmentDuration long."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tutopanda.core.engine.provider_contract import JobResult
from tutopanda.providers.registry import ProviderRegistry
from tutopanda.providers.render import register_render
from tutopanda.providers.render.ffmpeg import probe
from tutopanda.testing import make_job_context


def _render(tmp_path: Path, prompt: str, seconds: int = 2) -> tuple[JobResult, bytes]:
    registry = ProviderRegistry()
    register_render(registry)
    handler = registry.resolve("local", "slides", "local", "live", "video")
    context = make_job_context(
        "video",
        [("Artifact:Videos.SegmentVideo[1]", "video")],
        inputs={"Prompt": prompt, "Resolution": "180p", "AspectRatio": "16:9", "SegmentDuration": seconds},
        job_id="Producer:Videos.VideoGenerator[1]",
        provider="local",
        model="slides",
        mode="live",
        loop_indices={"segment": 1},
    )
    result = asyncio.run(handler.produce(context))
    artefact = result.artefacts[0]
    assert artefact.file is not None
    data = artefact.file.read_bytes()
    copy = tmp_path / f"{len(list(tmp_path.iterdir()))}.mp4"
    copy.write_bytes(data)
    artefact.file.unlink()
    return result, copy.read_bytes()


def test_a_silent_h264_clip_of_segment_duration(tmp_path: Path) -> None:
    result, data = _render(tmp_path, "Bees carry nectar back to the hive.")
    path = tmp_path / "check.mp4"
    path.write_bytes(data)
    info = probe(path)
    assert [s.codec for s in info.of_type("video")] == ["h264"]
    assert info.of_type("audio") == ()
    assert (info.of_type("video")[0].width, info.of_type("video")[0].height) == (320, 180)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert result.artefacts[0].mime_type == "video/mp4"


def test_same_prompt_same_bytes_other_prompt_other_bytes(tmp_path: Path) -> None:
    _, first = _render(tmp_path, "Wax cells store the honey.")
    _, again = _render(tmp_path, "Wax cells store the honey.")
    _, other = _render(tmp_path, "Fanning wings dry the nectar.")
    assert first == again
    assert first != other
