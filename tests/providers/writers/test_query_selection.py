"""How ``query`` records the writer of a new movie: which modules follow it, and the traced config."""

from __future__ import annotations

import pytest

from tutopanda.core.blueprint import load_blueprint
from tutopanda.movie_choice import writer_configs, writer_selection

from .fakes import FakeChatServer, unused_base_url


@pytest.fixture(autouse=True)
def _nothing_here(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in ("OPENAI_BASE_URL", "TUTOPANDA_WRITER_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUTOPANDA_MODELS", str(tmp_path))


def test_the_draft_keeps_the_offline_variants_for_script_and_prompts() -> None:
    blueprint = load_blueprint("image-audio")
    choice, picked = writer_selection(blueprint, {}, offline=False)
    assert choice is not None and choice.draft
    assert picked == {
        "Script": ("local", "draft-script"),
        "ImagePrompts": ("local", "template-prompts"),
        "MusicPrompt": ("local", "template-prompts"),
    }
    assert writer_configs(blueprint, picked, {}, choice) == {}


def test_a_running_server_writes_script_and_prompts_and_its_url_is_traced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blueprint = load_blueprint("image-audio")
    with FakeChatServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        choice, picked = writer_selection(blueprint, {}, offline=False)
        offline_choice, _ = writer_selection(blueprint, {}, offline=True)
    assert set(picked.values()) == {("openai-compatible", "llama3.2")}
    assert set(picked) == {"Script", "ImagePrompts", "MusicPrompt"}
    configs = writer_configs(blueprint, picked, {}, choice)
    assert configs["Script"] == {"baseUrl": server.base_url, "fallback": True}
    assert offline_choice is not None and offline_choice.draft  # --providers local never asks a server


def test_a_selected_server_writer_is_followed_by_the_prompts_without_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blueprint = load_blueprint("image-audio")
    url = unused_base_url()
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    selection = {"Script": ("openai-compatible", "mistral")}
    choice, picked = writer_selection(blueprint, selection, offline=False)
    assert choice is None
    assert picked == {
        "ImagePrompts": ("openai-compatible", "mistral"),
        "MusicPrompt": ("openai-compatible", "mistral"),
    }
    configs = writer_configs(blueprint, {**selection, **picked}, {}, choice)
    assert configs == {name: {"baseUrl": url} for name in ("Script", "ImagePrompts", "MusicPrompt")}
    assert writer_selection(blueprint, {"Script": ("openai", "gpt-5-mini")}, offline=False) == (None, {})
