"""Media types from the bytes themselves, not from a file name or a provider's say-so.

Why: a user's ``--replace image.png`` may really be a JPEG, and a provider's download URL may end in
``.bin``; the renderer and the viewer need the true type. Only the formats the pipeline handles are
recognised; anything else is ``application/octet-stream`` (or ``text/plain`` when it is UTF-8 text).

Two families need more than a fixed prefix:

* **ISO base media** (``....ftyp``): the major brand decides — ``avif``/``avis`` are AVIF images,
  ``heic``/``heix`` HEIC images, and the generic HEIF brands ``mif1``/``msf1`` HEIC unless ``avif`` or
  ``avis`` is among the compatible brands; ``M4A``/``M4B``/``M4P`` are MP4 audio; any other brand
  (``isom``, ``mp41``, ``mp42``, ...) is MP4 video, which may still hold audio only (see :func:`fits_kind`).
* **Frame-sync audio** (first 11 or 12 bits set): ADTS AAC has MPEG layer bits ``00`` (``\xff\xf1``,
  ``\xff\xf9``; ``\xff\xf0``/``\xff\xf8`` with a CRC), which MPEG audio reserves, so it is told apart
  first; MPEG audio frames (``\xff\xfb``, ``\xff\xfa``, ``\xff\xf3``, ``\xff\xe3``, ...) must have a
  valid version, layer, bitrate and sample rate, so random binary starting with ``\xff`` is not audio.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ARTEFACT_KIND_TYPES", "fits_kind", "media_type_of_bytes", "media_type_of_file"]

ARTEFACT_KIND_TYPES = {
    "image": ("image/",),
    "audio": ("audio/",),
    "video": ("video/",),
    "text": ("text/",),
    "json": ("application/json",),
}
"""Blueprint artefact kind -> media-type prefixes a file for it may have."""

_ALSO_FITS: dict[str, frozenset[str]] = {
    "audio": frozenset({"video/mp4"}),
    "text": frozenset({"application/json"}),
}
"""Media types outside a kind's prefixes that still fit it: an MP4 container may hold audio only (its
brand says ``isom``, so the bytes say ``video/mp4``), and a JSON answer is text."""

_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"OggS", "audio/ogg"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
)

_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIC_BRANDS = frozenset({b"heic", b"heix"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
"""Generic HEIF brands: AVIF when ``avif``/``avis`` is a compatible brand, else HEIC."""
_MP4_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P "})
_ADTS_SAMPLE_RATES = 13
"""ADTS sampling-frequency indexes 0..12 are defined; 13..15 are reserved or explicit."""


def fits_kind(media_type: str, kind: str) -> bool:
    """Whether a file of ``media_type`` may be stored as an artefact of blueprint ``kind``.

    ``video/mp4`` fits an ``audio`` artefact (an MP4 container may hold audio only) and
    ``application/json`` fits ``text``. A kind this module does not know is not policed (True).
    """
    prefixes = ARTEFACT_KIND_TYPES.get(kind)
    if prefixes is None:
        return True
    return media_type.startswith(prefixes) or media_type in _ALSO_FITS.get(kind, frozenset())


def _iso_media_type(head: bytes) -> str:
    """The media type of an ISO base media file (``....ftyp``) from its major and compatible brands."""
    brand = head[8:12]
    if brand in _AVIF_BRANDS:
        return "image/avif"
    if brand in _HEIC_BRANDS:
        return "image/heic"
    if brand in _HEIF_BRANDS:
        box_end = min(int.from_bytes(head[:4], "big"), len(head))
        compatible = {head[i : i + 4] for i in range(16, box_end - 3, 4)}
        return "image/avif" if compatible & _AVIF_BRANDS else "image/heic"
    if brand in _MP4_AUDIO_BRANDS:
        return "audio/mp4"
    return "video/mp4"


def _frame_sync_media_type(head: bytes) -> str | None:
    """``audio/aac`` for an ADTS header, ``audio/mpeg`` for an MPEG audio frame header, else None.

    Both start with 0xFFE (11 bits). ADTS is 0xFFF with layer bits ``00`` — a layer MPEG audio reserves
    — so it is checked first. The third byte, when present, must hold a valid sample rate (and, for
    MPEG audio, a bitrate index other than the reserved ``1111``).
    """
    if len(head) < 2 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    second = head[1]
    third = head[2] if len(head) > 2 else None
    if second & 0xF6 == 0xF0:  # 1111 x00x: sync 0xFFF, MPEG-4/MPEG-2 id, layer 00
        if third is not None and (third >> 2) & 0x0F >= _ADTS_SAMPLE_RATES:
            return None
        return "audio/aac"
    version = (second >> 3) & 0x03
    layer = (second >> 1) & 0x03
    if version == 0b01 or layer == 0b00:  # reserved
        return None
    if third is not None and (third >> 4 == 0x0F or (third >> 2) & 0x03 == 0x03):
        return None
    return "audio/mpeg"


def media_type_of_bytes(head: bytes) -> str:
    """The media type of content starting with ``head`` (give at least the first 64 bytes)."""
    for offset, magic, media_type in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return media_type
    frame_sync = _frame_sync_media_type(head)
    if frame_sync is not None:
        return frame_sync
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if head[4:8] == b"ftyp":
        return _iso_media_type(head)
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
