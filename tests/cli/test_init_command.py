"""``tutopanda init``: creates the root, settings and provider configs once, and never overwrites a file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import CliRunner
from tutopanda.cli import init_command
from tutopanda.cli.main import app

EXPECTED_FILES = [
    "settings.toml",
    "providers/local.toml",
    "providers/openai.toml",
    "providers/replicate.toml",
    "providers/elevenlabs.toml",
]


@pytest.fixture(autouse=True)
def _init_registered() -> Iterator[None]:
    """Register ``init`` on the real app for these tests only, unless main.py already does."""
    if any(info.name == "init" for info in app.registered_commands):
        yield
        return
    init_command.register(app)
    added = app.registered_commands[-1]
    try:
        yield
    finally:
        app.registered_commands.remove(added)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_init_creates_root_settings_and_provider_configs(cli: CliRunner, root: Path) -> None:
    result = cli("init")
    assert result.code == 0, result.stderr
    assert (root / "builds").is_dir()
    assert sorted(_snapshot(root)) == sorted(EXPECTED_FILES)
    for name in EXPECTED_FILES:
        assert f"created  {name}" in result.stdout
    assert "kept" not in result.stdout


def test_init_twice_creates_nothing_and_reports_everything_kept(cli: CliRunner, root: Path) -> None:
    assert cli("init").code == 0
    before = _snapshot(root)
    result = cli("init", "--json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["created"] == []
    assert {Path(p).relative_to(root).as_posix() for p in report["kept"] if not p.endswith("/")} == set(
        EXPECTED_FILES
    )
    assert _snapshot(root) == before


def test_init_never_overwrites_a_file_the_user_changed(cli: CliRunner, root: Path) -> None:
    assert cli("init").code == 0
    settings = root / "settings.toml"
    local = root / "providers" / "local.toml"
    settings.write_text("# mine\n[general]\nconcurrency = 9\n", encoding="utf-8")
    local.write_bytes(b"[narration]\nwordsPerMinute = 200\n")
    (root / "providers" / "openai.toml").unlink()
    edited = _snapshot(root)
    result = cli("init")
    assert result.code == 0, result.stderr
    assert "created  providers/openai.toml" in result.stdout
    assert "kept     settings.toml" in result.stdout
    after = _snapshot(root)
    assert after["settings.toml"] == edited["settings.toml"]
    assert after["providers/local.toml"] == edited["providers/local.toml"]


def test_init_honours_tutopanda_home(cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home-root"
    monkeypatch.setenv("TUTOPANDA_HOME", str(home))
    result = cli("init", "--json", use_root=False)
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["root"] == home.resolve().as_posix()
    assert (home / "settings.toml").is_file()


def test_init_own_root_option_wins_over_the_global_one(cli: CliRunner, root: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    result = cli("init", "--root", str(other))
    assert result.code == 0, result.stderr
    assert (other / "settings.toml").is_file()
    assert not root.exists()


def test_secrets_are_never_written_and_comments_say_where_they_come_from(cli: CliRunner, root: Path) -> None:
    assert cli("init").code == 0
    for name in ("openai", "replicate", "elevenlabs"):
        text = (root / "providers" / f"{name}.toml").read_text(encoding="utf-8")
        assert "environment variable" in text
        assert "sk-" not in text and "api_key =" not in text.lower()


def test_init_checks_a_kept_settings_file_exit_2_one_line_naming_file_and_field(
    cli: CliRunner, root: Path
) -> None:
    assert cli("init").code == 0
    settings = root / "settings.toml"
    text = settings.read_text(encoding="utf-8").replace("concurrency = 4", "concurrency = 0")
    settings.write_text(text, encoding="utf-8")
    result = cli("init")
    assert result.code == 2
    assert settings.read_text(encoding="utf-8") == text
    error_lines = result.stderr.strip().splitlines()
    assert len(error_lines) == 2
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if row == "concurrency = 0")
    assert error_lines[0].startswith(
        f"error: {settings.resolve().as_posix()}:{line}: general.concurrency = 0"
    )
    assert error_lines[1].startswith("hint: set concurrency to a whole number from 1 to 256")
    assert "Traceback" not in result.stderr
