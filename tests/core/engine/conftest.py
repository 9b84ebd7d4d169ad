"""Engine test fixtures: a small recording handler and a one-call build helper.

The handler is deterministic: its output is a function of the job's artefact id and input values (plus
an optional per-artefact "salt" a test can change to simulate a non-deterministic provider).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from tutopanda.core.engine.build import BuildReport, run_build
from tutopanda.core.engine.provider_contract import (
    ArtefactInput,
    EnvSecretResolver,
    HandlerLimits,
    JobContext,
    JobResult,
    ProducedArtefact,
)
from tutopanda.core.engine.runner import RunOptions
from tutopanda.core.errors import ProviderError
from tutopanda.core.movie.definition import define_movie
from tutopanda.core.store.hashing import hash_canonical
from tutopanda.core.store.storage import StorageContext

_MIME = {
    "text": "text/plain",
    "json": "application/json",
    "image": "image/png",
    "audio": "audio/wav",
    "video": "video/mp4",
}


def _plain(value: Any) -> Any:
    if isinstance(value, ArtefactInput):
        return value.blob.hash
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


@dataclass
class RecordingHandler:
    """Counts calls; ``fail`` maps job id -> how many attempts fail (retryable if ``retryable``)."""

    provider: str = "test"
    model: str = "test-model"
    mode: str = "mock"
    environment: str = "local"
    latency: float = 0.0
    calls: list[str] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)
    retryable: bool = False
    salt: dict[str, str] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    handler_limits: HandlerLimits = field(default_factory=lambda: HandlerLimits(key="test"))

    @property
    def limits(self) -> HandlerLimits:
        return self.handler_limits

    def estimate_cost(self, kind: str, config: Mapping[str, Any], produces: int) -> float | None:
        return 0.01 * produces

    async def produce(self, context: JobContext) -> JobResult:
        self.calls.append(context.job_id)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            else:
                await asyncio.sleep(0)
            if self.fail.get(context.job_id, 0) > 0:
                self.fail[context.job_id] -= 1
                raise ProviderError(f"injected failure of {context.job_id}", retryable=self.retryable)
            inputs = {alias: _plain(value) for alias, value in context.inputs.items()}
            artefacts = []
            for artefact_id, kind in context.produces:
                digest = hash_canonical(
                    {"id": artefact_id, "inputs": inputs, "salt": self.salt.get(artefact_id)}
                )
                data = f'{{"digest":"{digest}"}}' if kind == "json" else f"{artefact_id}:{digest}"
                artefacts.append(ProducedArtefact(artefact_id, mime_type=_MIME[kind], data=data.encode()))
            return JobResult(artefacts, diagnostics={"requestId": "r-1"}, cost=0.01)
        finally:
            self.in_flight -= 1

    def count(self, fragment: str = "") -> int:
        return sum(fragment in call for call in self.calls)


BuildFn = Callable[..., BuildReport]


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


@pytest.fixture
def build(ctx: StorageContext, handler: RecordingHandler) -> BuildFn:
    """``build(movie, concurrency=4, up_to_layer=None, forced=())`` runs one build with ``handler``."""

    def run(movie: str, **options: Any) -> BuildReport:
        forced = options.pop("forced", ())
        handler.calls.clear()
        return run_build(
            ctx,
            movie,
            resolver=lambda provider, model, kind: handler,  # type: ignore[arg-type,return-value]
            options=RunOptions(mode="mock", backoff_base=0.001, **options),
            secrets=EnvSecretResolver({}),
            forced=forced,
        )

    return run


@pytest.fixture
def image_movie(ctx: StorageContext, movie: str) -> str:
    """``demo`` defined as image-audio with 3 segments x 2 images."""
    define_movie(ctx, movie, blueprint="image-audio", values={"NumOfSegments": 3, "NumOfImagesPerSegment": 2})
    return movie


@pytest.fixture(params=["local", "memory"])
def backend(request: pytest.FixtureRequest) -> str:
    """Engine tests run on local and ``memory://`` storage; S3 builds are covered by
    ``tests/core/test_object_store_build.py`` (every request to moto costs milliseconds)."""
    return str(request.param)
