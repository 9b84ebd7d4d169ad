"""``tutopanda movies list|clean`` through the real entry point, on movies built with the mock providers."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import tutopanda.cli.main as main_module
from tests.cli.conftest import CliRunner
from tutopanda.cli import movies_commands
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.storage import StorageConfig, StorageContext


def _has_group(name: str) -> bool:
    for group in main_module.app.registered_groups:
        info = getattr(group.typer_instance, "info", None)
        if getattr(info, "name", None) == name:
            return True
    return False


@pytest.fixture(autouse=True, scope="module")
def _movies_group() -> Iterator[None]:
    """Register the ``movies`` group unless main.py already does, and only for this module.

    Undone afterwards so other tests (the docs check walks every registered command) see the real app.
    """
    if _has_group("movies"):
        yield
        return
    movies_commands.register(main_module.app)
    added = main_module.app.registered_groups[-1]
    try:
        yield
    finally:
        main_module.app.registered_groups.remove(added)


def _make_movie(cli: CliRunner, movie_id: str, prompt: str = "How do volcanoes erupt?") -> None:
    result = cli(
        "query", prompt, "--movie", movie_id, "--blueprint", "audio-only", "--segments", "1",
        "--duration", "12", "--providers", "mock",
    )  # fmt: skip
    assert result.code == 0, result.stderr


def _files(root: Path) -> dict[Path, bytes]:
    return {
        path.relative_to(root): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and ".locks" not in path.parts
    }


def test_list_shows_a_table_of_the_movies(cli: CliRunner) -> None:
    _make_movie(cli, "volcano")

    result = cli("movies", "list")

    assert result.code == 0, result.stderr
    for column in ("id", "title", "revision", "duration", "cost", "updated"):
        assert column in result.stdout
    assert "volcano" in result.stdout
    assert "rev-0001" in result.stdout
    assert "0:12" in result.stdout


def test_list_json_has_one_object_per_movie(cli: CliRunner, root: Path) -> None:
    _make_movie(cli, "volcano")
    _make_movie(cli, "sky", "Why is the sky blue?")
    (root / "builds" / "not-a-movie").mkdir()

    result = cli("movies", "list", "--json")

    assert result.code == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [movie["id"] for movie in listed] == ["sky", "volcano"]
    volcano = listed[1]
    assert set(volcano) == {"id", "title", "revision", "durationSeconds", "cost", "updatedAt", "error"}
    assert "volcano" in volcano["title"].lower()
    assert volcano["revision"] == "rev-0001"
    assert volcano["durationSeconds"] == 12.0
    assert volcano["cost"] == 0.0
    assert volcano["updatedAt"].endswith("Z")
    assert volcano["error"] is None


def test_list_of_an_empty_root_says_how_to_start(cli: CliRunner) -> None:
    assert json.loads(cli("movies", "list", "--json").stdout) == []
    result = cli("movies", "list")
    assert result.code == 0
    assert "no movies" in result.stdout and "tutopanda query" in result.stdout


def test_clean_yes_removes_the_build_and_published_folders(cli: CliRunner, root: Path) -> None:
    _make_movie(cli, "volcano")
    _make_movie(cli, "sky", "Why is the sky blue?")
    assert (root / "movies" / "volcano").is_dir()

    result = cli("movies", "clean", "volcano", "--yes")

    assert result.code == 0, result.stderr
    assert "deleted movie 'volcano'" in result.stdout
    assert not (root / "builds" / "volcano").exists()
    assert not (root / "movies" / "volcano").exists()
    assert [movie["id"] for movie in json.loads(cli("movies", "list", "--json").stdout)] == ["sky"]


def test_clean_answered_no_deletes_nothing(
    cli: CliRunner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _make_movie(cli, "volcano")
    before = _files(root)
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))

    result = cli("movies", "clean", "volcano")

    assert result.code == 0, result.stderr
    assert "Delete movie volcano (" in result.stderr and "MB)? [y/N]" in result.stderr  # stdout stays data
    assert "nothing deleted" in result.stdout
    assert _files(root) == before


def test_clean_answered_yes_at_the_prompt_deletes(
    cli: CliRunner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _make_movie(cli, "volcano")
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))

    result = cli("movies", "clean", "volcano")

    assert result.code == 0, result.stderr
    assert not (root / "builds" / "volcano").exists()


def test_clean_without_input_to_answer_from_exits_2_and_suggests_yes(
    cli: CliRunner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _make_movie(cli, "volcano")
    before = _files(root)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))

    result = cli("movies", "clean", "volcano")

    assert result.code == 2
    question, error, hint = result.stderr.splitlines()
    assert question.startswith("Delete movie volcano (")
    assert error.startswith("error: movies clean needs a yes/no answer")
    assert "--yes" in hint
    assert _files(root) == before


def test_clean_of_an_unknown_movie_exits_2_with_a_hint(cli: CliRunner) -> None:
    _make_movie(cli, "volcano")

    result = cli("movies", "clean", "nope", "--yes")

    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and "'nope'" in lines[0]
    assert lines[1].startswith("hint: ") and "tutopanda movies list" in lines[1]
    assert "Traceback" not in result.stderr

    invalid = cli("movies", "clean", "../volcano", "--yes")
    assert invalid.code == 2


def test_clean_while_a_build_holds_the_lock_exits_1_naming_the_holder(cli: CliRunner, root: Path) -> None:
    _make_movie(cli, "volcano")
    before = _files(root)
    ctx = StorageContext.open(StorageConfig(root=root))

    with movie_lock(ctx, "volcano", command="tutopanda build run"):
        result = cli("movies", "clean", "volcano", "--yes")

    assert result.code == 1
    assert result.stderr.startswith("error: ")
    assert "tutopanda build run" in result.stderr
    assert f"pid {os.getpid()}" in result.stderr
    assert _files(root) == before
