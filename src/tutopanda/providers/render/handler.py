"""The render handler: one class serving the three ``tutopanda`` models, each a blocking ffmpeg job.

Why one class: the three models share the binding shape, the throttle (renders compete for the same
CPU cores, so they share one ``max_in_flight`` key) and the progress reporting; only the job function
differs. Work runs in a thread (``asyncio.to_thread``) so the runner's event loop stays free.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from typing import Any

from tutopanda.core.engine.provider_contract import (
    HandlerLimits,
    JobContext,
    JobResult,
    Mode,
    ProducedArtefact,
    SecretResolver,
)
from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers.render.ffmpeg import ProgressCallback, ffmpeg_exe

__all__ = ["LOCAL_MODEL_KINDS", "MODEL_KINDS", "PROGRESS_MESSAGE", "RenderHandler", "progress_logger"]

MODEL_KINDS: dict[str, str] = {
    "segment-renderer": "clip",
    "ordered-timeline": "timeline",
    "mp4-exporter": "export",
}
"""The ``tutopanda`` models and the producer kind each serves."""

LOCAL_MODEL_KINDS: dict[str, str] = {"slides": "video"}
"""Models of provider ``local`` rendered here: offline stand-ins that need ffmpeg."""

PROGRESS_MESSAGE = "render progress"
"""The logger message carrying ffmpeg progress (fields: ``job``, ``stage``, ``fraction`` in [0, 1])."""

_PROGRESS_STEP = 0.05

JobFunction = Callable[[JobContext, ProgressCallback], list[ProducedArtefact]]


def progress_logger(context: JobContext, stage: str) -> ProgressCallback:
    """A callback reporting ``fraction`` (``context.progress`` and a debug log) every 5% and at 100%."""
    last = [-1.0]

    def report(fraction: float) -> None:
        if fraction - last[0] >= _PROGRESS_STEP or (fraction >= 1.0 > last[0]):
            last[0] = fraction
            context.progress(fraction)
            context.logger.debug(
                PROGRESS_MESSAGE, job=context.job_id, stage=stage, fraction=round(fraction, 3)
            )

    return report


def _job_function(model: str) -> JobFunction:
    # Imported here so building a handler (done while planning) never loads numpy or Pillow.
    if model == "segment-renderer":
        from tutopanda.providers.render.clip import render_clip

        return lambda context, progress: [render_clip(context, progress)]
    if model == "slides":
        from tutopanda.providers.render.still_video import render_still_video

        return lambda context, progress: [render_still_video(context, progress)]
    if model == "ordered-timeline":
        from tutopanda.providers.render.composer import compose_job

        return lambda context, progress: [compose_job(context)]
    from tutopanda.providers.render.exporter import export_job

    return export_job


class RenderHandler:
    """Local rendering with the bundled ffmpeg: clips, the timeline and the final MP4 (free, offline)."""

    needs_secrets: tuple[str, ...] = ()

    def __init__(self, provider: str, model: str, environment: str, *, mode: Mode = "live") -> None:
        models = LOCAL_MODEL_KINDS if provider == "local" else MODEL_KINDS
        if model not in models:
            raise ProviderConfigError(
                f"unknown {provider} render model {model!r}", hint=f"use one of {', '.join(models)}"
            )
        self.provider = provider
        self.model = model
        self.environment = environment
        self.mode: Mode = mode

    def __repr__(self) -> str:
        return f"RenderHandler({self.provider!r}, {self.model!r}, {self.environment!r})"

    @property
    def limits(self) -> HandlerLimits:
        """Renders share the CPU: at most one ffmpeg (2 threads each) per two cores."""
        return HandlerLimits(key="tutopanda-render", max_in_flight=max(1, (os.cpu_count() or 2) // 2))

    def estimate_cost(self, kind: str, config: Mapping[str, Any], produces: int) -> float | None:
        """Local work: free."""
        return 0.0

    def warm_start(self, secrets: SecretResolver) -> None:
        """Check that an ffmpeg binary is there (offline; raises ProviderConfigError)."""
        ffmpeg_exe()

    async def produce(self, context: JobContext) -> JobResult:
        """Run the model's job in a worker thread, reporting progress through ``context.logger``."""
        expected = (LOCAL_MODEL_KINDS if self.provider == "local" else MODEL_KINDS)[self.model]
        if context.kind != expected:
            raise ProviderConfigError(
                f"{self.provider}/{self.model} renders {expected} jobs, not {context.kind!r}",
                hint=f"bind {context.kind} jobs to another model",
            )
        job = _job_function(self.model)
        artefacts = await asyncio.to_thread(job, context, progress_logger(context, expected))
        diagnostics = {"provider": self.provider, "model": self.model, "kind": expected}
        return JobResult(artefacts=artefacts, diagnostics=diagnostics, cost=0.0)
