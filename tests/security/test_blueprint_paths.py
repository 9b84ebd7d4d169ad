"""A blueprint's module and prompt files stay inside the blueprint's folder, links included.

Blueprints are files people share. A ``promptFile`` is read and sent to a provider as part of every
prompt, so one naming ``../../.ssh/id_rsa`` (or a link to it) would exfiltrate that file. ``use:`` and
``promptFile`` paths are resolved (links followed) and must land inside the blueprint's folder; the
bundled modules' ``../prompts/`` files are inside the bundled folder, and keep working.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.badinput.clean_errors import assert_clean_error, run_cli
from tests.security.conftest import SECRET
from tutopanda.core.blueprint import load_blueprint

MODULE = """producer: Writer
kind: script
inputs:
  - name: InquiryPrompt
    type: string
artefacts:
  - name: MovieTitle
    kind: text
variants:
  - provider: openai
    model: gpt-5-mini
    {prompt}
"""
BLUEPRINT = """meta:
  id: escape
inputs:
  - name: InquiryPrompt
    type: string
    default: Why?
modules:
  - name: Script
    use: {use}
    inputs:
      InquiryPrompt: InquiryPrompt
"""


@pytest.fixture
def project(tmp_path: Path, outside: Path) -> Path:
    """``project/blueprint.yaml`` beside ``outside/`` (which holds the secret)."""
    folder = tmp_path / "project"
    (folder / "modules").mkdir(parents=True)
    (folder / "prompts").mkdir()
    (folder / "prompts" / "ok.txt").write_text("Write about {{InquiryPrompt}}.", encoding="utf-8")
    return folder


def _write(project: Path, use: str, prompt: str = 'prompt: "About {{InquiryPrompt}}"') -> Path:
    (project / "modules" / "writer.yaml").write_text(MODULE.format(prompt=prompt), encoding="utf-8")
    blueprint = project / "blueprint.yaml"
    blueprint.write_text(BLUEPRINT.format(use=use), encoding="utf-8")
    return blueprint


def _refused(blueprint: Path, *needles: str) -> None:
    for command in ("validate", "describe", "expand"):
        result = run_cli("blueprints", command, str(blueprint))
        message = assert_clean_error(result, codes=(2,))
        assert "outside the blueprint's folder" in message, message
        for needle in needles:
            assert needle in message
        assert SECRET not in result.stdout + result.stderr


def test_modules_and_prompts_inside_the_folder_load(project: Path) -> None:
    blueprint = _write(project, "modules/writer.yaml", "promptFile: ../prompts/ok.txt")
    loaded = load_blueprint(str(blueprint))
    assert loaded.modules[0].producer.variants[0].prompt == "Write about {{InquiryPrompt}}."
    assert load_blueprint("image-audio").modules  # bundled modules reach ../prompts/ inside the package


@pytest.mark.parametrize("use", ["../outside/writer.yaml", "ABSOLUTE", "modules/../../outside/writer.yaml"])
def test_a_module_file_outside_the_folder_is_refused(project: Path, outside: Path, use: str) -> None:
    (outside / "writer.yaml").write_text(MODULE.format(prompt="promptFile: secret.txt"), encoding="utf-8")
    use = str(outside / "writer.yaml") if use == "ABSOLUTE" else use
    _refused(_write(project, use), "module file", "blueprint.yaml:")


def test_a_module_file_linked_out_of_the_folder_is_refused(project: Path, outside: Path) -> None:
    (outside / "writer.yaml").write_text(MODULE.format(prompt="promptFile: secret.txt"), encoding="utf-8")
    blueprint = _write(project, "modules/linked.yaml")
    (project / "modules" / "linked.yaml").symlink_to(outside / "writer.yaml")
    _refused(blueprint, "module file 'modules/linked.yaml'", "it leads to")


def test_a_modules_folder_linked_out_of_the_folder_is_refused(project: Path, outside: Path) -> None:
    (outside / "writer.yaml").write_text(MODULE.format(prompt="promptFile: secret.txt"), encoding="utf-8")
    shutil.rmtree(project / "modules")
    (project / "modules").symlink_to(outside, target_is_directory=True)
    blueprint = project / "blueprint.yaml"
    blueprint.write_text(BLUEPRINT.format(use="modules/writer.yaml"), encoding="utf-8")
    _refused(blueprint, "module file")


@pytest.mark.parametrize("prompt", ["../../outside/secret.txt", "ABSOLUTE", "../prompts/linked.txt"])
def test_a_prompt_file_outside_the_folder_is_refused(project: Path, outside: Path, prompt: str) -> None:
    (project / "prompts" / "linked.txt").symlink_to(outside / "secret.txt")
    prompt = str(outside / "secret.txt") if prompt == "ABSOLUTE" else prompt
    _refused(_write(project, "modules/writer.yaml", f"promptFile: {prompt}"), "prompt file", "writer.yaml:")


def test_an_inline_module_cannot_reach_out_either(project: Path, outside: Path) -> None:
    blueprint = project / "inline.yaml"
    module = MODULE.format(prompt=f"promptFile: {outside / 'secret.txt'}")
    inline = "\n".join("      " + line for line in module.splitlines())
    blueprint.write_text(
        BLUEPRINT.format(use="x").replace("    use: x\n", f"    define:\n{inline}\n"), encoding="utf-8"
    )
    _refused(blueprint, "prompt file")
