"""The docs stay true: the README's commands are the ones CI runs, every command is documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main

from tutopanda.cli.main import app

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_readme_quick_start_is_exactly_two_commands_and_ci_runs_the_second() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [block.strip() for block in _bash_blocks(quick_start)]
    assert len(commands) == 2
    assert all("\n" not in command for command in commands)
    assert "tutopanda" in commands[0]
    ci_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci_script.splitlines()


def _root() -> Any:
    """The Click group behind the Typer app (Typer may vendor Click, so this stays duck-typed)."""
    return typer.main.get_command(app)


def _command_paths() -> list[str]:
    paths: list[str] = []
    for name, command in _root().commands.items():
        if command.hidden:  # an alias kept for old scripts (manifest:show): its subcommand is documented
            continue
        if hasattr(command, "commands"):
            paths.extend(f"{name} {sub}" for sub in command.commands)
        else:
            paths.append(name)
    return paths


def test_every_command_has_help_and_a_docs_entry() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    root = _root()
    for path in _command_paths():
        assert f"tutopanda {path}" in reference, f"docs/cli.md does not document '{path}'"
        parts = path.split()
        command = root.commands[parts[0]]
        if len(parts) > 1:
            command = command.commands[parts[1]]
        assert command.help, f"'{path}' has no help text"
        assert "Example" in command.help, f"'{path}' --help shows no example"


def test_every_command_section_of_the_cli_reference_has_an_example() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for section in re.split(r"^### ", reference, flags=re.M)[1:]:
        title = section.splitlines()[0]
        assert re.search(r"^    tutopanda ", section, re.M), f"docs/cli.md section {title} has no example"
