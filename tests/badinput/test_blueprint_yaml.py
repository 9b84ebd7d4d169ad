"""Generated blueprint and module YAML: every one loads, or is refused with a located BlueprintError.

Mutations of the bundled blueprints and modules (written next to a copy of the bundled prompt files,
with every ``use:`` turned into a module-file path so the mutated modules are the ones loaded), raw
text edits of them, and random YAML documents. What loads is also expanded with its defaults.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.badinput.clean_errors import assert_clean_outcome, clean_call, examples, run_cli
from tests.badinput.mutations import json_values, mutated, text_edits
from tutopanda.core.blueprint import expand, load_blueprint
from tutopanda.core.blueprint.loader import bundled_blueprint_names, bundled_module_names, bundled_root
from tutopanda.core.errors import TutopandaError

FAST = settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _local_uses(text: str) -> str:
    """The blueprint with ``use: narration`` turned into ``use: modules/narration.yaml``."""
    for name in bundled_module_names():
        text = text.replace(f"use: {name}\n", f"use: modules/{name}.yaml\n")
    return text


BLUEPRINTS = {
    name: _local_uses((bundled_root() / f"{name}.yaml").read_text(encoding="utf-8"))
    for name in bundled_blueprint_names()
}
MODULES = {
    name: (bundled_root() / "modules" / f"{name}.yaml").read_text(encoding="utf-8")
    for name in bundled_module_names()
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the bundled folder: modules/ and prompts/ beside the blueprints."""
    folder = tmp_path_factory.mktemp("blueprints")
    shutil.copytree(bundled_root() / "modules", folder / "modules")
    shutil.copytree(bundled_root() / "prompts", folder / "prompts")
    for name, text in BLUEPRINTS.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


def _load_and_expand(path: Path) -> None:
    loaded = clean_call(lambda: load_blueprint(str(path)))
    if isinstance(loaded, TutopandaError):
        assert loaded.exit_code == 2  # a bad blueprint is the user's input: a usage error
        return
    clean_call(lambda: expand(loaded, {}))


def test_the_local_copies_load_as_they_are(workspace: Path) -> None:
    for name in BLUEPRINTS:
        assert load_blueprint(str(workspace / f"{name}.yaml")).meta.id == name


@pytest.mark.slow  # mutated blueprints loaded and validated: ~10 s on 2 busy cores
@FAST
@given(data=st.data(), name=st.sampled_from(sorted(BLUEPRINTS)))
def test_mutated_blueprints_load_or_fail_cleanly(workspace: Path, data: st.DataObject, name: str) -> None:
    document = data.draw(mutated(yaml.safe_load(BLUEPRINTS[name])))
    path = workspace / "mutated.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    _load_and_expand(path)


@FAST
@given(data=st.data(), module=st.sampled_from(sorted(MODULES)))
def test_mutated_module_files_load_or_fail_cleanly(workspace: Path, data: st.DataObject, module: str) -> None:
    users = [name for name, text in BLUEPRINTS.items() if f"use: modules/{module}.yaml" in text]
    if not users:
        return
    document = data.draw(mutated(yaml.safe_load(MODULES[module])))
    target = workspace / "modules" / f"{module}.yaml"
    target.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    try:
        _load_and_expand(workspace / f"{users[0]}.yaml")
    finally:
        target.write_text(MODULES[module], encoding="utf-8")


@FAST
@given(data=st.data(), name=st.sampled_from(sorted(BLUEPRINTS)))
def test_raw_text_edits_load_or_fail_cleanly(workspace: Path, data: st.DataObject, name: str) -> None:
    path = workspace / "edited.yaml"
    path.write_text(data.draw(text_edits(BLUEPRINTS[name])), encoding="utf-8")
    _load_and_expand(path)


@FAST
@given(
    st.one_of(
        json_values.map(lambda value: yaml.safe_dump(value)),
        st.text(max_size=200),
        st.lists(
            st.sampled_from(["meta:", "  id: x", "inputs:", "- name: A", "  type: int", "modules: []"])
        ).map("\n".join),
    )
)
def test_random_yaml_documents_fail_cleanly(workspace: Path, text: str) -> None:
    path = workspace / "random.yaml"
    path.write_text(text, encoding="utf-8")
    _load_and_expand(path)


def _billion_laughs() -> bytes:
    """Nine levels of ten aliases each: 10**9 values once expanded, a few hundred bytes on disk."""
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(8):
        name, previous = chr(98 + level), chr(97 + level)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    "text",
    [
        b"\xff\xfe not utf-8",
        b"meta: {id: x, version: " + b"9" * 5000 + b"}\n",
        b"meta: {id: x, created: 2001-13-45}\n",
        b"meta: &m {id: x}\nmodules: [*m, *m]\nmeta2: &a [*a]\n",
        b"meta: {id: x}\nmodules: !!binary aGk=\n",
        b"meta: {id: x}\nmodules: !!set {a, b}\n",
        b"meta: {id: x}\nmodules: !!int nope\n",
        b"meta: {id: x}\nmodules: !!map [1]\n",
        b"[" * 10_000 + b"]" * 10_000,
        b"- " * 5_000 + b"x\n",
        _billion_laughs(),
    ],
    ids=["binary", "huge-int", "bad-date", "dup-key-alias", "binary-tag", "set-tag", "bad-int-tag", "map-tag",
         "deep-flow", "deep-block", "billion-laughs"],
)  # fmt: skip
def test_hostile_yaml_is_one_clean_error(tmp_path: Path, text: bytes) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_bytes(text)
    result = run_cli("blueprints", "validate", str(path))
    assert_clean_outcome(result)
    assert result.code == 2


@settings(max_examples=examples(15), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(BLUEPRINTS)))
def test_mutated_blueprints_through_the_cli(workspace: Path, data: st.DataObject, name: str) -> None:
    document: Any = data.draw(mutated(yaml.safe_load(BLUEPRINTS[name])))
    path = workspace / "cli.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    command = data.draw(st.sampled_from(["validate", "describe", "expand"]))
    assert_clean_outcome(run_cli("blueprints", command, str(path)))
