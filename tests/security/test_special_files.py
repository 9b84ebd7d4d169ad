"""Special files planted in a store never hang a command nor exhaust its memory.

A named pipe, a directory, a link to a device or an oversized file where a manifest, pointer, log, plan,
record, definition or blob should be: every command that reads the store answers within seconds with a
clean result (a report row, or one ``error:`` line), never blocks on the pipe and never reads the device
without end. Each command runs in a daemon thread with a generous deadline, so a regression shows up as
a failed assertion instead of a hung test run.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.badinput.clean_errors import CliResult, run_cli
from tests.security.conftest import MOVIE
from tutopanda.core.store.regular_file import MAX_LOG_LINE_BYTES, bounded_lines, open_regular, read_regular

DEADLINE = 60.0
"""Seconds a command may take on a loaded machine; a hang is forever, so this only needs to be finite."""


def _movie(root: Path) -> Path:
    return root / "builds" / MOVIE


def _targets(root: Path) -> dict[str, Path]:
    movie = _movie(root)
    blob = next(path for path in sorted((movie / "blobs").rglob("*")) if path.is_file())
    plan = next(path for path in sorted((movie / "runs").glob("*-plan.json")))
    return {
        "pointer": movie / "current.json",
        "manifest": next(iter(sorted((movie / "manifests").glob("rev-*.json")))),
        "log": movie / "events" / "artefacts.log",
        "plan": plan,
        "definition": movie / "movie.json",
        "blob": blob,
    }


def _plant(path: Path, kind: str) -> None:
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "device":
        path.symlink_to("/dev/zero")


def _run(*argv: str) -> CliResult:
    box: list[CliResult] = []
    thread = threading.Thread(target=lambda: box.append(run_cli(*argv)), daemon=True)
    thread.start()
    thread.join(DEADLINE)
    assert not thread.is_alive(), f"tutopanda {' '.join(argv)} hung on a special file"
    return box[0]


def _no_traceback(result: CliResult) -> None:
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr, result.stderr[-2000:]


COMMANDS: tuple[Callable[[Path], tuple[str, ...]], ...] = (
    lambda root: ("--root", str(root), "movies", "list"),
    lambda root: ("--root", str(root), "verify", "--all"),
    lambda root: ("--root", str(root), "verify", "--movie", MOVIE, "--repair", "--yes"),
    lambda root: ("--root", str(root), "build", "status", "--movie", MOVIE),
    lambda root: ("--root", str(root), "build", "plan", "--movie", MOVIE),
)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
@pytest.mark.parametrize("where", ["pointer", "manifest", "log", "plan", "definition", "blob"])
def test_special_files_never_hang_a_command(root: Path, kind: str, where: str) -> None:
    _plant(_targets(root)[where], kind)
    for command in COMMANDS:
        result = _run(*command(root))
        _no_traceback(result)
        assert result.code in (0, 1, 2), result.stderr[-2000:]
        if result.code:
            errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
            assert len(errors) == 1, result.stderr[-2000:]


def test_a_named_pipe_pointer_is_named_in_the_error(root: Path) -> None:
    _plant(_targets(root)["pointer"], "fifo")
    result = _run("--root", str(root), "build", "status", "--movie", MOVIE)
    assert result.code == 1
    assert "current.json is a named pipe, not a regular file" in result.stderr


def test_movies_list_still_lists_a_movie_whose_pointer_is_a_pipe(root: Path) -> None:
    _plant(_targets(root)["pointer"], "fifo")
    result = _run("--root", str(root), "movies", "list", "--json")
    assert result.code == 0, result.stderr
    assert MOVIE in result.stdout


def test_an_oversized_store_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "manifest.json"
    with big.open("wb") as stream:
        stream.truncate(64 * 1024 * 1024)  # sparse: costs no disk
    with pytest.raises(Exception, match="more than the 1,024 bytes"):
        read_regular(big, limit=1024)


def test_an_enormous_log_line_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    log = tmp_path / "artefacts.log"
    with log.open("wb") as stream:
        stream.write(b'{"a":1}\n')
        stream.write(b"x" * (MAX_LOG_LINE_BYTES * 3))
        stream.write(b'\n{"b":2}\n')
    skipped: list[int] = []
    with open_regular(log) as stream:
        lines = list(bounded_lines(stream, MAX_LOG_LINE_BYTES, skipped.append))
    assert lines == [b'{"a":1}\n', b'{"b":2}\n']
    assert skipped == [MAX_LOG_LINE_BYTES * 3 + 1]


def test_an_enormous_log_line_in_a_movie_is_a_warning_not_a_failure(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = _targets(root)["log"]
    with log.open("ab") as stream:
        stream.write(b"{" + b" " * (MAX_LOG_LINE_BYTES + 10) + b"}\n")
    result = _run("--root", str(root), "build", "plan", "--movie", MOVIE)
    _no_traceback(result)
    assert result.code == 0, result.stderr
    assert "longer than the 4,194,304 bytes an event may have" in caplog.text


def test_appending_never_follows_a_link_planted_for_the_log(root: Path, outside: Path) -> None:
    log = _targets(root)["log"]
    target = outside / "appended.log"
    target.write_bytes(b"")
    log.unlink()
    log.symlink_to(target)
    result = _run(
        "--root", str(root), "query", "--movie", MOVIE, "--style", "watercolor", "--providers", "mock"
    )
    assert result.code != 0
    assert target.read_bytes() == b""  # nothing was written through the link
