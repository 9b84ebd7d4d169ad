"""A live build mixing OpenAI, ElevenLabs and Replicate (mocked at HTTP) with local handlers, end to end.

The three APIs are answered by respx in this process, in their documented shapes; everything else is
real: the runner, the blob store, the offline music synth, the ffmpeg renderer. Afterwards every file
under the storage root and everything printed is scanned for the three API keys.
"""

from __future__ import annotations

import io
import json
import math
import struct
import wave
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from PIL import Image

from tutopanda.cli.main import main

SECRETS = {
    "OPENAI_API_KEY": "sk-proj-canary-openai-5b1d0f",
    "ELEVENLABS_API_KEY": "canary-elevenlabs-77aa01",
    "REPLICATE_API_TOKEN": "r8_canary-replicate-c0ffee",
}
FLUX = "black-forest-labs/flux-schnell"
OUTPUT_URL = "https://replicate.delivery/xezq/canary/out-0.png"


def _wav(seconds: float = 1.5, rate: int = 22050) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = (int(8000 * math.sin(2 * math.pi * 220 * i / rate)) for i in range(int(seconds * rate)))
        out.writeframes(b"".join(struct.pack("<h", frame) for frame in frames))
    return buffer.getvalue()


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 360), (30, 90, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def _openai(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    name = body.get("text", {}).get("format", {}).get("name")
    if name == "script":
        answer: Any = {
            "title": "Tides",
            "summary": "How the Moon pulls the seas.",
            "segments": ["The Moon pulls on the oceans.", "Twice a day the water rises and falls."],
        }
    else:
        answer = {"prompts": ["A glowing Moon above a dark sea"]}
    return httpx.Response(
        200,
        headers={"x-request-id": "req_canary"},
        json={
            "id": "resp_1",
            "object": "response",
            "status": "completed",
            "model": "gpt-5-mini-2025-08-07",
            "output": [
                {"id": "rs_1", "type": "reasoning", "summary": []},
                {
                    "id": "msg_1",
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "annotations": [], "text": json.dumps(answer)}],
                },
            ],
            "usage": {"input_tokens": 900, "output_tokens": 300, "total_tokens": 1200},
        },
    )


def _flux_schema() -> dict[str, Any]:
    schemas = {
        "Input": {
            "type": "object",
            "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string"},
                "aspect_ratio": {"allOf": [{"$ref": "#/components/schemas/aspect_ratio"}]},
                "num_outputs": {"type": "integer", "minimum": 1, "maximum": 4},
                "num_inference_steps": {"type": "integer", "minimum": 1, "maximum": 4},
                "seed": {"type": "integer"},
                "output_format": {"allOf": [{"$ref": "#/components/schemas/output_format"}]},
            },
        },
        "aspect_ratio": {"type": "string", "enum": ["1:1", "16:9", "9:16", "4:3", "3:4"]},
        "output_format": {"type": "string", "enum": ["webp", "jpg", "png"]},
    }
    return {
        "owner": "black-forest-labs",
        "name": "flux-schnell",
        "latest_version": {"id": "v1", "openapi_schema": {"components": {"schemas": schemas}}},
    }


def _prediction() -> dict[str, Any]:
    return {
        "id": "pred_canary",
        "model": FLUX,
        "version": "v1",
        "status": "succeeded",
        "output": [OUTPUT_URL],
        "error": None,
        "metrics": {"predict_time": 0.7},
        "urls": {
            "get": "https://api.replicate.com/v1/predictions/pred_canary",
            "cancel": "https://api.replicate.com/v1/predictions/pred_canary/cancel",
        },
    }


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TUTOPANDA_PROVIDERS", "live")
    return tmp_path / "store"


