"""Media types from the bytes themselves, not from a file name or a provider's say-so.

Why: a user's ``--replace image.png`` may really be a JPEG, and a provider's download URL may end in
``.bin``; the renderer and the viewer need the true type. Only the formats the pipeline handles are
recognised; anything else is ``application/octet-stream`` (or ``text/plain`` when it is UTF-8 text).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ARTEFACT_KIND_TYPES", "media_type_of_bytes", "media_type_of_file"]

ARTEFACT_KIND_TYPES = {
    "image": ("image/",),
    "audio": ("audio/",),
    "video": ("video/",),
    "text": ("text/",),
    "json": ("application/json",),
}
"""Blueprint artefact kind -> media-type prefixes a file for it may have."""

_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\xff\xfb", "audio/mpeg"),
    (0, b"\xff\xf3", "audio/mpeg"),
    (0, b"\xff\xf2", "audio/mpeg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"OggS", "audio/ogg"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
)


def media_type_of_bytes(head: bytes) -> str:
    """The media type of content starting with ``head`` (give at least the first 64 bytes)."""
    for offset, magic, media_type in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "audio/mp4" if brand in (b"M4A ", b"M4B ") else "video/mp4"
    stripped = head.lstrip()
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Only a multi-byte character cut by the end of ``head`` is forgiven; any other bad byte is binary.
        if exc.reason != "unexpected end of data" or exc.start < len(head) - 3:
            return "application/octet-stream"
    if b"\x00" in head:
        return "application/octet-stream"
    if stripped[:1] in (b"{", b"["):
        return "application/json"
    return "text/plain"


def media_type_of_file(path: Path) -> str:
    """The media type of the file at ``path``, from its first bytes."""
    with path.open("rb") as handle:
        return media_type_of_bytes(handle.read(512))
