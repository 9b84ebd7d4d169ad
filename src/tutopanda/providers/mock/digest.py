"""The digest a mock answer is derived from: what the job consumed, nothing about when or how often.

Why this matters: the engine's early cutoff and free undo are only observable if a producer called
twice with the same values returns the same bytes. So the digest covers the kind, provider, model,
inputs (upstream binary artefacts by their blob hash), config and prompt template, and deliberately
leaves out the job id, attempt, revision, mode and environment, and the ``mock`` knobs (latency or
injected failures must not change what a successful call returns).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from tutopanda.core.engine.provider_contract import ArtefactInput, JobContext
from tutopanda.core.store.hashing import hash_value, sha256_hex
from tutopanda.providers.mock.options import MOCK_CONFIG_KEY

__all__ = ["artefact_digest", "job_digest"]


def _plain(value: Any) -> Any:
    """A JSON-like form of an input value (artefact handles become their blob hash)."""
    if isinstance(value, ArtefactInput):
        return {"$artefact": value.kind, "blob": value.blob.hash}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool | bytes):
        return value
    return str(value)


def job_digest(context: JobContext) -> str:
    """SHA-256 hex of the values the job consumed (see the module docstring for what is left out)."""
    config = {key: value for key, value in context.config.items() if key != MOCK_CONFIG_KEY}
    return hash_value(
        {
            "kind": context.kind,
            "provider": context.provider,
            "model": context.model,
            "inputs": _plain(context.inputs),
            "config": _plain(config),
            "prompt": context.prompt,
        }
    ).hash


def artefact_digest(digest: str, position: int, kind: str) -> str:
    """The digest of the ``position``-th artefact of a job (distinct per artefact, independent of ids)."""
    return sha256_hex(f"{digest}:{position}:{kind}".encode("ascii"))
