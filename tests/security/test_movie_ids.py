"""Movie ids cannot name anything outside ``<root>/builds/``, through any command.

Ids are letters, digits, ``-`` and ``_`` (at most 64, not starting with ``-`` or ``_``), checked before
any path is built. A movie folder that is a symbolic link is never deleted through: ``movies clean``
refuses it and leaves what it leads to alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.badinput.clean_errors import assert_clean_error, examples, run_cli
from tests.security.conftest import MOVIE

HOSTILE = ["", "..", ".", "../outside", "../../etc", "/etc", "a/b", "a\\b", "~", "x" * 65, " ", "a b", "é",
           "a\x00b", "%2e%2e", ".hidden", "builds/../x", "_x"]  # fmt: skip


def _commands(movie: str, event_file: Path) -> list[list[str]]:
    return [
        ["storage:init", "--movie", movie, "--blueprint", "audio-only"],
        ["query", "Why?", "--movie", movie, "--dry-run"],
        ["query", "Why?", "--movie", movie, "--providers", "mock"],
        ["inspect", "--movie", movie],
        ["edit", "--movie", movie, "--dry-run"],
        ["build", "plan", "--movie", movie],
        ["build", "run", "--movie", movie],
        ["build", "status", "--movie", movie],
        ["build", "diff", "--movie", movie],
        ["manifest:build", "--movie", movie],
        ["manifest:show", "--movie", movie],
        ["events:append", "--movie", movie, "--type", "input", "--file", str(event_file)],
        ["movies", "clean", movie, "--yes"],
    ]


@pytest.fixture(scope="module")
def ids_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A storage root holding one defined (not built) movie."""
    store = tmp_path_factory.mktemp("ids") / "store"
    made = run_cli("--root", str(store), "storage:init", "--movie", MOVIE, "--blueprint", "audio-only")
    assert made.code == 0, made.stderr
    (store / ".defaults-noted").touch()  # the once-per-root settings note is not what is looked at
    return store


def _listing(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.mark.parametrize(
    ("movie", "every"), [(movie, movie in ("", "..", "../outside", "/etc", "a\x00b")) for movie in HOSTILE]
)
def test_hostile_ids_are_refused_by_every_command(ids_root: Path, movie: str, every: bool) -> None:
    """Four ids through every command that takes one; the others through the storage-level commands."""
    event_file = ids_root.parent / "event.json"
    event_file.write_text('{"id": "Input:InquiryPrompt", "payload": "x"}', encoding="utf-8")
    before = _listing(ids_root.parent)
    commands = _commands(movie, event_file)
    for argv in commands if every else [commands[0], commands[10], commands[11], commands[12]]:
        message = assert_clean_error(run_cli("--root", str(ids_root), *argv), codes=(2,))
        assert "movie id" in message or "there is no movie" in message or "No such option" in message, (
            argv,
            message,
        )
    assert _listing(ids_root.parent) == before  # nothing created or removed, inside the root or beside it


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(movie=st.text(min_size=1, max_size=70))
def test_an_accepted_id_is_one_folder_directly_under_builds(ids_root: Path, movie: str) -> None:
    root = ids_root
    result = run_cli("--root", str(root), "storage:init", "--movie", movie)
    builds = (root / "builds").resolve()
    if result.code != 0:
        assert_clean_error(result, codes=(2,))
        return
    folder = root / "builds" / movie
    assert folder.is_dir() and folder.resolve().parent == builds
    assert movie not in (".", "..") and "/" not in movie


def test_a_movie_folder_that_is_a_link_is_never_deleted_through(root: Path, outside: Path) -> None:
    (outside / "current.json").write_text("{}", encoding="utf-8")
    (root / "builds" / "linked").symlink_to(outside, target_is_directory=True)
    message = assert_clean_error(
        run_cli("--root", str(root), "movies", "clean", "linked", "--yes"), codes=(2,)
    )
    assert "is a symbolic link" in message
    assert (outside / "secret.txt").is_file() and (outside / "current.json").is_file()
    assert (root / "builds" / "linked").is_symlink()
    listed = run_cli("--root", str(root), "movies", "list", "--json")
    assert listed.code == 0 and MOVIE in listed.stdout
