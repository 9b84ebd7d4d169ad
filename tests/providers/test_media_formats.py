"""The mock media writers make real files: PNG, WAV and MP4 that other tools can read."""

from __future__ import annotations

import io
import struct
import subprocess
import wave
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutopanda.providers.mock.mp4 import mock_mp4, mp4_template, read_top_level_boxes
from tutopanda.providers.mock.png import check_png, write_png
from tutopanda.providers.mock.wav import HEADER_BYTES, read_wav_info, write_tone_wav
from tutopanda.testing import check_payload, sniff_mime

DIGEST = "ab" * 32


def test_png_chunks_and_crcs_are_valid() -> None:
    data = write_png(64, 36, (10, 20, 30), (200, 100, 0), text={"mock": DIGEST})
    info = check_png(data)
    assert (info.width, info.height, info.text) == (64, 36, {"mock": DIGEST})
    corrupted = bytearray(data)
    corrupted[40] ^= 0xFF
    with pytest.raises(ValueError, match=r"CRC|IHDR"):
        check_png(bytes(corrupted))
    with pytest.raises(ValueError, match=r"truncated|IEND"):
        check_png(data[:-6])


def test_png_pixels_decode_to_the_requested_colours() -> None:
    data = write_png(4, 3, (1, 2, 3), (9, 8, 7))
    idat_start = data.index(b"IDAT") + 4
    (length,) = struct.unpack(">I", data[idat_start - 8 : idat_start - 4])
    raw = zlib.decompress(data[idat_start : idat_start + length])
    rows = [raw[i * 13 : (i + 1) * 13] for i in range(3)]
    assert rows[0] == b"\0" + bytes((1, 2, 3)) * 4
    assert rows[1] == b"\0" + bytes((9, 8, 7)) * 4


def test_png_opens_in_pillow_when_installed() -> None:
    image_module = pytest.importorskip("PIL.Image")
    with image_module.open(io.BytesIO(write_png(64, 36, (5, 5, 5), (250, 0, 0)))) as image:
        image.load()
        assert image.size == (64, 36) and image.mode == "RGB"


@given(seconds=st.floats(min_value=0.01, max_value=5), period=st.integers(2, 200))
def test_wav_length_matches_the_request(seconds: float, period: int) -> None:
    data = write_tone_wav(seconds, period=period, amplitude=0.5, comment="x")
    info = read_wav_info(data)
    assert (info.channels, info.sample_width, info.sample_rate) == (1, 2, 8000)
    assert info.frames == max(1, round(seconds * 8000))
    with wave.open(io.BytesIO(data)) as reader:
        assert len(reader.readframes(info.frames)) == info.frames * 2


_ASCII = st.characters(min_codepoint=32, max_codepoint=126)


@given(seconds=st.floats(min_value=0.01, max_value=20), comment=st.text(_ASCII, max_size=300))
def test_wav_length_from_its_header_equals_its_length_from_all_bytes(seconds: float, comment: str) -> None:
    data = write_tone_wav(seconds, period=7, amplitude=0.5, comment=comment)
    head = data[:HEADER_BYTES] if len(data) > HEADER_BYTES else data[:200]
    assert read_wav_info(head, total_size=len(data)) == read_wav_info(data)
    with pytest.raises(ValueError, match="does not match"):
        read_wav_info(head, total_size=len(data) + 1)


def test_wav_reader_refuses_other_bytes() -> None:
    with pytest.raises(ValueError, match="not a WAV"):
        read_wav_info(b"ID3 not a wav")
    with pytest.raises(ValueError, match="does not match"):
        read_wav_info(write_tone_wav(1, period=10, amplitude=1)[:-10])


def test_mock_mp4_is_the_template_plus_a_free_box() -> None:
    template = mp4_template()
    assert len(template) < 5000
    data = mock_mp4(DIGEST)
    assert data.startswith(template)
    boxes = read_top_level_boxes(data)
    assert boxes[0][0] == "ftyp" and boxes[-1][0] == "free"
    assert DIGEST.encode() in data[boxes[-1][1] :]
    assert mock_mp4("cd" * 32) != data


def test_mp4_box_walk_refuses_broken_files() -> None:
    with pytest.raises(ValueError, match=r"bad size|truncated"):
        read_top_level_boxes(mock_mp4(DIGEST)[:-3])
    with pytest.raises(ValueError, match="ftyp"):
        read_top_level_boxes(struct.pack(">I", 8) + b"free")


def test_mock_mp4_decodes_with_ffmpeg_when_available(tmp_path: Path) -> None:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    path = tmp_path / "clip.mp4"
    path.write_bytes(mock_mp4(DIGEST))
    done = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == ""


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (write_png(2, 2, (0, 0, 0), (1, 1, 1)), "image/png"),
        (write_tone_wav(1, period=8, amplitude=0.2), "audio/wav"),
        (mock_mp4(DIGEST), "video/mp4"),
        (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        (b"ID3\x04rest", "audio/mpeg"),
        (b'{"a": 1}', None),
    ],
)
def test_sniffing_recognises_magic_bytes(data: bytes, mime: str | None) -> None:
    assert sniff_mime(data) == mime


@pytest.mark.parametrize(
    ("data", "mime", "kind", "problem"),
    [
        (b"", "text/plain", "text", "empty"),
        (b"hello", "image/png", "text", "text artefact cannot be 'image/png'"),
        (b"{oops", "application/json", "json", "not UTF-8 JSON"),
        (b"\xff\xfe", "text/plain", "text", "not UTF-8 text"),
        (mock_mp4(DIGEST), "image/png", "image", "look like video/mp4"),
        (write_png(2, 2, (0, 0, 0), (1, 1, 1)), "audio/wav", "audio", "look like image/png"),
    ],
)
def test_payload_checks_name_the_mismatch(data: bytes, mime: str, kind: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_payload(data, mime, kind)


def test_payload_checks_accept_mime_parameters_and_aliases() -> None:
    check_payload("héllo".encode(), "text/plain; charset=utf-8", "text")
    check_payload(write_tone_wav(1, period=8, amplitude=0.2), "audio/x-wav", "audio")
    check_payload(b'{"a": 1}', "application/ld+json", "json")


def test_the_mock_timeline_reads_a_whole_wav_whose_samples_start_past_the_header_it_reads() -> None:
    import contextlib

    from tutopanda.core.engine.provider_contract import ArtefactInput
    from tutopanda.core.store.blob_ref import BlobRef
    from tutopanda.providers.mock.timeline import _audio_seconds

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return kind + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")

    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    metadata = chunk(b"LIST", b"INFO" + b"x" * (HEADER_BYTES + 1000))  # as some encoders write
    body = b"WAVE" + chunk(b"fmt ", fmt) + metadata + chunk(b"data", b"\1\0" * 8000 * 3)
    data = b"RIFF" + struct.pack("<I", len(body)) + body
    item = ArtefactInput(
        "Artifact:Narration.Audio[0]",
        "audio",
        BlobRef.for_bytes(data, "audio/wav"),
        opener=lambda: contextlib.nullcontext(io.BytesIO(data)),
    )
    estimated: list[str] = []
    assert _audio_seconds(item, 99.0, estimated) == 3.0
    assert estimated == []
