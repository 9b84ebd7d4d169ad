"""The manifest: an immutable snapshot of a movie's inputs and succeeded artefacts at one revision.

A manifest names things by hash only — input values appear as a hash plus a short digest, artefacts as
blob references — so it stays small however large the payloads are. It is written pretty-printed
(indent 2, sorted keys, trailing newline) so diffs between revisions are readable, and its file bytes
are what ``current.json`` hashes.

The movie's state before its first build is the synthetic empty manifest :func:`empty_manifest`
(revision ``rev-0000``), which is never written to disk.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from tutopanda.core.store.blob_ref import BlobRef
from tutopanda.core.store.json_file import compact_json_bytes, parse_json_model
from tutopanda.core.store.revisions import EMPTY_REVISION, REVISION_PATTERN, parse_revision

__all__ = [
    "EMPTY_MANIFEST_TIME",
    "Manifest",
    "ManifestArtefact",
    "ManifestInput",
    "empty_manifest",
    "manifest_bytes",
    "parse_manifest",
]

EMPTY_MANIFEST_TIME = "1970-01-01T00:00:00.000Z"
"""``createdAt`` of the synthetic empty manifest (fixed, so it is byte-identical everywhere)."""

_CONFIG = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")
_HASH = r"^[0-9a-f]{64}$"


class ManifestInput(BaseModel):
    """``{hash, digest, createdAt}`` of an input's current value."""

    model_config = _CONFIG

    hash: str = Field(pattern=_HASH)
    digest: str
    created_at: str


class ManifestArtefact(BaseModel):
    """The latest succeeded production of an artefact."""

    model_config = _CONFIG

    hash: str = Field(pattern=_HASH)
    blob: BlobRef
    produced_by: str
    inputs_hash: str
    status: Literal["succeeded"] = "succeeded"
    provider: str
    model: str | None = None
    diagnostics: dict[str, Any] = Field(default_factory=dict)
    created_at: str

    @model_validator(mode="after")
    def _hash_is_blob_hash(self) -> ManifestArtefact:
        if self.hash != self.blob.hash:
            raise ValueError(f"artefact hash {self.hash} differs from its blob hash {self.blob.hash}")
        return self


class Manifest(BaseModel):
    """``{revision, baseRevision, createdAt, inputs, artefacts, timeline}``."""

    model_config = _CONFIG

    revision: str = Field(pattern=REVISION_PATTERN)
    base_revision: str | None = Field(default=None, pattern=REVISION_PATTERN)
    created_at: str
    inputs: dict[str, ManifestInput] = Field(default_factory=dict)
    artefacts: dict[str, ManifestArtefact] = Field(default_factory=dict)
    timeline: Any | None = None

    @model_validator(mode="after")
    def _check(self) -> Manifest:
        base = self.base_revision
        if base is not None and parse_revision(base) >= parse_revision(self.revision):
            raise ValueError(f"base revision {self.base_revision} is not before revision {self.revision}")
        for input_id in self.inputs:
            if not input_id.startswith("Input:"):
                raise ValueError(f"input id {input_id!r} does not start with 'Input:'")
        for artefact_id in self.artefacts:
            if not artefact_id.startswith("Artifact:"):
                raise ValueError(f"artefact id {artefact_id!r} does not start with 'Artifact:'")
        return self

    @property
    def is_empty_revision(self) -> bool:
        """True for the synthetic ``rev-0000`` manifest."""
        return self.revision == EMPTY_REVISION


def empty_manifest() -> Manifest:
    """The synthetic empty manifest a movie has before its first build."""
    return Manifest(revision=EMPTY_REVISION, base_revision=None, created_at=EMPTY_MANIFEST_TIME)


def manifest_bytes(manifest: Manifest) -> bytes:
    """The exact file content of ``manifest``: camelCase JSON on one line, sorted keys, trailing newline.

    Compact, not indented: a manifest is a machine file (people read it through ``inspect`` and the
    viewer), and Python's indenting encoder is pure Python — on a 4,000-artefact movie it made the
    end-of-build commit several times slower than the C encoder does.
    """
    return compact_json_bytes(manifest.model_dump(by_alias=True, mode="json"))


def parse_manifest(data: bytes, source: str) -> Manifest:
    """Parse manifest file bytes; :class:`CorruptDataError` naming ``source`` if they are not a manifest."""
    return parse_json_model(
        Manifest,
        data,
        source,
        "manifest",
        "restore it from a backup, or point current.json at an earlier manifest in manifests/",
    )
