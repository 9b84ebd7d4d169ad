"""A reference to a content-addressed blob, and how MIME types map to file extensions.

Events and manifests never embed artefact bytes; they carry a :class:`BlobRef` — the SHA-256 of the raw
bytes, the size and the MIME type — and the bytes live once in the blob store.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from tutopanda.core.errors import UsageError
from tutopanda.core.store.hashing import hash_artefact

__all__ = ["MIME_EXTENSIONS", "BlobRef", "extension_for_mime", "validate_blob_hash"]

MIME_EXTENSIONS: dict[str, str] = {
    "text/plain": "txt",
    "text/markdown": "md",
    "text/html": "html",
    "text/csv": "csv",
    "application/json": "json",
    "application/x-ndjson": "jsonl",
    "application/yaml": "yaml",
    "application/pdf": "pdf",
    "application/octet-stream": "bin",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/svg+xml": "svg",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "audio/aac": "aac",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/quicktime": "mov",
    "text/vtt": "vtt",
    "application/x-subrip": "srt",
}
"""Known MIME types and the extension their blobs get; anything else is stored as ``.bin``."""

_HASH = re.compile(r"[0-9a-f]{64}")
_MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*(;.*)?")


def extension_for_mime(mime_type: str) -> str:
    """File extension (without dot) for ``mime_type``; parameters (``; charset=…``) are ignored."""
    base = mime_type.split(";", 1)[0].strip().lower()
    return MIME_EXTENSIONS.get(base, "bin")


def validate_blob_hash(blob_hash: str) -> str:
    """Return ``blob_hash`` if it is a lower-case SHA-256 hex digest, else raise :class:`UsageError`."""
    if not isinstance(blob_hash, str) or not _HASH.fullmatch(blob_hash):
        raise UsageError(
            f"invalid blob hash {blob_hash!r}", "a blob hash is 64 lower-case hex characters (SHA-256)"
        )
    return blob_hash


class BlobRef(BaseModel):
    """``{hash, size, mimeType}`` of a stored blob."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")

    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    mime_type: str = Field(pattern=f"^{_MIME.pattern}$")

    @classmethod
    def for_bytes(cls, data: bytes, mime_type: str) -> BlobRef:
        """The reference ``data`` gets when stored (:func:`~tutopanda.core.store.hashing.hash_artefact`)."""
        hashed = hash_artefact(bytes(data))
        return cls(hash=hashed.hash, size=hashed.size, mime_type=mime_type)

    @property
    def extension(self) -> str:
        """The file extension this blob is stored under."""
        return extension_for_mime(self.mime_type)
