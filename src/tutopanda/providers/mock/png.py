"""A tiny pure-Python PNG writer and a strict PNG checker.

Why not Pillow: mock images must be producible with no optional dependency installed, and a solid
colour with a digest-derived stripe is all a test needs. The writer emits a standard 8-bit RGB,
non-interlaced PNG with a ``tEXt`` chunk carrying the input digest, so two different
inputs never give the same bytes even when their colours happen to coincide.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

__all__ = ["PNG_SIGNATURE", "PngInfo", "check_png", "write_png"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class PngInfo:
    """What :func:`check_png` found: the size and the ``tEXt`` entries."""

    width: int
    height: int
    text: dict[str, str]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def write_png(
    width: int,
    height: int,
    background: tuple[int, int, int],
    stripe: tuple[int, int, int],
    *,
    text: dict[str, str] | None = None,
) -> bytes:
    """An RGB PNG filled with ``background`` and a horizontal ``stripe`` across its middle third."""
    if width < 1 or height < 1:
        raise ValueError(f"PNG size must be positive, got {width}x{height}")
    plain = bytes(background) * width
    striped = bytes(stripe) * width
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type 0 (None) for every scanline
        rows += striped if height // 3 <= y < 2 * height // 3 else plain
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = [_chunk(b"IHDR", header)]
    for key, value in sorted((text or {}).items()):
        chunks.append(_chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1")))
    chunks.append(_chunk(b"IDAT", zlib.compress(bytes(rows), 9)))
    chunks.append(_chunk(b"IEND", b""))
    return PNG_SIGNATURE + b"".join(chunks)


def check_png(data: bytes) -> PngInfo:
    """Parse ``data`` as a PNG, checking every chunk's CRC and the decompressed image size.

    Raises :class:`ValueError` naming the first problem. Supports the non-interlaced 8-bit colour
    types a handler is likely to emit (grey, RGB, grey+alpha, RGBA) fully, and checks the chunk
    structure of any other PNG.
    """
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG: bad signature")
    offset = len(PNG_SIGNATURE)
    header: tuple[int, ...] | None = None
    idat = bytearray()
    text: dict[str, str] = {}
    seen_end = False
    while offset < len(data):
        if offset + 8 > len(data):
            raise ValueError(f"PNG truncated in a chunk header at byte {offset}")
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        payload = data[offset + 8 : offset + 8 + length]
        if len(payload) != length or offset + 12 + length > len(data):
            raise ValueError(f"PNG chunk {kind!r} truncated")
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        if zlib.crc32(kind + payload) & 0xFFFFFFFF != crc:
            raise ValueError(f"PNG chunk {kind!r} has a bad CRC")
        if header is None and kind != b"IHDR":
            raise ValueError("PNG does not start with IHDR")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", payload)
        elif kind == b"IDAT":
            idat += payload
        elif kind == b"tEXt":
            key, _, value = payload.partition(b"\0")
            text[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"IEND":
            seen_end = True
            offset += 12 + length
            break
        offset += 12 + length
    if header is None or not seen_end:
        raise ValueError("PNG lacks IHDR or IEND")
    if offset != len(data):
        raise ValueError("PNG has bytes after IEND")
    width, height, depth, colour, _, _, interlace = header
    if width < 1 or height < 1:
        raise ValueError("PNG has an empty size")
    try:
        raw = zlib.decompress(bytes(idat))
    except zlib.error as exc:
        raise ValueError(f"PNG image data does not decompress: {exc}") from exc
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if channels is not None and depth == 8 and interlace == 0:
        expected = height * (1 + width * channels)
        if len(raw) != expected:
            raise ValueError(f"PNG image data is {len(raw)} bytes, expected {expected}")
    return PngInfo(width=width, height=height, text=text)