@pytest.mark.slow  # a live build against mocked APIs, rendered: ~15 s on 2 busy cores
@respx.mock(assert_all_called=True)
def test_a_mixed_live_build_records_provider_metadata_renders_and_leaks_no_secret(
    respx_mock: respx.MockRouter, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    responses = respx_mock.post("https://api.openai.com/v1/responses").mock(side_effect=_openai)
    speech = respx_mock.post(url__regex=r"https://api\.elevenlabs\.io/v1/text-to-speech/.+").mock(
        return_value=httpx.Response(200, headers={"request-id": "el_1"}, content=_wav())
    )
    respx_mock.get(f"https://api.replicate.com/v1/models/{FLUX}").mock(
        return_value=httpx.Response(200, json=_flux_schema())
    )
    create = respx_mock.post(f"https://api.replicate.com/v1/models/{FLUX}/predictions").mock(
        return_value=httpx.Response(201, json=_prediction())
    )
    respx_mock.get(OUTPUT_URL).mock(return_value=httpx.Response(200, content=_png()))

    code = main(
        [
            "--root", str(root), "query", "How do tides work?", "--movie", "tides",
            "--segments", "2", "--duration", "8", "--resolution", "480p",
            "--provider", "Script=openai/gpt-5-mini",
            "--provider", "ImagePrompts=openai/gpt-5-mini",
            "--provider", "Narration=elevenlabs/eleven_multilingual_v2",
            "--provider", f"Images=replicate/{FLUX}",
            "--yes", "--json",
        ]
    )  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    report = json.loads(printed.out)
    assert report["failed"] == [] and report["revision"] == "rev-0001"
    assert responses.call_count == 3 and speech.call_count == 2 and create.call_count == 2
    assert all(call.request.headers["xi-api-key"] == SECRETS["ELEVENLABS_API_KEY"] for call in speech.calls)
    # the token goes to api.replicate.com only, never to the file host
    assert "authorization" not in {key.lower() for key in respx_mock.calls.last.request.headers}

    video = Path(report["video"])
    assert video.is_file() and video.read_bytes()[4:8] == b"ftyp"
    manifest = json.loads(next((root / "builds" / "tides" / "manifests").glob("rev-0001.json")).read_text())
    artefacts = manifest["artefacts"]
    by_provider = {key: (entry["provider"], entry["model"]) for key, entry in artefacts.items()}
    assert by_provider["Artifact:Script.MovieTitle"] == ("openai", "gpt-5-mini")
    assert by_provider["Artifact:Narration.SegmentAudio[1]"] == ("elevenlabs", "eleven_multilingual_v2")
    assert by_provider["Artifact:Images.SegmentImage[0][0]"] == ("replicate", FLUX)
    assert by_provider["Artifact:Music.Music"][0] == "local"
    assert by_provider["Artifact:Export.FinalVideo"][0] == "tutopanda"
    image = artefacts["Artifact:Images.SegmentImage[0][0]"]
    assert image["blob"]["mimeType"] == "image/png"
    assert image["diagnostics"]["predictionId"] == "pred_canary"
    assert image["diagnostics"]["predictTime"] == 0.7
    assert artefacts["Artifact:Script.MovieTitle"]["diagnostics"]["mode"] == "live"
    assert artefacts["Artifact:Script.MovieTitle"]["diagnostics"]["environment"] == "local"
    for entry in artefacts.values():  # every blob the manifest names is on disk
        blob = entry["blob"]
        assert any((root / "builds" / "tides" / "blobs" / blob["hash"][:2]).glob(blob["hash"] + "*"))

    status = main(["--root", str(root), "build", "status", "--movie", "tides", "--json"])
    spent = json.loads(capsys.readouterr().out)
    assert status == 0 and spent["totalCost"] > 0  # paid calls are priced from the table

    leaked = [
        str(path)
        for path in root.rglob("*")
        if path.is_file() and any(secret.encode() in path.read_bytes() for secret in SECRETS.values())
    ]
    assert leaked == []
    assert not any(secret in printed.out + printed.err for secret in SECRETS.values())


@respx.mock
def test_a_refused_key_stops_the_run_and_is_not_echoed_anywhere_even_with_debug(
    respx_mock: respx.MockRouter, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = SECRETS["OPENAI_API_KEY"]
    respx_mock.post("https://api.openai.com/v1/responses").mock(
        return_value=httpx.Response(
            401, json={"error": {"message": f"Incorrect API key provided: {key}", "code": "invalid_api_key"}}
        )
    )
    code = main(
        [
            "--root", str(root), "--debug", "query", "How do tides work?", "--movie", "tides",
            "--segments", "1", "--provider", "Script=openai/gpt-5-mini", "--yes",
        ]
    )  # fmt: skip
    printed = capsys.readouterr()
    assert code == 1
    assert "the build stopped: openai refused the account" in printed.err
    assert "OPENAI_API_KEY" in printed.err  # the hint names the variable, never its value
    files = [path for path in root.rglob("*") if path.is_file()]
    assert files  # the failure is recorded (events, run record)
    for text in [printed.out, printed.err, *(path.read_bytes().decode("utf-8", "replace") for path in files)]:
        assert not any(secret in text for secret in SECRETS.values())


@respx.mock
def test_a_missing_key_stops_a_live_run_before_any_call_naming_the_variable(
    respx_mock: respx.MockRouter,
    root: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ELEVENLABS_API_KEY")
    code = main(
        [
            "--root", str(root), "query", "How do tides work?", "--movie", "tides", "--segments", "1",
            "--provider", "Narration=elevenlabs/eleven_multilingual_v2",
            "--provider", "Script=openai/gpt-5-mini", "--yes",
        ]
    )  # fmt: skip
    printed = capsys.readouterr()
    assert code == 2
    assert "ELEVENLABS_API_KEY" in printed.err and "export ELEVENLABS_API_KEY=" in printed.err
    assert len(respx_mock.calls) == 0  # not even the OpenAI script: nothing is paid for
    assert not list((root / "builds" / "tides" / "blobs").rglob("*.*"))
