"""The local image handler (model ``slides``): the ``Prompt`` drawn as a styled slide, as a PNG.

Why the prompt is drawn rather than "interpreted": the local prompt writer (``template-prompts``) hands
over the segment's key sentence as the image prompt, so the slide puts that sentence on screen. The
frame size comes from ``Resolution`` and ``AspectRatio``; the palette from ``Style``.
"""

from __future__ import annotations

import asyncio

from tutopanda.core.engine.provider_contract import JobContext, JobResult, ProducedArtefact
from tutopanda.core.movie.frame import frame_size
from tutopanda.providers.job_inputs import input_text, requested_artefacts
from tutopanda.providers.local.local_handler import LocalHandler
from tutopanda.providers.local.palettes import palette_for
from tutopanda.providers.local.slides import render_slide

__all__ = ["SlidesHandler"]


class SlidesHandler(LocalHandler):
    """``image`` jobs: one slide per requested image artefact (all show the same prompt)."""

    limit_key = "local-slides"
    max_in_flight = 2

    async def produce(self, context: JobContext) -> JobResult:
        """Render the slide in a worker thread."""
        text = input_text(context.inputs, "Prompt")
        style = input_text(context.inputs, "Style", "illustration")
        size = frame_size(
            input_text(context.inputs, "Resolution", "720p"),
            input_text(context.inputs, "AspectRatio", "16:9"),
        )
        data = await asyncio.to_thread(render_slide, text, size, style)
        diagnostics = {"width": size[0], "height": size[1], "palette": palette_for(style).name}
        artefacts = [
            ProducedArtefact(requested.artefact_id, mime_type="image/png", data=data, diagnostics=diagnostics)
            if requested.kind == "image"
            else ProducedArtefact(
                requested.artefact_id, status="failed", error=f"slides cannot make a {requested.kind}"
            )
            for requested in requested_artefacts(context)
        ]
        return JobResult(artefacts, diagnostics={"renderer": "pillow-slides"}, cost=0.0)
