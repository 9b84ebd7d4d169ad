"""Run the real CLI entry point in-process and capture what a user would see."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tutopanda.cli.main import main


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


CliRunner = Callable[..., CliResult]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], root: Path) -> CliRunner:
    """``cli("storage:init", "--movie", "demo")`` runs ``tutopanda --root <tmp> ...`` in this process."""

    def run(*args: str, use_root: bool = True) -> CliResult:
        capsys.readouterr()
        argv = ["--root", str(root), *args] if use_root else list(args)
        code = main(argv)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
