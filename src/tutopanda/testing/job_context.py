"""Building :class:`~tutopanda.core.engine.provider_contract.JobContext` objects by hand, for tests.

Why in the package: provider plugin packages test their handlers against the same contract as ours and
need the same small builders; none of this needs pytest.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from tutopanda.core.engine.provider_contract import (
    ArtefactInput,
    EnvSecretResolver,
    JobContext,
    Mode,
    SecretResolver,
)
from tutopanda.core.logger import Logger, MemoryLogger
from tutopanda.core.store.blob_ref import BlobRef

__all__ = ["RecordingSecretResolver", "make_artefact_input", "make_job_context"]


class RecordingSecretResolver:
    """Wraps a resolver and remembers every value it handed out (to prove none of them leaked)."""

    def __init__(self, inner: SecretResolver) -> None:
        self._inner = inner
        self.handed_out: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        value = self._inner.get(name)
        if value:
            self.handed_out[name] = value
        return value


def make_artefact_input(
    artefact_id: str,
    kind: str,
    data: bytes,
    mime_type: str = "application/octet-stream",
    *,
    local_path: str | None = None,
) -> ArtefactInput:
    """An upstream artefact held in memory (``read_bytes``/``open`` serve ``data``)."""
    payload = bytes(data)
    return ArtefactInput(
        id=artefact_id,
        kind=kind,
        blob=BlobRef.for_bytes(payload, mime_type),
        opener=lambda: io.BytesIO(payload),
        local_path=local_path,
    )


def make_job_context(
    kind: str,
    produces: Sequence[tuple[str, str]],
    *,
    inputs: Mapping[str, Any] | None = None,
    job_id: str | None = None,
    provider: str = "mock",
    model: str = "mock",
    mode: Mode = "mock",
    environment: str = "local",
    revision: str = "rev-0001",
    attempt: int = 1,
    config: Mapping[str, Any] | None = None,
    prompt: str | None = None,
    secrets: SecretResolver | Mapping[str, str] | None = None,
    logger: Logger | None = None,
    loop_indices: Mapping[str, int] | None = None,
) -> JobContext:
    """A context for one call. ``secrets`` may be a plain mapping; the default resolver knows none.

    ``produces`` lists ``(artefact id, artefact kind)`` pairs; ``attempt`` counts from 1.
    """
    resolver = EnvSecretResolver(dict(secrets)) if isinstance(secrets, Mapping) else secrets
    return JobContext(
        job_id=job_id or f"Producer:Test.{kind}",
        kind=kind,
        provider=provider,
        model=model,
        mode=mode,
        environment=environment,
        revision=revision,
        attempt=attempt,
        inputs=dict(inputs or {}),
        produces=tuple((artefact_id, artefact_kind) for artefact_id, artefact_kind in produces),
        config=dict(config or {}),
        prompt=prompt,
        secrets=resolver if resolver is not None else EnvSecretResolver({}),
        logger=logger if logger is not None else MemoryLogger(),
        loop_indices=dict(loop_indices or {}),
    )
