"""Prompt files are read and written only inside the movie's ``prompts/`` folder, links included.

``inspect`` and ``edit`` read every prompt file on their own (the user never names them), so a link in
``prompts/`` leading out of it would turn any readable file into a narration sent to a provider, and
writing through a linked folder would overwrite files elsewhere. Such a link is refused, by name, and
nothing is read through it or written through it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.badinput.clean_errors import assert_clean_error, run_cli
from tests.security.conftest import MOVIE, SECRET, store_text

COMMANDS = (
    ["edit", "--movie", MOVIE, "--dry-run"],
    ["edit", "--movie", MOVIE, "--yes"],
    ["inspect", "--movie", MOVIE],
    ["inspect", "--movie", MOVIE, "--force"],
)


def _prompts(root: Path) -> Path:
    return root / "builds" / MOVIE / "prompts"


def _refused_everywhere(root: Path, outside: Path, named: str) -> None:
    before = sorted(path.name for path in outside.iterdir())
    for argv in COMMANDS:
        result = run_cli("--root", str(root), *argv)
        message = assert_clean_error(result, codes=(2,))
        assert named in message and "leads out of the movie's prompts/ folder" in message, message
        assert SECRET not in result.stdout + result.stderr
    assert sorted(path.name for path in outside.iterdir()) == before  # nothing written through the link
    assert (outside / "secret.txt").read_text(encoding="utf-8") == SECRET + "\n"
    assert SECRET not in store_text(root)  # never recorded as an edit


def test_a_prompt_file_linked_out_of_the_movie_is_refused(root: Path, outside: Path) -> None:
    prompt = _prompts(root) / "segment-001" / "NarrationScript.txt"
    prompt.unlink()
    prompt.symlink_to(outside / "secret.txt")
    _refused_everywhere(root, outside, "prompts/segment-001/NarrationScript.txt")
    prompt.unlink()  # the fix the hint gives: delete the link, inspect writes a regular file again
    assert run_cli("--root", str(root), "inspect", "--movie", MOVIE).code == 0
    assert prompt.is_file() and not prompt.is_symlink()


def test_a_dangling_link_to_a_file_to_be_created_elsewhere_is_refused(root: Path, outside: Path) -> None:
    prompt = _prompts(root) / "MovieTitle.txt"
    prompt.unlink()
    prompt.symlink_to(outside / "created-by-tutopanda.txt")
    _refused_everywhere(root, outside, "prompts/MovieTitle.txt")


def test_a_segment_folder_linked_out_of_the_movie_is_refused(root: Path, outside: Path) -> None:
    folder = _prompts(root) / "segment-001"
    for file in folder.iterdir():
        file.rename(outside / file.name)
    folder.rmdir()
    folder.symlink_to(outside, target_is_directory=True)
    _refused_everywhere(root, outside, "prompts/segment-001/")


def test_the_prompts_folder_linked_out_of_the_movie_is_refused(root: Path, outside: Path) -> None:
    prompts = _prompts(root)
    (outside / "prompts").mkdir()
    prompts.rename(outside / "prompts-moved")
    prompts.symlink_to(outside / "prompts", target_is_directory=True)
    _refused_everywhere(root, outside, "prompts/")


def test_the_prompt_index_linked_out_of_the_movie_is_refused(root: Path, outside: Path) -> None:
    index = _prompts(root) / "index.json"
    index.unlink()
    index.symlink_to(outside / "secret.txt")
    _refused_everywhere(root, outside, "prompts/index.json")


def test_a_link_that_stays_inside_prompts_is_followed(root: Path) -> None:
    """Not every link is hostile: one prompt file pointing at another inside prompts/ just works."""
    prompts = _prompts(root)
    title = prompts / "MovieTitle.txt"
    (prompts / "my-title.txt").write_text("A title of my own\n", encoding="utf-8")
    title.unlink()
    title.symlink_to(prompts / "my-title.txt")
    result = run_cli("--root", str(root), "edit", "--movie", MOVIE, "--dry-run", "--json")
    assert result.code == 0, result.stderr
    assert "Artifact:Script.MovieTitle" in result.stdout


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_prompt_path_that_is_not_a_regular_file_is_refused_without_blocking(root: Path, kind: str) -> None:
    prompt = _prompts(root) / "segment-001" / "NarrationScript.txt"
    prompt.unlink()
    if kind == "fifo":
        os.mkfifo(prompt)  # reading it would wait for a writer forever
    else:
        prompt.mkdir()
    message = assert_clean_error(
        run_cli("--root", str(root), "edit", "--movie", MOVIE, "--dry-run"), codes=(2,)
    )
    assert "NarrationScript.txt is not a regular file" in message
