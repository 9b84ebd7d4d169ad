"""Fixtures of the writer tests: the CLI through its real entry point, as in ``tests/cli``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import CliResult, CliRunner
from tutopanda.cli.main import main


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], root: Path) -> CliRunner:
    """``cli("query", ...)`` runs ``tutopanda --root <tmp> ...`` in this process."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(["--root", str(root), *args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
