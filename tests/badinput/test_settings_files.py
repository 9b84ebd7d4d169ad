"""Generated ``settings.toml`` and provider config files: loaded, or refused naming the file and field.

Settings are TOML (no YAML anywhere in the settings), read by every command that makes a movie. The
documents are mutations of a full settings file (every ``[general]`` key and a ``[[producers]]`` entry
with a provider config) and of the provider configs ``tutopanda init`` writes, plus raw text edits.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.badinput.clean_errors import assert_clean_outcome, clean_call, examples, run_cli
from tests.badinput.mutations import mutated, text_edits, toml_values
from tutopanda.core.store.hashing import hash_value
from tutopanda.settings import load_provider_config, load_settings

FAST = settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
KINDS = ["script", "narration", "image", "music", "video", "timeline", "export", None]
FULL: dict[str, Any] = {
    "general": {
        "blueprint": "image-audio",
        "concurrency": 4,
        "language": "en",
        "audience": "adult",
        "style": "watercolor",
        "voice": "default",
    },
    "producers": [
        {"producer": "Narration", "provider": "local", "model": "espeak-ng", "config": "providers/local.toml"}
    ],
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("settings") / "store"
    assert run_cli("init", "--root", str(folder)).code == 0
    return folder


def _dump(document: Any) -> str:
    try:
        return tomlkit.dumps(document)
    except Exception:  # a shape TOML cannot write
        assume(False)
        raise


@FAST
@given(data=st.data())
def test_mutated_settings_load_or_fail_cleanly(root: Path, data: st.DataObject) -> None:
    text = data.draw(
        st.one_of(st.just(_dump(data.draw(mutated(FULL, toml_values)))), text_edits(_dump(FULL)))
    )
    (root / "settings.toml").write_text(text, encoding="utf-8")
    loaded = clean_call(lambda: load_settings(root))
    if not isinstance(loaded, Exception):
        for entry in loaded.producers:
            if entry.config:
                clean_call(partial(load_provider_config, root, entry.config, "narration"))


@FAST
@given(data=st.data(), name=st.sampled_from(["local", "openai", "replicate", "elevenlabs"]))
def test_mutated_provider_configs_load_or_fail_cleanly(root: Path, data: st.DataObject, name: str) -> None:
    path = root / "providers" / f"{name}.toml"
    original = path.read_text(encoding="utf-8")
    base = tomlkit.parse(original).unwrap() or {"narration": {"wordsPerMinute": 160}}
    text = data.draw(st.one_of(st.just(_dump(data.draw(mutated(base, toml_values)))), text_edits(original)))
    path.write_text(text, encoding="utf-8")
    try:
        kind = data.draw(st.sampled_from(KINDS))
        loaded = clean_call(lambda: load_provider_config(root, f"providers/{name}.toml", kind))
        if not isinstance(loaded, Exception):
            hash_value(loaded)  # a config that loads is stored in providers.json and hashed into traces
    finally:
        path.write_text(original, encoding="utf-8")


@settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_commands_on_a_mutated_settings_file_end_cleanly(root: Path, data: st.DataObject) -> None:
    (root / "settings.toml").write_text(_dump(data.draw(mutated(FULL, toml_values))), encoding="utf-8")
    for argv in (["query", "Why?", "--dry-run", "--providers", "mock"], ["providers", "list", "--json"]):
        assert_clean_outcome(run_cli("--root", str(root), *argv))
