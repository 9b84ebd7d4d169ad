"""Clips rendered once per session: the composer and exporter tests share them (ffmpeg is the cost)."""

from __future__ import annotations

import asyncio

import pytest

from tutopanda.core.engine.provider_contract import ArtefactInput
from tutopanda.providers.render import RenderHandler
from tutopanda.testing import make_artefact_input

from .media import clip_context, payload

NARRATION_SECONDS = (1.0, 1.5, 1.2)
"""Segment narrations; with 0.4 s lead-in and 0.8 s tail the clips last 2.2, 2.7 and 2.4 s."""


def render_clips(
    seconds: tuple[float, ...], stills: int = 2
) -> tuple[list[ArtefactInput], list[ArtefactInput]]:
    """(clips, narrations) for segments with narrations of ``seconds``."""
    handler = RenderHandler("tutopanda", "segment-renderer", "local")
    clips, narrations = [], []
    for segment, length in enumerate(seconds):
        context = clip_context(segment, length, stills=stills)
        (artefact,) = asyncio.run(handler.produce(context)).artefacts
        clips.append(
            make_artefact_input(
                f"Artifact:Clips.SegmentClip[{segment}]", "video", payload(artefact), "video/mp4"
            )
        )
        narrations.append(context.inputs["Narration"])
    return clips, narrations


@pytest.fixture(scope="session")
def rendered() -> tuple[list[ArtefactInput], list[ArtefactInput]]:
    return render_clips(NARRATION_SECONDS)
