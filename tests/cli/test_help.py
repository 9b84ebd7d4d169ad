"""What ``tutopanda --help`` shows a newcomer: everyday commands first, plumbing last, flags as flags."""

from __future__ import annotations

import pytest

from tests.cli.conftest import CliRunner


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")


def test_everyday_commands_come_first_and_plumbing_last(cli: CliRunner) -> None:
    result = cli("--help")
    assert result.code == 0
    text = result.stdout
    names = ("query", "edit", "build", "providers", "verify", "manifest")
    positions = [text.index(f"│ {name} ") for name in names]
    assert positions == sorted(positions)
    assert text.index("Make and edit movies") < text.index("Plumbing")
    for alias in ("storage:init", "events:append", "manifest:build", "manifest:show", "providers:list"):
        assert alias not in text


def test_the_first_spellings_still_work_as_aliases(cli: CliRunner) -> None:
    for argv in (("manifest:show", "--movie", "ghost"), ("manifest", "show", "--movie", "ghost")):
        result = cli(*argv)
        assert result.code == 2
        assert "not initialised" in result.stderr
        assert "storage init --movie ghost" in result.stderr  # hints name the subcommand spelling
    assert cli("storage", "init", "--movie", "made").code == 0
    assert cli("storage:init", "--movie", "made").code == 0  # idempotent, same command


@pytest.mark.parametrize(
    "command", [(), ("query",), ("build", "run"), ("edit",), ("gc",), ("movies", "clean")]
)
def test_boolean_flags_show_no_value_type(cli: CliRunner, command: tuple[str, ...]) -> None:
    result = cli(*command, "--help")
    assert result.code == 0
    assert "<bool>" not in result.stdout
    assert "--help" in result.stdout
