"""``tutopanda edit`` asking its question for real: the installed console script, answers over a pipe."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.build_helpers import MovieCli, narrator, tree_digest, tutopanda_command

MOVIE = "v"


def answer(cli: MovieCli, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``tutopanda --root ROOT ARGS`` as a subprocess with ``text`` on its stdin."""
    return subprocess.run(
        [*tutopanda_command(), "--root", str(cli.root), *args],
        input=text,
        capture_output=True,
        text=True,
        env=cli.env(),
        timeout=120,
        check=False,
    )


@pytest.mark.slow  # builds behind a piped confirmation, twice: ~12 s on 2 busy cores
def test_edit_asks_over_a_pipe_and_only_yes_builds(cli: MovieCli) -> None:
    cli.ok("query", "How do volcanoes erupt?", "--movie", MOVIE, "--segments", "2", "--json")
    cli.ok("inspect", "--movie", MOVIE)
    movie_dir = cli.movie_dir(MOVIE)
    (movie_dir / "prompts" / "segment-001" / "NarrationScript.txt").write_text(
        "Deep below, magma gathers.\n", encoding="utf-8"
    )
    cli.reset_calls()
    before = tree_digest(cli.root)

    declined = answer(cli, "n\n", "edit", "--movie", MOVIE)
    # docs/cli.md: answering anything but y changes nothing on disk (exit 0).
    assert declined.returncode == 0, declined.stderr
    assert "Record these edits and run" in declined.stderr and "[y/N]" in declined.stderr
    assert "Record these edits" not in declined.stdout  # the question never pollutes stdout
    assert "cancelled: nothing was changed" in declined.stdout
    assert tree_digest(cli.root) == before
    assert cli.calls() == []

    accepted = answer(cli, "y\n", "edit", "--movie", MOVIE)
    assert accepted.returncode == 0, accepted.stderr
    assert "Record these edits and run" in accepted.stderr
    assert "committed rev-0002" in accepted.stdout
    called = {call["jobId"] for call in cli.calls()}
    assert narrator(0) in called and narrator(1) not in called
    assert cli.manifests(MOVIE) == ["rev-0001.json", "rev-0002.json"]
