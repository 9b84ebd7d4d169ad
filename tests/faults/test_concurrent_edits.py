"""Fault: two commands change one movie at the same time.

One build per movie: of two ``edit``s (or two ``build run``s, or an edit and a build) that overlap,
exactly one wins. The other exits 1 with one ``error:`` line — the lock's holder (pid, host, command)
or, when the winner finished while the loser was still deciding, that the movie changed under it — and
records nothing: no input event, no manual artefact, no provider call. The winner's result is whole
(``current.json`` names a complete manifest) and the loser can simply run again.

The winner runs as a subprocess of the console script (with mock latency, so it holds the movie for a
while); the loser runs in this process once the winner is known to be building, or — for the race
between checking an edit and recording it — from inside its own confirmation question.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
import tomlkit

from tests.e2e.build_helpers import (
    MovieCli,
    check_current_pointer,
    define_image_audio,
    narrator,
    wait_for_calls,
)

MOVIE = "shared"
NEW_NARRATION = "Part 2, rewritten by the second editor: magma rises because it is lighter than rock."


@pytest.fixture
def built(cli: MovieCli, tmp_path: Path) -> Path:
    """A built 2-segment movie exported with ``inspect``; returns the exported ``movie.toml``."""
    define_image_audio(cli, MOVIE, 2)
    cli.ok("build", "run", "--movie", MOVIE, "--json")
    cli.ok("inspect", "--movie", MOVIE)
    cli.reset_calls()
    return cli.movie_dir(MOVIE) / "movie.toml"


def edited_copy(
    exported: Path, target: Path, *, style: str | None = None, narration: str | None = None
) -> Path:
    """A copy of the exported document with one change (what one user would save)."""
    document = tomlkit.parse(exported.read_text(encoding="utf-8"))
    if style is not None:
        document["inputs"]["Style"] = style
    if narration is not None:
        document["segments"][1]["NarrationScript"] = narration
    target.write_text(tomlkit.dumps(document), encoding="utf-8")
    return target


def logs(cli: MovieCli) -> tuple[bytes, bytes]:
    events = cli.movie_dir(MOVIE) / "events"
    return (events / "inputs.log").read_bytes(), (events / "artefacts.log").read_bytes()


def manual_events(cli: MovieCli) -> int:
    """Artefact events recorded from a user's edit (a text or file standing in for an output)."""
    log = (cli.movie_dir(MOVIE) / "events" / "artefacts.log").read_text("utf-8")
    return sum(json.loads(line)["inputsHash"] == "manual" for line in log.splitlines() if line)


def inputs(cli: MovieCli) -> dict[str, object]:
    document: dict[str, object] = json.loads(cli.ok("inspect", "--movie", MOVIE, "--format", "json").stdout)
    values = document["inputs"]
    assert isinstance(values, dict)
    return values


def narration_of_segment_2(cli: MovieCli) -> str:
    text = (cli.movie_dir(MOVIE) / "prompts" / "segment-002" / "NarrationScript.txt").read_text("utf-8")
    return text.strip()


def one_error(stderr: str) -> str:
    """The ``error:`` line of a one-error stderr (asserting there is exactly that and a hint)."""
    lines = [line for line in stderr.splitlines() if not line.startswith("note: ")]  # no settings.toml
    assert [line.split(":")[0] for line in lines] == ["error", "hint"], stderr
    return lines[0]


def spawn_holder(cli: MovieCli, *args: str) -> subprocess.Popen[str]:
    """Start ``args`` as a slow subprocess and return once it is building (holding the movie)."""
    process = cli.spawn(*args, mock_options={"latency": 0.2})
    assert wait_for_calls(cli.call_log, 1, process), process.communicate()
    return process


def finish(process: subprocess.Popen[str]) -> str:
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    return stdout


def test_while_an_edit_builds_a_second_edit_and_a_build_are_refused_and_the_edit_is_reapplied_later(
    cli: MovieCli, built: Path, tmp_path: Path
) -> None:
    first = edited_copy(built, tmp_path / "first.toml", style="watercolor")
    second = edited_copy(built, tmp_path / "second.toml", narration=NEW_NARRATION)
    winner = spawn_holder(cli, "edit", "--movie", MOVIE, "--file", str(first), "--yes", "--json")
    before = logs(cli)

    losing_edit = cli.run("edit", "--movie", MOVIE, "--file", str(second), "--yes")
    losing_build = cli.run("build", "run", "--movie", MOVIE, "--json")

    holder = (
        f"is locked (build) by pid {winner.pid} on {socket.gethostname()} (tutopanda edit --movie {MOVIE})"
    )
    for loser in (losing_edit, losing_build):
        assert loser.code == 1, loser.stderr
        assert holder in one_error(loser.stderr)
        assert "Traceback" not in loser.stderr
    assert logs(cli)[0] == before[0]  # the losers recorded nothing...
    assert {call["pid"] for call in cli.calls()} == {winner.pid}  # ...and called no provider
    report = json.loads(finish(winner))
    assert report["failed"] == [] and report["revision"] == "rev-0002"
    assert inputs(cli)["Style"] == "watercolor"
    assert narration_of_segment_2(cli) != NEW_NARRATION
    check_current_pointer(cli.movie_dir(MOVIE))
    cli.reset_calls()
    manual_before = manual_events(cli)

    again = cli.run("edit", "--movie", MOVIE, "--file", str(second), "--yes", "--json")

    assert again.code == 0, again.stderr
    assert manual_events(cli) == manual_before + 1  # the new narration, recorded as the user's text
    assert narration_of_segment_2(cli) == NEW_NARRATION
    assert inputs(cli)["Style"] == "watercolor"  # the first edit is not undone by the second document
    assert narrator(1) in {call["jobId"] for call in cli.calls()}
    assert narrator(0) not in {call["jobId"] for call in cli.calls()}
    check_current_pointer(cli.movie_dir(MOVIE))


