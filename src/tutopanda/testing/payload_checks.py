"""Does a payload really hold what its MIME type and artefact kind claim?

Why: "a failed, empty or invalid result is never recorded as success" starts with handlers. The checks
are strict for the formats Tutopanda itself writes (PNG chunks and CRCs, WAV headers, MP4 box layout,
JSON, UTF-8 text) and check the magic bytes of other common media types.
"""

from __future__ import annotations

import json

from tutopanda.providers.mock.mp4 import read_top_level_boxes
from tutopanda.providers.mock.png import check_png
from tutopanda.providers.mock.wav import read_wav_info

__all__ = ["KIND_MIME_PREFIXES", "check_payload", "sniff_mime"]

KIND_MIME_PREFIXES: dict[str, tuple[str, ...]] = {
    "text": ("text/", "application/x-subrip"),
    "json": ("application/json",),
    "image": ("image/",),
    "audio": ("audio/",),
    "video": ("video/",),
}
"""The MIME types an artefact of each kind may carry (by prefix)."""

_SNIFFABLE = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "audio/wav",
        "audio/mpeg",
        "audio/ogg",
        "audio/flac",
    }
    | {"audio/mp4", "video/webm", "video/mp4"}
)
_ALIASES = {"audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/mp3": "audio/mpeg"}


def _base(mime_type: str) -> str:
    base = mime_type.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def sniff_mime(data: bytes) -> str | None:
    """The media type ``data``'s magic bytes announce, or None (text and JSON have no magic)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data.startswith(b"fLaC"):
        return "audio/flac"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return None


def check_payload(data: bytes, mime_type: str, kind: str | None = None) -> None:
    """Raise :class:`ValueError` unless ``data`` is a non-empty, well-formed ``mime_type`` for ``kind``."""
    if not data:
        raise ValueError("the payload is empty")
    base = _base(mime_type)
    if kind in KIND_MIME_PREFIXES:
        allowed = KIND_MIME_PREFIXES[kind]
        if not base.startswith(allowed) and not (kind == "json" and base.endswith("+json")):
            raise ValueError(f"a {kind} artefact cannot be {mime_type!r} (expected {' or '.join(allowed)}*)")
    if base == "application/json" or base.endswith("+json"):
        try:
            json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"declared {mime_type!r} but is not UTF-8 JSON: {exc}") from exc
        return
    if base.startswith("text/") or base == "application/x-subrip":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"declared {mime_type!r} but is not UTF-8 text: {exc}") from exc
        return
    sniffed = sniff_mime(data)
    if base == "audio/mp4" and sniffed == "video/mp4":
        sniffed = base
    if base in _SNIFFABLE and sniffed != base:
        raise ValueError(f"declared {mime_type!r} but the bytes look like {sniffed or 'something else'}")
    if base == "image/png":
        check_png(data)
    elif base == "audio/wav":
        info = read_wav_info(data)
        if info.frames == 0:
            raise ValueError("the WAV holds no samples")
    elif base == "video/mp4":
        read_top_level_boxes(data)
