"""The local package's surface: ``__all__`` sorted, importable, and covering its modules' public names."""

from __future__ import annotations

import importlib
import inspect

import tutopanda.providers.local as local

INTERNAL = {
    "DEFAULT_ESPEAK_VOICES",
    "DEFAULT_MUSIC_SECONDS",
    "DRAFT_WORDS_PER_SECOND",
    "ENGINES",
    "FONT_WEIGHTS",
    "DEFAULT_PALETTE",
    "EspeakVoices",
    "LocalHandler",
    "MAX_MUSIC_SECONDS",
    "MUSIC_SAMPLE_RATE",
    "PIPER_NATURAL_WPM",
    "PIPER_VOICE_ALIASES",
    "RequestedArtefact",
    "SpeechPlan",
    "config_number",
    "espeak_voices",
    "input_int",
    "input_text",
    "requested_artefacts",
    "strings",
    "synthesise_espeak",
    "synthesise_piper",
    "verify_piper_model",
}


def _order(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2), name


def test_all_is_sorted_and_every_name_exists() -> None:
    assert list(local.__all__) == sorted(local.__all__, key=_order)
    assert all(hasattr(local, name) for name in local.__all__)


def test_every_public_name_of_the_modules_is_exported_or_deliberately_internal() -> None:
    public = {
        name
        for _, module in inspect.getmembers(local, inspect.ismodule)
        if module.__name__.startswith("tutopanda.providers.local.")
        for name in getattr(module, "__all__", ())
    }
    assert public - set(local.__all__) <= INTERNAL


def test_the_espeak_worker_imports_only_the_standard_library() -> None:
    worker = importlib.import_module("tutopanda.providers.local.espeak_worker")
    source = inspect.getsource(worker)
    assert "import tutopanda" not in source and "from tutopanda" not in source
