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

from tutopanda.core.store.media_type import (
    ARTEFACT_KIND_TYPES,
    fits_kind,
    media_type_of_bytes,
    media_type_of_file,
)


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


def _mp4(brand: bytes, compatible: bytes = b"isomiso2") -> bytes:
    size = 16 + len(compatible)
    return struct.pack(">I", size) + b"ftyp" + brand + b"\x00\x00\x02\x00" + compatible + b"\x00" * 40


def _aiff(form: bytes) -> bytes:
    return b"FORM" + struct.pack(">I", 4000) + form + b"COMM" + struct.pack(">I", 18) + b"\x00" * 40


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
    ("mp3-frame-crc", b"\xff\xfa\x90\x64" + b"\x00" * 40, "audio/mpeg"),
    ("mp3-mpeg2", b"\xff\xf3\x64\xc4" + b"\x00" * 40, "audio/mpeg"),
    ("mp3-mpeg25", b"\xff\xe3\x18\xc4" + b"\x00" * 40, "audio/mpeg"),
    ("aac-adts-mpeg4", b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 40, "audio/aac"),
    ("aac-adts-mpeg2", b"\xff\xf9\x50\x80\x02\x1f\xfc" + b"\x00" * 40, "audio/aac"),
    ("aiff", _aiff(b"AIFF"), "audio/aiff"),
    ("aifc", _aiff(b"AIFC"), "audio/aiff"),
    ("mp4", _mp4(b"isom"), "video/mp4"),
    ("mp4-mp42", _mp4(b"mp42", b"mp42mp41isom"), "video/mp4"),
    ("mp4-mp41", _mp4(b"mp41"), "video/mp4"),
    ("m4a", _mp4(b"M4A "), "audio/mp4"),
    ("m4b", _mp4(b"M4B "), "audio/mp4"),
    ("m4p", _mp4(b"M4P "), "audio/mp4"),
    ("avif", _mp4(b"avif", b"avifmif1miafMA1B"), "image/avif"),
    ("avif-sequence", _mp4(b"avis", b"avismsf1iso8"), "image/avif"),
    ("avif-under-mif1", _mp4(b"mif1", b"mif1avifmiaf"), "image/avif"),
    ("heic", _mp4(b"heic", b"mif1heic"), "image/heic"),
    ("heix", _mp4(b"heix", b"mif1heix"), "image/heic"),
    ("heif-mif1", _mp4(b"mif1", b"mif1heic"), "image/heic"),
    ("heif-msf1", _mp4(b"msf1", b"msf1hevc"), "image/heic"),
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


def test_frame_sync_bytes_that_are_no_valid_frame_are_not_audio() -> None:
    # 0xFFF? with a reserved MPEG version, a free/bad bitrate, or a bad ADTS sampling index.
    assert media_type_of_bytes(b"\xff\xeb\x90\x64" + bytes(40)) == "application/octet-stream"
    assert media_type_of_bytes(b"\xff\xfb\xf0\x64" + bytes(40)) == "application/octet-stream"
    assert media_type_of_bytes(b"\xff\xfb\x9c\x64" + bytes(40)) == "application/octet-stream"
    assert media_type_of_bytes(b"\xff\xf1\x3c\x80" + bytes(40)) == "application/octet-stream"
    assert media_type_of_bytes(b"\xff\xf3\x00\x00" + bytes(40)) == "audio/mpeg"  # free format


@pytest.mark.parametrize(
    ("media_type", "kind", "fits"),
    [
        ("image/png", "image", True),
        ("image/avif", "image", True),
        ("audio/mpeg", "audio", True),
        ("audio/aac", "audio", True),
        ("video/mp4", "audio", True),  # an MP4 container may hold audio only
        ("video/webm", "audio", False),
        ("video/mp4", "video", True),
        ("audio/mp4", "video", False),
        ("text/plain", "text", True),
        ("application/json", "text", True),  # a JSON answer is text too
        ("application/json", "json", True),
        ("text/plain", "json", False),
        ("image/png", "audio", False),
        ("application/octet-stream", "image", False),
        ("application/octet-stream", "some-future-kind", True),  # unknown kinds are not policed
    ],
)
def test_fits_kind(media_type: str, kind: str, fits: bool) -> None:
    assert fits_kind(media_type, kind) is fits


def test_every_recognised_type_fits_its_own_kind() -> None:
    kinds = {"image": "image", "audio": "audio", "video": "video"}
    for name, data, expected in SIGNATURES:
        kind = kinds[expected.split("/")[0]]
        assert kind in ARTEFACT_KIND_TYPES
        assert fits_kind(media_type_of_bytes(data), kind), name


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
        data.startswith(_SIGNATURE_PREFIXES) or data[4:8] == b"ftyp" or data[:4] in (b"RIFF", b"FORM")
    )
    assume(not starts_with_signature)
    expected = "application/json" if data.lstrip()[:1] in (b"{", b"[") else "text/plain"
    assert media_type_of_bytes(data) == expected
