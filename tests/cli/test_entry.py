"""The console script turns a Ctrl-C outside the CLI proper (while importing, while winding down) into
the CLI's one ``error:`` line and exit 130, never a traceback."""

from __future__ import annotations

import sys
import types

import pytest

from tests.badinput.clean_errors import CliResult, assert_clean_error
from tutopanda.cli import entry


class _InterruptedOnImport(types.ModuleType):
    def __getattr__(self, name: str) -> object:
        raise KeyboardInterrupt  # what a Ctrl-C during `from tutopanda.cli.main import run` raises


def _run_entry(capsys: pytest.CaptureFixture[str]) -> CliResult:
    with pytest.raises(SystemExit) as exited:
        entry.run()
    captured = capsys.readouterr()
    code = exited.value.code
    return CliResult(code if isinstance(code, int) else 1, captured.out, captured.err)


def test_ctrl_c_while_the_cli_imports_prints_one_line_and_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "tutopanda.cli.main", _InterruptedOnImport("tutopanda.cli.main"))
    result = _run_entry(capsys)
    assert result.code == 130
    assert assert_clean_error(result, codes=(130,)) == "interrupted"


def test_ctrl_c_after_the_command_returned_prints_one_line_and_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tutopanda.cli.main as cli_main

    def winding_down() -> None:
        raise KeyboardInterrupt  # e.g. while waiting for stuck provider threads at exit

    monkeypatch.setattr(cli_main, "run", winding_down)
    result = _run_entry(capsys)
    assert result.code == 130
    assert_clean_error(result, codes=(130,))
