"""``build run`` never builds past edited prompt files: it names them and the command that applies them."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import CliRunner

MOCK = ("--providers", "mock")


def test_build_run_refuses_unapplied_file_edits_until_edit_applies_them(cli: CliRunner, root: Path) -> None:
    assert cli("query", "Why is the sky blue?", "--movie", "sky", "--segments", "2", *MOCK).code == 0
    assert cli("inspect", "--movie", "sky").code == 0
    narration = root / "builds" / "sky" / "prompts" / "segment-002" / "NarrationScript.txt"
    narration.write_text("Sunlight scatters off air molecules, blue the most.\n", encoding="utf-8")

    refused = cli("build", "run", "--movie", "sky", *MOCK)
    assert refused.code == 2
    assert "1 edit(s) in movie.toml or prompts/ not applied" in refused.stderr
    assert "Artifact:Script.NarrationScript[1]" in refused.stderr
    assert "run tutopanda edit --movie sky" in refused.stderr

    applied = cli("edit", "--movie", "sky", *MOCK, "--yes")
    assert applied.code == 0, applied.stderr
    again = cli("build", "run", "--movie", "sky", *MOCK)
    assert again.code == 0, again.stderr


def test_an_undo_says_what_it_reused_and_committed(cli: CliRunner) -> None:
    assert cli("query", "How do tides work?", "--movie", "t", "--segments", "1", *MOCK).code == 0
    assert cli("query", "--movie", "t", "--style", "watercolor", *MOCK).code == 0
    undo = cli("query", "--movie", "t", "--style", "illustration", *MOCK, "--plan")
    assert undo.code == 0, undo.stderr
    assert "nothing to build" not in undo.stdout
    assert "no job to run" in undo.stdout
    line = next(line for line in undo.stdout.splitlines() if line.startswith("reused "))
    assert line.endswith(", committed rev-0003, 0 jobs run")
    assert int(line.split()[1]) > 0


def test_a_text_with_windows_line_ends_is_applied_once_and_then_left_alone(
    cli: CliRunner, root: Path
) -> None:
    """A prompt file saved with CRLF keeps them in movie.toml's multi-line string; reading the export
    back must give the same text (a parser that turns CRLF into LF would see an edit nobody made)."""
    assert cli("query", "Why is the sky blue?", "--movie", "sky", "--segments", "1", *MOCK).code == 0
    assert cli("inspect", "--movie", "sky").code == 0
    narration = root / "builds" / "sky" / "prompts" / "segment-001" / "NarrationScript.txt"
    narration.write_bytes(b"First line of my narration.\r\nSecond line.\r\n")
    applied = cli("edit", "--movie", "sky", *MOCK, "--yes")
    assert applied.code == 0, applied.stderr
    assert b"\r\n" in (root / "builds" / "sky" / "movie.toml").read_bytes()
    again = cli("edit", "--movie", "sky", *MOCK, "--dry-run")
    assert again.code == 0 and "no edits found" in again.stdout, again.stdout + again.stderr
    built = cli("build", "run", "--movie", "sky", *MOCK)
    assert built.code == 0, built.stderr
