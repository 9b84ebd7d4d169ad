"""``tutopanda query`` through the real entry point: the writer chosen before planning, said in one line,
recorded in the movie; a real script from a (loopback) OpenAI-compatible server, or the draft and the
ways to get a real writer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import CliRunner
from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.providers.writers.openai_compatible import forget_dialects

from .fakes import FakeChatServer, good_reply, unused_base_url

pytestmark = pytest.mark.slow  # a real (offline) render of a one-segment movie


@pytest.fixture(autouse=True)
def _no_writer_here(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("OPENAI_BASE_URL", "TUTOPANDA_WRITER_MODEL", "OPENAI_COMPATIBLE_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUTOPANDA_MODELS", str(tmp_path / "models"))  # nothing pulled
    forget_dialects()


def _texts(root: Path, movie: str) -> dict[str, str]:
    ctx = StorageContext.open(StorageConfig(root))
    manifest = ManifestStore(ctx, movie).load_current()
    blobs = BlobStore(ctx, movie)
    return {
        key.split(".", 1)[1]: blobs.get_bytes(entry.blob).decode()
        for key, entry in manifest.artefacts.items()
        if key.startswith("Artifact:Script.") and entry.blob is not None
    }


def _query(cli: CliRunner, movie: str, *extra: str) -> tuple[int, str, str]:
    result = cli(
        "query", "How do volcanoes erupt?", "--movie", movie, "--blueprint", "audio-only",
        "--segments", "1", "--duration", "8", "--providers", "live", *extra,
    )  # fmt: skip
    return result.code, result.stdout, result.stderr


def test_query_writes_the_script_with_a_configured_local_server(
    cli: CliRunner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeChatServer(good_reply, refuse={"json_schema": 500}) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        code, out, err = _query(cli, "volcano-server")
    assert code == 0, err
    assert f"script writer: openai-compatible/llama3.2 (OpenAI-compatible server at {server.base_url}" in out
    texts = _texts(root, "volcano-server")
    assert texts["MovieTitle"] == "How volcanoes erupt"
    assert texts["NarrationScript[0]"].startswith("Magma rises")
    assert "Draft" not in " ".join(texts.values())
    assert server.dialects()[:2] == ["json_schema", "json_object"]
    providers = json.loads((root / "builds" / "volcano-server" / "providers.json").read_text())
    assert "openai-compatible" in json.dumps(providers) and server.base_url in json.dumps(providers)


def test_query_without_any_writer_makes_the_draft_and_says_how_to_get_a_real_one(
    cli: CliRunner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", unused_base_url())  # configured, but nothing answers
    code, out, err = _query(cli, "volcano-draft")
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith("script writer:"))
    assert line.startswith("script writer: local/draft-script (a clearly marked draft: no OpenAI-compatible")
    assert "tutopanda models pull qwen2.5-1.5b-instruct" in out + err
    assert _texts(root, "volcano-draft")["MovieTitle"].startswith("Draft:")


def test_an_explicitly_selected_server_that_is_down_fails_the_script_cleanly(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", unused_base_url())
    code, _out, err = _query(cli, "volcano-down", "--provider", "Script=openai-compatible/llama3.2")
    assert code == 1
    assert "no OpenAI-compatible server answers at http://127.0.0.1:" in err
    assert "Traceback" not in err


def test_a_fallback_draft_is_provisional_redacted_and_rebuilt_once_the_server_answers(
    cli: CliRunner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-fake-0123456789abcdef"
    with FakeChatServer(good_reply) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", key)
        server.echo_status = 400  # every answer refused, quoting the key
        code, out, err = _query(cli, "volcano-fallback")
        assert code == 0, err
        assert _texts(root, "volcano-fallback")["MovieTitle"].startswith("Draft:")
        note = next(line for line in out.splitlines() if line.startswith("note: "))
        assert "Producer:Script.ScriptWriter" in note and "offline stand-in" in note
        assert "tutopanda build run --movie volcano-fallback" in note
        stored = [p for p in root.rglob("*") if p.is_file()]
        assert not [p for p in stored if key.encode() in p.read_bytes()]
        assert key not in out + err
        assert (
            "Bearer [redacted]"
            in (root / "builds" / "volcano-fallback" / "events" / "artefacts.log").read_text()
        )

        server.echo_status = None  # the server is fixed: the next build asks it again
        forget_dialects()
        again = cli("build", "run", "--movie", "volcano-fallback", "--providers", "live")
        assert again.code == 0, again.stderr
    texts = _texts(root, "volcano-fallback")
    assert texts["MovieTitle"] == "How volcanoes erupt"
    assert "note: " not in again.stdout