def test_an_edit_confirmed_after_another_edit_changed_the_movie_records_nothing(
    cli: MovieCli, built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both users change Style from the same export. The second one is still reading its plan when the
    first one's edit completes: saying yes must not silently overwrite the first user's Style."""
    first = edited_copy(built, tmp_path / "first.toml", style="watercolor")
    second = edited_copy(built, tmp_path / "second.toml", style="anime")
    seen: dict[str, object] = {}

    def meanwhile_the_other_edit_completes(question: str, **_: object) -> bool:
        result = cli.process("edit", "--movie", MOVIE, "--file", str(first), "--yes", "--json")
        assert result.code == 0, result.stderr
        seen["logs"] = logs(cli)
        return True

    with monkeypatch.context() as patched:
        patched.setattr("tutopanda.cli.output.confirm", meanwhile_the_other_edit_completes)
        late = cli.run("edit", "--movie", MOVIE, "--file", str(second))

    assert late.code == 1, late.stderr
    error = one_error(late.stderr)
    assert f"movie '{MOVIE}' changed while this edit was being prepared" in error
    assert "nothing was recorded" in error
    assert logs(cli) == seen["logs"]  # not one event from the late edit
    assert inputs(cli)["Style"] == "watercolor"
    check_current_pointer(cli.movie_dir(MOVIE))

    retried = cli.run("edit", "--movie", MOVIE, "--file", str(second), "--yes")

    # run again, the stale document meets the documented conflict check instead of reverting Style
    assert retried.code == 2, retried.stderr
    assert "Style" in one_error(retried.stderr)
    assert inputs(cli)["Style"] == "watercolor"


def test_an_edit_confirmed_while_another_edit_builds_is_refused_before_recording_anything(
    cli: MovieCli, built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second edit passed its checks before the first one started building; it is confirmed while
    the first one builds. It must not record its text and then fail to build it."""
    first = edited_copy(built, tmp_path / "first.toml", style="watercolor")
    second = edited_copy(built, tmp_path / "second.toml", narration=NEW_NARRATION)
    manual_before = manual_events(cli)
    started: list[subprocess.Popen[str]] = []

    def meanwhile_the_other_edit_starts_building(question: str, **_: object) -> bool:
        started.append(spawn_holder(cli, "edit", "--movie", MOVIE, "--file", str(first), "--yes", "--json"))
        return True

    with monkeypatch.context() as patched:
        patched.setattr("tutopanda.cli.output.confirm", meanwhile_the_other_edit_starts_building)
        late = cli.run("edit", "--movie", MOVIE, "--file", str(second))

    assert late.code == 1, late.stderr
    assert f"is locked (build) by pid {started[0].pid}" in one_error(late.stderr)
    finish(started[0])
    assert manual_events(cli) == manual_before  # the late edit's text was never recorded
    assert narration_of_segment_2(cli) != NEW_NARRATION
    assert inputs(cli)["Style"] == "watercolor"
    check_current_pointer(cli.movie_dir(MOVIE))


def test_a_query_on_a_movie_that_is_building_is_refused_before_recording_anything(
    cli: MovieCli, built: Path
) -> None:
    cli.ok("storage:init", "--movie", MOVIE, "--set", "Style=anime")
    winner = spawn_holder(cli, "build", "run", "--movie", MOVIE, "--json")
    before = logs(cli)[0]

    loser = cli.run("query", "--movie", MOVIE, "--style", "watercolor", "--json")

    assert loser.code == 1, loser.stderr
    assert f"is locked (build) by pid {winner.pid}" in one_error(loser.stderr)
    assert logs(cli)[0] == before  # the new Style was not recorded
    finish(winner)
    assert inputs(cli)["Style"] == "anime"


def test_two_builds_at_once_one_runs_the_other_is_refused_naming_it(cli: MovieCli, built: Path) -> None:
    cli.ok("storage:init", "--movie", MOVIE, "--set", "Style=anime")  # something to build
    winner = spawn_holder(cli, "build", "run", "--movie", MOVIE, "--json")
    before = logs(cli)
    holder_file = cli.movie_dir(MOVIE) / ".locks" / "build.holder.json"

    loser = cli.run("build", "run", "--movie", MOVIE, "--json")

    assert loser.code == 1
    error = one_error(loser.stderr)
    assert f"movie '{MOVIE}' is locked (build) by pid {winner.pid}" in error  # the holder's own pid
    assert f"(tutopanda build run --movie {MOVIE})" in error
    assert json.loads(holder_file.read_text())["pid"] == winner.pid
    assert loser.stdout == ""
    assert logs(cli)[0] == before[0]
    report = json.loads(finish(winner))
    assert report["status"] == "succeeded"
    assert {call["pid"] for call in cli.calls()} == {winner.pid}
    assert not holder_file.exists()  # freed with its process
    check_current_pointer(cli.movie_dir(MOVIE))
    cli.reset_calls()

    rerun = cli.run("build", "run", "--movie", MOVIE, "--json")

    assert rerun.code == 0 and json.loads(rerun.stdout)["revision"] is None
    assert cli.calls() == []  # the winner built everything; nothing is left to do
