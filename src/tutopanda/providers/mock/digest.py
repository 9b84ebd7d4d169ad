"""The digest a mock answer is derived from: what the job consumed, nothing about when or how often.

Why this matters: the engine's early cutoff and free undo are only observable if a producer called
twice with the same values returns the same bytes. So the digest covers the kind, provider, model,
inputs (upstream binary artefacts by their blob hash), config and prompt template, and deliberately
leaves out the job id, attempt, revision, mode and environment, and the ``mock`` knobs (latency or
injected failures must not change what a successful call returns).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from tutopanda.core.engine.provider_contract import ArtefactInput, JobContext
from tutopanda.core.store.hashing import hash_value, sha256_hex
from tutopanda.providers.mock.options import MOCK_CONFIG_KEY

__all__ = ["artefact_digest", "job_digest"]


def _plain(value: Any) -> Any:
    """A JSON form of what the encoder cannot write itself: artefact handles become their blob hash,
    models their JSON data, bytes their hash; anything else its ``str``."""
    if isinstance(value, ArtefactInput):
        return {"$artefact": value.kind, "blob": value.blob.hash}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return {"$bytes": sha256_hex(raw), "size": len(raw)}
    return str(value)


def job_digest(context: JobContext) -> str:
    """SHA-256 hex of the values the job consumed (see the module docstring for what is left out).

    The text hashed is JSON with sorted keys, written by the C encoder in one pass: only what it cannot
    write goes through :func:`_plain`. It need not be the canonical form of the engine's hashes (which
    also formats floats the ECMAScript way, writes ``1.0`` as ``1`` and normalises Unicode), only the
    same for the same Python values: a timeline's thousands of clips, given whole to the exporter, took
    0.1 s to normalise first, on the build's critical path. (An input edited from ``60`` to ``60.0``
    keeps its trace, so the mock is not called again for it.) NaN, Infinity and keys that cannot be
    sorted together go the engine's way (:func:`hash_value`, which refuses NaN as it always did).
    """
    config = {key: value for key, value in context.config.items() if key != MOCK_CONFIG_KEY}
    consumed = {
        "kind": context.kind,
        "provider": context.provider,
        "model": context.model,
        "inputs": context.inputs,
        "config": config,
        "prompt": context.prompt,
    }
    try:
        text = json.dumps(
            consumed,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=_plain,
        )
    except (TypeError, ValueError):  # unsortable keys, NaN: the engine's rules decide
        return hash_value(
            {**consumed, "inputs": _plain_deep(context.inputs), "config": _plain_deep(config)}
        ).hash
    return sha256_hex(text.encode("utf-8"))


def _plain_deep(value: Any) -> Any:
    """Every artefact handle and model in ``value`` made JSON data (for :func:`hash_value`)."""
    if isinstance(value, ArtefactInput | BaseModel):
        return _plain(value)
    if isinstance(value, Mapping):
        return {str(key): _plain_deep(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_deep(item) for item in value]
    return value


def artefact_digest(digest: str, position: int, kind: str) -> str:
    """The digest of the ``position``-th artefact of a job (distinct per artefact, independent of ids)."""
    return sha256_hex(f"{digest}:{position}:{kind}".encode("ascii"))
