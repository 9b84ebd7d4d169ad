"""Without the ``fleet`` extra, durable commands stop with one error naming it (not a traceback)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.badinput.clean_errors import assert_clean_error, run_cli


@pytest.fixture
def without_dbos(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import dbos`` fail as it does in a base install (None in sys.modules blocks the import)."""
    monkeypatch.setitem(sys.modules, "dbos", None)
    for name in ("tutopanda.workflow.dbos_executor",):
        monkeypatch.delitem(sys.modules, name, raising=False)


@pytest.mark.usefixtures("without_dbos")
@pytest.mark.parametrize(
    "argv",
    [
        ("worker",),
        ("build", "run", "--movie", "volcanoes", "--executor", "dbos", "--yes"),
    ],
)
def test_durable_commands_name_the_fleet_extra(tmp_path: Path, argv: tuple[str, ...]) -> None:
    root = tmp_path / "store"
    if argv[0] == "build":
        made = run_cli(
            "--root", str(root), "storage", "init", "--movie", "volcanoes", "--blueprint", "audio-only"
        )
        assert made.code == 0, made.stderr
    result = run_cli("--root", str(root), *argv)
    message = assert_clean_error(result, codes=(2,))
    assert "'fleet' extra" in message
    assert "pip install 'tutopanda[fleet]'" in result.stderr


def test_the_base_install_does_not_require_dbos() -> None:
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text("utf-8"))
    base = project["project"]["dependencies"]
    assert not any(requirement.startswith(("dbos", "s3fs", "psycopg", "sqlalchemy")) for requirement in base)
    extras = project["project"]["optional-dependencies"]
    assert any(requirement.startswith("dbos") for requirement in extras["fleet"])
    assert "tutopanda[fleet]" in extras["dev"]
