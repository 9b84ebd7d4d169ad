"""The in-process llama.cpp backend: the real constrained path on a tiny GGUF written at test time."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tutopanda.providers.writers import llama_backend
from tutopanda.providers.writers.backend import TextBackend, WriterUnavailableError
from tutopanda.providers.writers.llama_backend import LlamaBackend, default_threads, drop_loaded_models

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 12},
        "ok": {"type": "boolean"},
        "mood": {"enum": ["calm", "loud"]},
    },
    "required": ["title", "ok", "mood"],
    "additionalProperties": False,
}
MESSAGES = [
    {"role": "system", "content": "Answer in JSON."},
    {"role": "user", "content": "How do volcanoes erupt?"},
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import importlib.util
    import os

    missing = [name for name in ("llama_cpp", "gguf") if importlib.util.find_spec(name) is None]
    if missing and os.environ.get("CI"):  # .ci/run installs the llm extra: never skip there silently
        pytest.fail(f"CI must install the llm and dev extras (missing: {', '.join(missing)})")
    pytest.importorskip("llama_cpp", reason="the llm extra (llama-cpp-python) is not installed")
    pytest.importorskip("gguf", reason="the gguf writer (dev extra) is not installed")
    from tests.providers.tiny_gguf import write_tiny_gguf

    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture(autouse=True)
def _fresh_models() -> None:
    drop_loaded_models()


def _backend(path: Path) -> LlamaBackend:
    return LlamaBackend(path, threads=1, context=1024)  # the tiny model's whole context


def _valid(answer: str) -> dict[str, object]:
    data = json.loads(answer)
    assert isinstance(data, dict)
    assert set(data) == {"title", "ok", "mood"}
    assert isinstance(data["title"], str) and len(data["title"]) <= 12
    assert isinstance(data["ok"], bool)
    assert data["mood"] in ("calm", "loud")
    return data


def test_constrained_decoding_returns_json_valid_against_the_schema(tiny_model: Path) -> None:
    backend: TextBackend = _backend(tiny_model)
    assert backend.name == "llama.cpp tiny.gguf"
    for seed in range(1, 25):  # random weights: some seeds put raw control characters into strings
        _valid(backend.generate(MESSAGES, schema=SCHEMA, max_tokens=200, seed=seed))


def test_the_same_seed_gives_the_same_answer_and_the_model_loads_once(tiny_model: Path) -> None:
    first = _backend(tiny_model).generate(MESSAGES, schema=SCHEMA, max_tokens=200, seed=42)
    second = _backend(tiny_model).generate(MESSAGES, schema=SCHEMA, max_tokens=200, seed=42)
    assert first == second
    assert len(llama_backend._loaded) == 1  # one model per process, shared by both backends


def test_running_out_of_tokens_mid_json_is_a_retryable_error(tiny_model: Path) -> None:
    from tutopanda.core.errors import ProviderError

    with pytest.raises(ProviderError, match="ran out of tokens") as caught:
        _backend(tiny_model).generate(MESSAGES, schema=SCHEMA, max_tokens=3, seed=1)
    assert caught.value.retryable


def test_without_the_extra_the_writer_is_unavailable_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import fails as if not installed
    with pytest.raises(WriterUnavailableError) as caught:
        LlamaBackend(tmp_path / "model.gguf").generate(MESSAGES)
    assert "pip install 'tutopanda[llm]'" in (caught.value.hint or "")


def test_a_missing_or_broken_model_file_is_unavailable(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    with pytest.raises(WriterUnavailableError, match="is missing"):
        LlamaBackend(tmp_path / "gone.gguf").generate(MESSAGES)
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF not really")
    with pytest.raises(WriterUnavailableError, match=r"cannot load broken\.gguf"):
        LlamaBackend(broken).generate(MESSAGES)


def test_threads_leave_one_core_free() -> None:
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    assert default_threads() == max(1, cores - 1)
    assert LlamaBackend(Path("x.gguf")).threads == default_threads()
    assert LlamaBackend(Path("x.gguf"), threads=3).threads == 3
