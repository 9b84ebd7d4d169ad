"""``current.json``: the pointer naming a movie's current manifest.

``{revision, manifestPath, hash, updatedAt}`` where ``hash`` is the SHA-256 of the manifest *file bytes*
(so a reader can tell the pointer and the file belong together) — and also the token writers use for
compare-and-swap: a writer states the pointer hash it started from, and loses if it has moved.
All four fields are ``null`` before the first manifest.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from tutopanda.core.store.json_file import parse_json_model, pretty_json_bytes
from tutopanda.core.store.revisions import REVISION_PATTERN

__all__ = ["CurrentPointer", "parse_pointer", "pointer_bytes"]


class CurrentPointer(BaseModel):
    """The content of ``current.json``; :attr:`is_empty` when no manifest has been saved yet."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")

    revision: str | None = Field(default=None, pattern=REVISION_PATTERN)
    manifest_path: str | None = None
    hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    updated_at: str | None = None

    @model_validator(mode="after")
    def _all_or_nothing(self) -> CurrentPointer:
        fields = (self.revision, self.manifest_path, self.hash, self.updated_at)
        if any(value is None for value in fields) and any(value is not None for value in fields):
            raise ValueError("current.json must have all of revision, manifestPath, hash, updatedAt or none")
        if self.revision is not None and self.manifest_path != f"manifests/{self.revision}.json":
            raise ValueError(f"manifestPath {self.manifest_path!r} does not match revision {self.revision}")
        return self

    @property
    def is_empty(self) -> bool:
        return self.revision is None


def pointer_bytes(pointer: CurrentPointer) -> bytes:
    """File content of ``current.json`` (indent 2, sorted keys, trailing newline, nulls kept)."""
    return pretty_json_bytes(pointer.model_dump(by_alias=True, mode="json"))


def parse_pointer(data: bytes, source: str) -> CurrentPointer:
    """Parse ``current.json``; :class:`CorruptDataError` naming ``source`` if it is not a valid pointer."""
    return parse_json_model(
        CurrentPointer,
        data,
        source,
        "current-manifest pointer",
        "restore it from a backup, or rewrite it to name the newest complete file in manifests/",
    )
