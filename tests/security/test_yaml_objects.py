"""YAML never constructs objects: ``!!python/...`` tags are refused wherever YAML is read, with no effect.

Every YAML entry point — a blueprint (at the top, in an input default, in a variant's config), a module
file, an inputs file given to ``blueprints validate``/``expand``, ``storage:init``, ``providers list
--blueprint`` and ``query --blueprint`` — gets payloads that would run a command if constructed; the
command would create a marker file. Each must be one clean error (exit 2) and the marker must not exist.
Settings and provider configs are TOML, which has no tags. A source scan keeps the one safe loader the
only way YAML is read.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.badinput.clean_errors import assert_clean_error, run_cli

SOURCE = Path(__file__).resolve().parents[2] / "src" / "tutopanda"


def payloads(marker: Path) -> list[str]:
    command = f"touch {marker}"
    return [
        f"!!python/object/apply:os.system [{command!r}]",
        f"!!python/object/apply:subprocess.check_call [[touch, {str(marker)!r}]]",
        f"!!python/object/new:subprocess.Popen [[touch, {str(marker)!r}]]",
        "!!python/name:os.system",
        "!!python/module:os",
        f"!!python/object:os.system {{cmd: {command!r}}}",
        f"!!python/tuple [{command!r}]",
    ]


BLUEPRINT = """meta:
  id: tags
  description: {top}
inputs:
  - name: InquiryPrompt
    type: string
    default: {default}
modules:
  - name: Script
    use: {use}
    inputs:
      InquiryPrompt: InquiryPrompt
"""
MODULE = """producer: Writer
kind: script
inputs:
  - name: InquiryPrompt
    type: string
artefacts:
  - name: MovieTitle
    kind: text
variants:
  - provider: local
    model: draft-script
    config:
      setting: {config}
"""


def _documents(folder: Path, payload: str) -> list[Path]:
    """Blueprints carrying ``payload`` at the top, in a default, in a module file's variant config."""
    (folder / "modules").mkdir(exist_ok=True)
    (folder / "modules" / "bad.yaml").write_text(MODULE.format(config=payload), encoding="utf-8")
    (folder / "modules" / "good.yaml").write_text(MODULE.format(config="1"), encoding="utf-8")
    cases = {
        "top.yaml": BLUEPRINT.format(top=payload, default="Why?", use="modules/good.yaml"),
        "default.yaml": BLUEPRINT.format(top="x", default=payload, use="modules/good.yaml"),
        "module.yaml": BLUEPRINT.format(top="x", default="Why?", use="modules/bad.yaml"),
        "whole.yaml": payload + "\n",
    }
    for name, text in cases.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / name for name in cases]


@pytest.mark.parametrize("index", range(7))
def test_python_tags_are_refused_by_every_yaml_entry_point(tmp_path: Path, index: int) -> None:
    marker = tmp_path / "pwned"
    payload = payloads(marker)[index]
    root = str(tmp_path / "store")
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text(f"InquiryPrompt: {payload}\n", encoding="utf-8")
    inputs_yml = tmp_path / "inputs.yml"
    inputs_yml.write_text(f"inputs:\n  Style: {payload}\n", encoding="utf-8")
    runs = [
        ["blueprints", "validate", "image-audio", "--inputs", str(inputs)],
        ["blueprints", "expand", "image-audio", "--inputs", str(inputs_yml)],
        ["storage:init", "--movie", "m", "--blueprint", "image-audio", "--inputs", str(inputs)],
    ]
    for blueprint in _documents(tmp_path, payload):
        runs.append(["blueprints", "validate", str(blueprint)])
        if index == 0:  # the first payload through every command that reads a blueprint
            runs += [
                ["blueprints", "describe", str(blueprint)],
                ["providers", "list", "--blueprint", str(blueprint)],
                ["storage:init", "--movie", "m", "--blueprint", str(blueprint)],
                ["query", "Why?", "--blueprint", str(blueprint), "--providers", "mock"],
            ]
    for argv in runs:
        result = run_cli("--root", root, *argv)
        message = assert_clean_error(result, codes=(2,))
        assert "constructor" in message or "not supported" in message, (argv, message)
    assert not marker.exists()
    assert not (tmp_path / "store" / "builds").exists() or not any((tmp_path / "store" / "builds").iterdir())


def test_yaml_is_read_only_through_the_safe_loader() -> None:
    """No ``yaml.load``/``unsafe_load``/``full_load``/``Loader=`` anywhere but the one safe loader."""
    unsafe = re.compile(
        r"yaml\.(load|unsafe_load|full_load|load_all|unsafe_load_all|full_load_all)\(|Loader\s*="
    )
    offenders = [
        f"{path.relative_to(SOURCE)}:{number}"
        for path in sorted(SOURCE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if unsafe.search(line)
    ]
    assert offenders == []
    loader = (SOURCE / "core" / "blueprint" / "located_yaml.py").read_text(encoding="utf-8")
    assert 'getattr(yaml, "CSafeLoader", yaml.SafeLoader)' in loader
