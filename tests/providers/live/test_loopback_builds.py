"""One live build per provider, through the real CLI, against the strict loopback APIs.

Each test points one provider's base URL at :mod:`loopback_apis` (keys are dummies), picks models with
``--provider`` (several of them not listed by the blueprint), and checks that the build succeeds, that
nothing the server refused was sent, what the server received, and that no key lands in the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.providers.live.loopback_apis import FakeAPIs, serving
from tutopanda.cli.main import main
from tutopanda.providers.plugins import default_registry

pytestmark = pytest.mark.slow

KEYS = {
    "OPENAI_API_KEY": "sk-loopback-openai-9f1c",
    "AZURE_OPENAI_API_KEY": "azure-loopback-7d2e",
    "REPLICATE_API_TOKEN": "r8_loopback-replicate-3b4a",
    "ELEVENLABS_API_KEY": "loopback-elevenlabs-61c0",
}
BASE_VARIABLES = ("OPENAI_BASE_URL", "REPLICATE_BASE_URL", "ELEVENLABS_BASE_URL", "AZURE_OPENAI_ENDPOINT")


@pytest.fixture
def apis(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAPIs]:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    for name in (*BASE_VARIABLES, "ELEVENLABS_RESIDENCY", "OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUTOPANDA_PROVIDERS", "live")
    default_registry().clear_cache()  # handlers read the endpoint per job, but start from fresh ones
    with serving(KEYS) as fake:
        yield fake
    default_registry().clear_cache()


def build(
    root: Path, capsys: pytest.CaptureFixture[str], *providers: str, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    args = ["--root", str(root), "query", "How do volcanoes erupt?", "--movie", "lava", "--segments", "1",
            "--duration", "6", "--resolution", "480p", *extra]  # fmt: skip
    for provider in providers:
        args += ["--provider", provider]
    code = main([*args, "--yes", "--json"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    report: dict[str, Any] = json.loads(printed.out)
    assert report["failed"] == []
    assert not any(value in printed.out + printed.err for value in KEYS.values())
    return report


def manifest(root: Path) -> dict[str, Any]:
    path = root / "builds" / "lava" / "manifests" / "rev-0001.json"
    artefacts: dict[str, Any] = json.loads(path.read_text())["artefacts"]
    return artefacts


def no_key_stored(root: Path) -> None:
    leaked = [
        p for p in root.rglob("*") if p.is_file() and any(k.encode() in p.read_bytes() for k in KEYS.values())
    ]
    assert leaked == []


def test_openai_build_at_a_base_url_stores_nothing_and_prices_cached_tokens(
    apis: FakeAPIs, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", f"{apis.url}/openai/v1")
    root = tmp_path / "store"
    report = build(
        root, capsys,
        "Script=openai/gpt-5-mini", "ImagePrompts=openai/gpt-5-mini", "Narration=openai/gpt-4o-mini-tts",
        "Images=openai/gpt-image-1",  # not a variant of the Images module: any registered handler
    )  # fmt: skip
    assert Path(report["video"]).read_bytes()[4:8] == b"ftyp"
    assert apis.seen.refused == [] and all(apis.seen.auth_ok)
    assert all(body["store"] is False for body in apis.seen.bodies("/responses$"))
    artefacts = manifest(root)
    image = artefacts["Artifact:Images.SegmentImage[0][0]"]
    assert (image["provider"], image["model"]) == ("openai", "gpt-image-1")
    assert image["diagnostics"]["usage"]["output_tokens"] == 1056
    title = artefacts["Artifact:Script.MovieTitle"]["diagnostics"]
    # 1024 of the 1200 input tokens were cached: (176 x 0.25 + 1024 x 0.025 + 300 x 2.00) / 1M
    assert title["cost"] == pytest.approx((176 * 0.25 + 1024 * 0.025 + 300 * 2.0) / 1e6, abs=1e-6)
    no_key_stored(root)


def test_azure_openai_build_uses_the_api_key_header_deployments_and_api_version(
    apis: FakeAPIs, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", f"{apis.url}/azure")
    monkeypatch.delenv("OPENAI_API_KEY")  # Azure needs only its own key
    root = tmp_path / "store"
    build(root, capsys, "Images=openai/gpt-image-1")
    assert apis.seen.refused == [] and all(apis.seen.auth_ok)
    assert apis.seen.paths("/azure/openai/deployments/gpt-image-1/images/generations")
    no_key_stored(root)


def test_replicate_build_maps_an_unlisted_model_from_its_schema(
    apis: FakeAPIs, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPLICATE_BASE_URL", f"{apis.url}/replicate/v1")
    root = tmp_path / "store"
    report = build(
        root, capsys,
        "Images=replicate/bytedance/seedream-4",  # no hand-written builder: mapped from its schema
        "Narration=replicate/minimax/speech-02-turbo", "Music=replicate/stability-ai/stable-audio-2.5",
    )  # fmt: skip
    assert Path(report["video"]).read_bytes()[4:8] == b"ftyp"
    assert apis.seen.refused == [] and all(apis.seen.auth_ok)
    [seedream] = apis.seen.bodies(r"/models/bytedance/seedream-4/predictions$")
    assert seedream["input"]["prompt"] and seedream["input"]["aspect_ratio"] == "16:9"
    assert apis.seen.paths().count("GET /replicate/v1/models/bytedance/seedream-4") == 1
    speech = manifest(root)["Artifact:Narration.SegmentAudio[0]"]["diagnostics"]
    assert speech["cost"] == pytest.approx(speech["usage"]["characters"] * 0.015 / 1000)
    no_key_stored(root)


def test_elevenlabs_build_resolves_a_voice_name(
    apis: FakeAPIs, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELEVENLABS_BASE_URL", f"{apis.url}/elevenlabs")
    root = tmp_path / "store"
    report = build(
        root, capsys,
        "Narration=elevenlabs/eleven_v3", "Music=elevenlabs/music_v1",  # eleven_v3: not a listed variant
        extra=("--voice", "George"),  # a name: looked up once in the account's voices
    )  # fmt: skip
    assert Path(report["video"]).read_bytes()[4:8] == b"ftyp"
    assert apis.seen.refused == [] and all(apis.seen.auth_ok)
    assert apis.seen.paths().count("GET /elevenlabs/v1/voices") == 1
    assert apis.seen.paths("/elevenlabs/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb")
    assert apis.seen.paths("/elevenlabs/v1/music")
    speech = manifest(root)["Artifact:Narration.SegmentAudio[0]"]["diagnostics"]
    assert speech["voiceName"] == "George" and speech["characterSource"] == "text length"
    no_key_stored(root)


def test_elevenlabs_word_timings_travel_inside_the_narration_wav(
    apis: FakeAPIs, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tutopanda.providers.local.speech_clip import read_word_timings

    monkeypatch.setenv("ELEVENLABS_BASE_URL", f"{apis.url}/elevenlabs")
    root = tmp_path / "store"
    (root / "providers").mkdir(parents=True)
    (root / "providers" / "elevenlabs.toml").write_text(
        '[narration]\ntimestamps = true\nseed = 7\nspeed = 1.1\noutputFormat = "pcm_24000"\n'
    )
    (root / "settings.toml").write_text(
        '[[producers]]\nproducer = "Narration"\nprovider = "elevenlabs"\nmodel = "eleven_multilingual_v2"\n'
        'config = "providers/elevenlabs.toml"\n'
    )
    build(root, capsys)
    assert apis.seen.refused == []
    [request] = apis.seen.bodies(r"/with-timestamps$")
    assert request["seed"] == 7 and request["voice_settings"]["speed"] == 1.1
    narration = manifest(root)["Artifact:Narration.SegmentAudio[0]"]
    assert narration["blob"]["mimeType"] == "audio/wav"
    blob = narration["blob"]["hash"]
    [path] = (root / "builds" / "lava" / "blobs" / blob[:2]).glob(blob + "*")
    words = read_word_timings(path)
    assert words and [word.text for word in words] == request["text"].split()
    # ...and reach the word-level captions: the fake aligns 0.05 s per character
    timeline = manifest(root)["Artifact:Timeline.Timeline"]["blob"]["hash"]
    [document] = (root / "builds" / "lava" / "blobs" / timeline[:2]).glob(timeline + "*")
    tracks = json.loads(document.read_text())["tracks"]
    cues = [clip for track in tracks for clip in track.get("clips", []) if clip.get("words")]
    first = cues[0]["words"][0]
    assert first["text"] == words[0].text
    assert first["end"] - first["start"] == pytest.approx(len(words[0].text) * 0.05, abs=0.01)
    no_key_stored(root)
