"""The two event kinds a movie's history is made of: input values and artefact attempts.

Events are append-only facts. An :class:`InputEvent` records a value given to an input (and its hash);
an :class:`ArtefactEvent` records one attempt to produce an artefact — its status, the blob it produced
(if it succeeded) and the hash of the *values* the job consumed (``inputsHash``, computed by the planner),
which is what lets a later plan decide freshness without calling a provider.

On disk keys are camelCase; in Python attributes are snake_case (both are accepted when parsing).
Secrets never belong in events, so there are no fields for them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator
from pydantic.alias_generators import to_camel

from tutopanda.core.clock import Clock
from tutopanda.core.errors import InputValidationError
from tutopanda.core.store.blob_ref import BlobRef
from tutopanda.core.store.hashing import hash_value, normalise
from tutopanda.core.store.revisions import REVISION_PATTERN

MANUAL = "manual"
"""``inputsHash`` of an artefact supplied by the user rather than produced by a job (a manual override)."""

__all__ = [
    "MANUAL",
    "ArtefactEvent",
    "ArtefactOutput",
    "ArtefactStatus",
    "InputEvent",
    "artefact_event",
    "error_diagnostics",
    "error_message",
    "input_event",
]

ArtefactStatus = Literal["succeeded", "failed", "skipped"]

_CONFIG = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


class InputEvent(BaseModel):
    """``{id, revision, hash, digest, payload, editedBy, createdAt}``: a value given to an input."""

    model_config = _CONFIG

    id: str = Field(pattern=r"^Input:\S+$")
    revision: str = Field(pattern=REVISION_PATTERN)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    digest: str
    payload: Any
    edited_by: str = Field(min_length=1)
    created_at: str


class ArtefactOutput(BaseModel):
    """``{blob: {hash, size, mimeType}}`` for a produced artefact, ``{}`` when nothing was produced."""

    model_config = _CONFIG

    blob: BlobRef | None = None

    @model_serializer(mode="plain")
    def _serialise(self) -> dict[str, Any]:
        return {} if self.blob is None else {"blob": self.blob.model_dump(by_alias=True)}


class ArtefactEvent(BaseModel):
    """One attempt to produce an artefact; a ``succeeded`` event must carry a blob."""

    model_config = _CONFIG

    artefact_id: str = Field(pattern=r"^Artifact:\S+$")
    revision: str = Field(pattern=REVISION_PATTERN)
    inputs_hash: str = Field(min_length=1)
    output: ArtefactOutput = Field(default_factory=ArtefactOutput)
    status: ArtefactStatus
    produced_by: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    model: str | None = None
    diagnostics: dict[str, Any] = Field(default_factory=dict)
    created_at: str

    @model_validator(mode="after")
    def _succeeded_has_blob(self) -> ArtefactEvent:
        if self.status == "succeeded" and self.output.blob is None:
            raise ValueError(f"artefact event for {self.artefact_id} says 'succeeded' but has no output blob")
        return self

    @property
    def blob(self) -> BlobRef | None:
        """The produced blob, if any."""
        return self.output.blob


def input_event(
    input_id: str, payload: Any, *, revision: str, clock: Clock, edited_by: str = "user"
) -> InputEvent:
    """An :class:`InputEvent` for ``payload``, hashed with :func:`~tutopanda.core.store.hashing.hash_value`.

    ``payload`` must be JSON-like data. ``bytes`` are accepted as content: they are hashed as a blob and
    recorded as ``{"$bytes": <sha256>, "size": n}`` (store the bytes themselves in the blob store).
    """
    try:
        hashed = hash_value(payload)
        stored = normalise(payload)
    except (TypeError, ValueError) as exc:
        raise InputValidationError(
            f"input {input_id} has a value that cannot be stored: {exc}",
            "give JSON-like data (strings, numbers, booleans, null, lists, objects) or bytes",
        ) from exc
    try:
        return InputEvent(
            id=input_id,
            revision=revision,
            hash=hashed.hash,
            digest=hashed.digest,
            payload=stored,
            edited_by=edited_by,
            created_at=clock.timestamp(),
        )
    except ValueError as exc:
        raise InputValidationError(
            f"invalid input event for {input_id!r}: {exc}",
            "input ids look like 'Input:Name' or 'Input:Module.Name'",
        ) from exc


def error_message(diagnostics: dict[str, Any], default: str = "unknown error") -> str:
    """The error message recorded in an event's diagnostics, whatever shape a hand-written event gave it."""
    error = diagnostics.get("error")
    if isinstance(error, dict):
        return str(error.get("message", default))
    return str(error) if error is not None else default


def error_diagnostics(error: BaseException | str) -> dict[str, Any]:
    """``{"error": {"name", "message"}}`` describing a failure (no traceback: it may hold secrets)."""
    if isinstance(error, BaseException):
        return {"error": {"name": type(error).__name__, "message": str(error)}}
    return {"error": {"name": "Error", "message": error}}


def artefact_event(
    artefact_id: str,
    *,
    status: ArtefactStatus,
    revision: str,
    inputs_hash: str,
    produced_by: str,
    provider: str,
    clock: Clock,
    blob: BlobRef | None = None,
    model: str | None = None,
    diagnostics: dict[str, Any] | None = None,
    error: BaseException | str | None = None,
) -> ArtefactEvent:
    """An :class:`ArtefactEvent`; ``error`` (for failures) is folded into ``diagnostics["error"]``.

    Raises :class:`InputValidationError` for a malformed event (e.g. ``succeeded`` without a blob).
    """
    details = dict(diagnostics or {})
    if error is not None:
        details.update(error_diagnostics(error))
    try:
        return ArtefactEvent(
            artefact_id=artefact_id,
            revision=revision,
            inputs_hash=inputs_hash,
            output=ArtefactOutput(blob=blob),
            status=status,
            produced_by=produced_by,
            provider=provider,
            model=model,
            diagnostics=normalise(details),
            created_at=clock.timestamp(),
        )
    except (TypeError, ValueError) as exc:
        raise InputValidationError(f"invalid artefact event for {artefact_id!r}: {exc}") from exc
