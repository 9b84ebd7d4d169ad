"""Media types read from the bytes: what `edit --replace` trusts to decide whether a file fits."""

from __future__ import annotations

import io
import struct
import wave
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from PIL import Image

from tutopanda.core.media_type import media_type_of_bytes, media_type_of_file


def _image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (10, 200, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def _wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x01" * 80)
    return buffer.getvalue()


def _mp4(brand: bytes) -> bytes:
    return struct.pack(">I", 24) + b"ftyp" + brand + b"\x00\x00\x02\x00" + b"isomiso2" + b"\x00" * 40


SIGNATURES: list[tuple[str, bytes, str]] = [
    ("png", _image("PNG"), "image/png"),
    ("jpeg", _image("JPEG"), "image/jpeg"),
    ("gif", _image("GIF"), "image/gif"),
    ("webp", _image("WEBP"), "image/webp"),
    ("wav", _wav(), "audio/wav"),
    ("mp3-id3", b"ID3\x04\x00\x00\x00\x00\x00\x23" + b"\x00" * 40, "audio/mpeg"),
    ("mp3-frame", b"\xff\xfb\x90\x64" + b"\x00" * 40, "audio/mpeg"),
    ("flac", b"fLaC\x00\x00\x00\x22" + b"\x00" * 40, "audio/flac"),
    ("ogg", b"OggS\x00\x02" + b"\x00" * 40, "audio/ogg"),
    ("mp4", _mp4(b"isom"), "video/mp4"),
    ("m4a", _mp4(b"M4A "), "audio/mp4"),
    ("webm", b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01" + b"\x00" * 40, "video/webm"),
]


@pytest.mark.parametrize(
    ("data", "expected"), [(d, e) for _, d, e in SIGNATURES], ids=[n for n, _, _ in SIGNATURES]
)
def test_known_signatures_are_recognised_from_bytes_and_files(
    data: bytes, expected: str, tmp_path: Path
) -> None:
    assert media_type_of_bytes(data[:64]) == expected
    # A misleading file name does not matter: only the bytes count.
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    assert media_type_of_file(path) == expected


def test_text_json_and_binary() -> None:
    assert media_type_of_bytes(b"Lava rises through the crust.\n") == "text/plain"
    assert media_type_of_bytes("Éruption — lave 🌋".encode()) == "text/plain"
    assert media_type_of_bytes(b'  {"segments": [1, 2]}') == "application/json"
    assert media_type_of_bytes(b"[1, 2, 3]") == "application/json"
    assert media_type_of_bytes(b"text with a \x00 NUL inside") == "application/octet-stream"
    assert media_type_of_bytes(bytes(range(256))) == "application/octet-stream"
    assert media_type_of_bytes(b"") == "text/plain"


def test_a_multibyte_character_cut_by_the_read_window_is_still_text(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_bytes(b"a" + ("é" * 300).encode())  # the 512-byte read window ends inside an "é"
    assert media_type_of_file(path) == "text/plain"
    assert media_type_of_bytes("hé".encode()[:-1]) == "text/plain"


def test_invalid_utf8_near_the_end_is_not_text() -> None:
    assert media_type_of_bytes(b"\xff") == "application/octet-stream"
    assert media_type_of_bytes(b"plain words\xfe") == "application/octet-stream"


@given(st.binary(max_size=600))
def test_any_bytes_give_a_media_type(data: bytes) -> None:
    result = media_type_of_bytes(data)
    assert isinstance(result, str)
    assert "/" in result


_SIGNATURE_PREFIXES = (b"GIF87a", b"GIF89a", b"ID3", b"fLaC", b"OggS")


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=200))
def test_text_without_nul_is_text_or_json(text: str) -> None:
    data = text.encode("utf-8")
    starts_with_signature = (
        data.startswith(_SIGNATURE_PREFIXES) or data[4:8] == b"ftyp" or data[:4] == b"RIFF"
    )
    assume(not starts_with_signature)
    expected = "application/json" if data.lstrip()[:1] in (b"{", b"[") else "text/plain"
    assert media_type_of_bytes(data) == expected
