"""The curated public surfaces: ``__all__`` sorted, complete and importable."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

MODULES = [
    "tutopanda.providers",
    "tutopanda.providers.builtin",
    "tutopanda.providers.mock",
    "tutopanda.providers.plugins",
    "tutopanda.providers.registry",
    "tutopanda.providers.warm_start",
    "tutopanda.testing",
    "tutopanda.testing.provider_contract",
]


def _isort_key(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then CamelCase, then everything else."""
    category = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return category, name


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_every_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=_isort_key)
    assert all(hasattr(module, item) for item in exported)


@pytest.mark.parametrize("name", ["tutopanda.providers", "tutopanda.providers.mock", "tutopanda.testing"])
def test_packages_export_every_public_name_of_their_modules(name: str) -> None:
    package = importlib.import_module(name)
    public = {
        item
        for module_name in _loaded_by_importing(name)
        for item in getattr(importlib.import_module(module_name), "__all__", ())
    }
    assert public <= set(package.__all__) | _internal(name)


def _loaded_by_importing(name: str) -> list[str]:
    """The plain submodules of package ``name`` that importing it alone loads (in a fresh interpreter:
    in this one, other tests may already have imported modules the package itself never touches)."""
    code = (
        "import importlib, sys; importlib.import_module(sys.argv[1]); p = sys.argv[1] + '.'; "
        "print('\\n'.join(m for m, v in list(sys.modules.items()) "
        "if m.startswith(p) and m.count('.') == p.count('.') and not hasattr(v, '__path__')))"
    )
    result = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True, check=True)
    return sorted(line for line in result.stdout.splitlines() if line)


def _internal(name: str) -> set[str]:
    """Module-level names deliberately left out of a package's surface."""
    return {
        "tutopanda.providers": {
            "BUILTIN_PLUGIN",
            "DISABLE_PLUGINS_ENV",
            "OFFLINE_PROVIDERS",
            "register",
            "register_mocks",
            "runs_offline",
        },
        "tutopanda.providers.mock": {
            "DEFAULT_MUSIC_SECONDS",
            "DEFAULT_SEGMENT_SECONDS",
            "OFF_LOOP_SAMPLES",
            "HEADER_BYTES",
            "Mp4Box",
            "PNG_SIGNATURE",
            "PngInfo",
            "TimelineComposition",
            "WORDS_PER_SECOND",
            "WavInfo",
            "append_call_log",
            "artefact_digest",
            "build_artefacts",
            "check_png",
            "compose_timeline",
            "job_digest",
            "mock_mp4",
            "mp4_template",
            "read_top_level_boxes",
            "read_wav_info",
            "builds_off_the_loop",
            "speech_seconds",
            "write_png",
            "write_tone_wav",
        },
        "tutopanda.testing": set(),
    }[name]


def test_the_testing_package_does_not_need_pytest() -> None:
    import ast
    from pathlib import Path

    import tutopanda.testing

    for path in Path(tutopanda.testing.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not {name for name in imported if name.split(".")[0] == "pytest"}, path.name
