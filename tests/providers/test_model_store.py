"""The models store against a real loopback "hub": verified installs, resume, wrong checksums, no pin."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.providers.fake_hub import FakeHub, HubFile, fake_hub
from tutopanda.providers.model_store import (
    ChecksumMismatchError,
    ModelStore,
    ModelStoreError,
    UnknownModelError,
    default_model_store,
    load_catalogue,
)

REPO = "acme/tiny-GGUF"
REV = "0123456789abcdef0123456789abcdef01234567"
WEIGHTS = os.urandom(300_000)
VOICE = os.urandom(120_000)
VOICE_JSON = json.dumps({"audio": {"sample_rate": 22050}}).encode()


def _catalogue(path: Path, *, sha: str | None = None, size: int | None = None) -> Path:
    sha = sha or hashlib.sha256(WEIGHTS).hexdigest()
    size = size or len(WEIGHTS)
    path.write_text(
        f"""
[[model]]
name = "tiny-llm"
kind = "llm"
default = true
repo = "{REPO}"
revision = "{REV}"
licence = "Apache-2.0"
description = "a test model"
[[model.file]]
path = "tiny-q4_k_m.gguf"
size = {size}
sha256 = "{sha}"

[[model]]
name = "xx_XX-test-medium"
kind = "piper-voice"
language = "fr"
repo = "acme/voices"
revision = "v1.0.0"
licence = "CC0-1.0"
approx_size = 120000
description = "a test voice"
[[model.file]]
path = "fr/fr_FR/test/medium/xx_XX-test-medium.onnx"
[[model.file]]
path = "fr/fr_FR/test/medium/xx_XX-test-medium.onnx.json"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with fake_hub() as server:
        server.add(REPO, REV, "tiny-q4_k_m.gguf", HubFile(WEIGHTS))
        server.add("acme/voices", "v1.0.0", "fr/fr_FR/test/medium/xx_XX-test-medium.onnx", HubFile(VOICE))
        server.add(
            "acme/voices",
            "v1.0.0",
            "fr/fr_FR/test/medium/xx_XX-test-medium.onnx.json",
            HubFile(VOICE_JSON, lfs=False),
        )
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def _store(tmp_path: Path, **pins: object) -> ModelStore:
    catalogue = load_catalogue(_catalogue(tmp_path / "catalogue.toml", **pins))  # type: ignore[arg-type]
    return ModelStore(tmp_path / "models", catalogue=catalogue)


def test_pull_verifies_the_pinned_sha256_and_publishes(tmp_path: Path, hub: FakeHub) -> None:
    store = _store(tmp_path)
    assert store.path_of("tiny-llm") is None
    seen: list[tuple[str, int, int | None]] = []
    path = store.pull("tiny-llm", progress=lambda f, d, t: seen.append((f, d, t)))
    assert path == tmp_path / "models" / "tiny-llm" / "tiny-q4_k_m.gguf"
    assert path.read_bytes() == WEIGHTS
    assert store.path_of("tiny-llm") == path
    assert seen[-1] == ("tiny-q4_k_m.gguf", len(WEIGHTS), len(WEIGHTS))
    assert not list(path.parent.glob("*.part"))
    marker = json.loads((path.parent / ".verified.json").read_text())
    assert marker["files"]["tiny-q4_k_m.gguf"]["verifiedBy"] == "pinned-sha256"
    requests = len(hub.requests)
    assert store.pull("tiny-llm") == path  # installed: no network at all
    assert len(hub.requests) == requests


def test_a_voice_is_verified_by_the_hashes_the_hub_declares(tmp_path: Path, hub: FakeHub) -> None:
    store = _store(tmp_path)
    path = store.pull("xx_XX-test-medium")
    assert path.name == "xx_XX-test-medium.onnx"
    assert path.read_bytes() == VOICE
    assert (path.parent / "xx_XX-test-medium.onnx.json").read_bytes() == VOICE_JSON
    marker = json.loads((path.parent / ".verified.json").read_text())["files"]
    assert marker["xx_XX-test-medium.onnx"]["verifiedBy"] == "hub-sha256"  # X-Linked-Etag, not the CDN's
    assert marker["xx_XX-test-medium.onnx.json"]["verifiedBy"] == "hub-git-sha1"
    voices = store.catalogue.find(kind="piper-voice", language="fr-FR")
    assert [entry.name for entry in voices] == ["xx_XX-test-medium"]


def test_wrong_pinned_checksum_deletes_the_download(tmp_path: Path, hub: FakeHub) -> None:
    store = _store(tmp_path, sha="0" * 64)
    with pytest.raises(ChecksumMismatchError, match="wrong checksum") as caught:
        store.pull("tiny-llm")
    assert "\n" not in caught.value.message
    folder = tmp_path / "models" / "tiny-llm"
    assert sorted(p.name for p in folder.iterdir() if p.name != ".lock") == []
    assert store.path_of("tiny-llm") is None
    assert not store.list()[0].installed


