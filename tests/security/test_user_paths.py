"""Paths the user names (``edit --file``, ``edit --replace``, ``inspect --out``): theirs to choose.

A file the user names explicitly is a *source* they chose: it may be anywhere they can read, through
a link or not — refusing ``--replace ~/Pictures/crater.png`` would only get in the way. What is checked
is that it is a readable regular file of the right kind (never a FIFO or device that would block), and
that ``inspect --out`` does not overwrite Tutopanda's own files inside the movie folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.badinput.clean_errors import assert_clean_error, run_cli
from tests.security.conftest import MOVIE


def test_replace_takes_a_text_file_from_anywhere_even_through_a_link(root: Path, outside: Path) -> None:
    title = outside / "title.txt"
    title.write_text("My own title\n", encoding="utf-8")
    link = outside / "link-to-title.txt"
    link.symlink_to(title)
    replace = ["--replace", f"Script.MovieTitle={link}"]
    result = run_cli("--root", str(root), "edit", "--movie", MOVIE, *replace, "--dry-run", "--json")
    assert result.code == 0, result.stderr
    edits = json.loads(result.stdout)["edits"]
    assert [(edit["what"], edit["id"]) for edit in edits] == [("file", "Artifact:Script.MovieTitle")]


@pytest.mark.parametrize("kind", ["fifo", "folder", "device", "missing", "long-name", "unreadable"])
def test_replace_refuses_what_is_not_a_readable_regular_file(root: Path, outside: Path, kind: str) -> None:
    path = outside / "thing.txt"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "device":
        path = Path("/dev/zero")
    elif kind == "long-name":
        path = outside / ("x" * 5000)
    elif kind == "unreadable":
        path.write_text("secret", encoding="utf-8")
        path.chmod(0)
        if os.access(path, os.R_OK):  # root reads anything: nothing to prove here
            pytest.skip("running as a user who can read any file")
    option = f"Script.MovieTitle={path}"
    result = run_cli("--root", str(root), "edit", "--movie", MOVIE, "--replace", option, "--dry-run")
    message = assert_clean_error(result, codes=(2,))
    assert "--replace" in message


def test_edit_file_may_live_anywhere(root: Path, outside: Path) -> None:
    document = (root / "builds" / MOVIE / "movie.toml").read_text(encoding="utf-8")
    mine = outside / "my-edits.toml"
    mine.write_text(document.replace('Style = "illustration"', 'Style = "anime"'), encoding="utf-8")
    result = run_cli(
        "--root", str(root), "edit", "--movie", MOVIE, "--file", str(mine), "--dry-run", "--json"
    )
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["edits"][0]["id"] == "Style"


@pytest.mark.parametrize(
    "target", ["current.json", "movie.json", "manifests/rev-0001.json", "prompts/x.toml"]
)
def test_inspect_out_never_overwrites_the_movies_own_files(root: Path, target: str) -> None:
    folder = root / "builds" / MOVIE
    path = folder / target
    before = path.read_bytes() if path.exists() else None
    result = run_cli("--root", str(root), "inspect", "--movie", MOVIE, "--out", str(path))
    message = assert_clean_error(result, codes=(2,))
    assert "inside the movie's folder" in message
    assert (path.read_bytes() if path.exists() else None) == before
    # the document itself may be named explicitly, and a path elsewhere is the user's choice
    assert (
        run_cli("--root", str(root), "inspect", "--movie", MOVIE, "--out", str(folder / "movie.toml")).code
        == 0
    )


def test_a_title_naming_a_path_publishes_inside_the_movies_folder(root: Path, outside: Path) -> None:
    """The published file is named after the movie's title — text the user (or a model) writes."""
    title = root / "builds" / MOVIE / "prompts" / "MovieTitle.txt"
    title.write_text(f"../../../{outside.name}/evil /etc/passwd\n", encoding="utf-8")
    result = run_cli("--root", str(root), "edit", "--movie", MOVIE, "--yes", "--providers", "mock")
    assert result.code == 0, result.stderr
    published = sorted(path.name for path in (root / "movies" / MOVIE).iterdir())
    assert published and all("/" not in name and ".." not in name for name in published)
    assert sorted(path.name for path in outside.iterdir()) == ["secret.txt"]
