"""The local package's surface: ``__all__`` sorted, importable, and covering its modules' public names."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

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
    # speech internals: engine naming, Piper voice files, word alignment, the WAV timings chunk
    "ENGINE_NAMES",
    "PiperVoiceFiles",
    "TIMINGS_CHUNK",
    "expose_phoneme_durations",
    "group_words",
    "ipa_words",
    "missing_voice_hint",
    "packaged_piper_voice",
    "piper_voice_files",
    "store_piper_voice",
    "store_voice_names",
    "text_tokens",
    "token_ipa_counts",
    "with_word_timings",
    # slides internals (layout, backgrounds, font fallback) used by the clip renderer's overlay
    "Box",
    "CAPTION_BAND",
    "FONTS",
    "SAFE_MARGIN",
    "SLIDE_MARK",
    "Zones",
    "covers",
    "draw_background",
    "font_for",
    "is_slide_background",
    "safe_box",
    "zones",
}


def _order(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2), name


def test_all_is_sorted_and_every_name_exists() -> None:
    assert list(local.__all__) == sorted(local.__all__, key=_order)
    assert all(hasattr(local, name) for name in local.__all__)


def test_every_public_name_of_the_modules_is_exported_or_deliberately_internal() -> None:
    folder = Path(local.__file__).parent
    modules = [importlib.import_module(f"{local.__name__}.{path.stem}") for path in folder.glob("[!_]*.py")]
    public = {name for module in modules for name in getattr(module, "__all__", ())}
    assert public - set(local.__all__) <= INTERNAL


def test_names_load_lazily_from_their_modules() -> None:
    code = (
        "import sys; from tutopanda.providers.local import parse_script_markdown, register_local; "
        "print(sorted(m for m in ('numpy', 'PIL', 'tutopanda.providers.local.speech') if m in sys.modules))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"
    assert local.render_title_card is importlib.import_module(f"{local.__name__}.slides").render_title_card


def test_the_espeak_worker_imports_only_the_standard_library() -> None:
    worker = importlib.import_module("tutopanda.providers.local.espeak_worker")
    source = inspect.getsource(worker)
    assert "import tutopanda" not in source and "from tutopanda" not in source