def test_bytes_that_differ_from_the_hubs_declared_hash_are_refused(tmp_path: Path, hub: FakeHub) -> None:
    hub.files["acme/voices/resolve/v1.0.0/fr/fr_FR/test/medium/xx_XX-test-medium.onnx"].corrupt = True
    store = _store(tmp_path)
    with pytest.raises(ChecksumMismatchError):
        store.pull("xx_XX-test-medium")
    assert store.path_of("xx_XX-test-medium") is None
    assert not (tmp_path / "models" / "xx_XX-test-medium" / "xx_XX-test-medium.onnx").exists()
    assert not list((tmp_path / "models" / "xx_XX-test-medium").glob("*.part"))


def test_no_pin_and_no_declared_hash_is_never_called_ready(tmp_path: Path, hub: FakeHub) -> None:
    hub.files["acme/voices/resolve/v1.0.0/fr/fr_FR/test/medium/xx_XX-test-medium.onnx"].declare_hash = False
    store = _store(tmp_path)
    with pytest.raises(ModelStoreError, match="cannot verify"):
        store.pull("xx_XX-test-medium")
    assert store.path_of("xx_XX-test-medium") is None


def test_an_interrupted_download_resumes_with_a_range_request(tmp_path: Path, hub: FakeHub) -> None:
    hub.cut_after = 50_000  # every response dies after 50 kB
    store = _store(tmp_path)
    part = tmp_path / "models" / "tiny-llm" / "tiny-q4_k_m.gguf.part"
    with pytest.raises(ModelStoreError, match="interrupted") as caught:
        store.pull("tiny-llm")
    assert "models pull tiny-llm" in (caught.value.hint or "")
    assert part.stat().st_size == 150_000  # three attempts, each resumed where the last stopped
    assert store.path_of("tiny-llm") is None
    assert not (part.parent / "tiny-q4_k_m.gguf").exists()  # nothing published
    assert store.list()[0].partial_bytes == 150_000
    hub.cut_after = None
    hub.requests.clear()
    path = store.pull("tiny-llm")
    assert path.read_bytes() == WEIGHTS
    assert hub.ranges() == ["bytes=150000-"]


def test_a_server_that_ignores_range_restarts_from_zero(tmp_path: Path, hub: FakeHub) -> None:
    store = _store(tmp_path)
    folder = tmp_path / "models" / "tiny-llm"
    folder.mkdir(parents=True)
    (folder / "tiny-q4_k_m.gguf.part").write_bytes(b"garbage that is not the start of the file")
    hub.ignore_range = True
    assert store.pull("tiny-llm").read_bytes() == WEIGHTS


def test_path_of_checks_sizes_and_the_pin_without_rehashing(tmp_path: Path, hub: FakeHub) -> None:
    store = _store(tmp_path)
    path = store.pull("tiny-llm")
    with path.open("ab") as stream:
        stream.write(b"x")
    assert store.path_of("tiny-llm") is None
    path.write_bytes(WEIGHTS)
    assert store.path_of("tiny-llm") == path
    repinned = _store(tmp_path, sha="1" * 64)  # the catalogue's pin changed since the check
    assert repinned.path_of("tiny-llm") is None


def test_remove_deletes_files_and_unfinished_downloads(tmp_path: Path, hub: FakeHub) -> None:
    store = _store(tmp_path)
    store.pull("tiny-llm")
    assert store.remove("tiny-llm") is True
    assert store.path_of("tiny-llm") is None
    assert not (tmp_path / "models" / "tiny-llm").exists()
    assert store.remove("tiny-llm") is False


def test_unknown_names_suggest_the_closest(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with pytest.raises(UnknownModelError, match="unknown model 'tiny-lm'") as caught:
        store.path_of("tiny-lm")
    assert "did you mean 'tiny-llm'" in (caught.value.hint or "")
    assert caught.value.exit_code == 2


def test_a_missing_file_on_the_hub_is_one_line(tmp_path: Path, hub: FakeHub) -> None:
    hub.files.clear()
    with pytest.raises(ModelStoreError, match="HTTP 404"):
        _store(tmp_path).pull("tiny-llm")


def test_the_bundled_catalogue(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TUTOPANDA_MODELS_CATALOGUE", raising=False)
    monkeypatch.setenv("TUTOPANDA_MODELS", str(tmp_path / "m"))
    store = default_model_store()
    assert store.root == tmp_path / "m"
    catalogue = store.catalogue
    default = catalogue.default_llm
    assert default is not None and default.name == "qwen2.5-1.5b-instruct"
    assert default.licence == "Apache-2.0" and default.filename.endswith("q4_k_m.gguf")
    for entry in catalogue.find(kind="llm"):
        assert entry.sha256 is not None and entry.size is not None  # LLM weights are always pinned
        assert len(entry.revision) == 40  # a commit, not a branch that can move
    languages = {entry.language for entry in catalogue.find(kind="piper-voice")}
    assert {"fr", "de", "es"} <= languages
    for entry in catalogue.find(kind="piper-voice"):
        assert [f.local_name.rsplit(".", 1)[-1] for f in entry.files] == ["onnx", "json"]


def test_the_store_defaults_under_the_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TUTOPANDA_MODELS", raising=False)
    monkeypatch.setenv("TUTOPANDA_HOME", str(tmp_path / "home"))
    assert default_model_store().root == tmp_path / "home" / "models"
