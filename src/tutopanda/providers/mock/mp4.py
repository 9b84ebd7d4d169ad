"""Mock MP4s: one tiny committed template plus a ``free`` box that makes each input's bytes unique.

Why a template: writing an H.264 stream by hand is out of scope and ffmpeg is not a runtime
dependency. ``template.mp4`` (1 s, 32x32, black, H.264, no audio, ~1.5 KB) was made once with the
ffmpeg binary of ``imageio-ffmpeg``::

    ffmpeg -f lavfi -i color=c=black:s=32x32:r=1:d=1 -c:v libx264 -preset veryslow -tune stillimage \
        -crf 51 -pix_fmt yuv420p -movflags +faststart -map_metadata -1 -fflags +bitexact template.mp4

A top-level ``free`` box is valid anywhere in an ISO-BMFF file and players skip it, so appending one
holding the input digest keeps the file playable while its bytes (and blob hash) differ per input.
"""

from __future__ import annotations

import struct
from functools import cache
from importlib import resources

__all__ = ["Mp4Box", "mock_mp4", "mp4_template", "read_top_level_boxes"]

Mp4Box = tuple[str, int, int]
"""``(type, offset, size)`` of a top-level ISO-BMFF box."""


@cache
def mp4_template() -> bytes:
    """The committed template's bytes (read once)."""
    return resources.files("tutopanda.providers.mock").joinpath("template.mp4").read_bytes()


def mock_mp4(digest: str) -> bytes:
    """The template followed by a ``free`` box holding ``tutopanda-mock:<digest>``."""
    payload = f"tutopanda-mock:{digest}".encode("ascii")
    return mp4_template() + struct.pack(">I", 8 + len(payload)) + b"free" + payload


def read_top_level_boxes(data: bytes) -> list[Mp4Box]:
    """Walk the top-level boxes, checking they tile the file exactly; :class:`ValueError` otherwise.

    Also checks the structure a player needs: ``ftyp`` first, then a ``moov`` and an ``mdat`` box.
    """
    boxes: list[Mp4Box] = []
    offset = 0
    while offset < len(data):
        if offset + 8 > len(data):
            raise ValueError(f"MP4 truncated in a box header at byte {offset}")
        (size,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8].decode("latin-1")
        header = 8
        if size == 1:
            if offset + 16 > len(data):
                raise ValueError("MP4 truncated in a 64-bit box size")
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
            header = 16
        elif size == 0:
            size = len(data) - offset
        if size < header or offset + size > len(data):
            raise ValueError(f"MP4 box {kind!r} at byte {offset} has a bad size {size}")
        boxes.append((kind, offset, size))
        offset += size
    kinds = [kind for kind, _, _ in boxes]
    if not kinds or kinds[0] != "ftyp":
        raise ValueError("MP4 does not start with an ftyp box")
    if "moov" not in kinds or "mdat" not in kinds:
        raise ValueError("MP4 lacks a moov or mdat box")
    return boxes
