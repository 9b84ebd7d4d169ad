"""Fault: the disk fills up during ``tutopanda build run`` — while storing a blob, appending an event, or
saving the manifest.

The fault is injected at the lowest level the store writes through: ``os.write``. The wrapper looks up
which file a descriptor belongs to (``/proc/self/fd``) and, at the Nth write to the chosen kind of file,
behaves like a filling disk: that write is short (half the bytes land) and the next one fails with
``ENOSPC``. Everything else is written normally.

Each time the build must stop with one clear ``error: disk full …`` line and a hint (exit 1, no
traceback); afterwards ``tutopanda verify`` finds the store clean, and a rerun (disk space back)
completes, calling the providers exactly for the jobs that had not stored every output — nothing already
paid for is produced twice.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.build_helpers import (
    JobGraph,
    MovieCli,
    artefact_events,
    check_current_pointer,
    completed_jobs,
    define_image_audio,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="finds a descriptor's file through /proc/self/fd"
)

M = "demo"
SEGMENTS = 2


class FillingDisk:
    """``os.write`` that runs out of space at the ``nth`` write to a file ``matches`` accepts."""

    def __init__(self, matches: Callable[[str], bool], nth: int) -> None:
        self.matches = matches
        self.nth = nth
        self.seen = 0
        self.state = "armed"  # -> "short" (half of one write landed) -> "full"
        self.real_write = os.write

    def __call__(self, fd: int, data: Any) -> int:
        if self.state != "full" and self.matches(str(Path(f"/proc/self/fd/{fd}").readlink())):
            if self.state == "short":
                self.state = "full"
                raise OSError(errno.ENOSPC, "No space left on device")
            self.seen += 1
            if self.seen == self.nth:
                self.state = "short"
                view = memoryview(data)
                return self.real_write(fd, view[: max(1, len(view) // 2)])
        return self.real_write(fd, data)


def _blob_put(path: str) -> bool:
    return "/blobs/.tmp/" in path


def _event_append(path: str) -> bool:
    return path.endswith("/events/artefacts.log")


def _manifest_save(path: str) -> bool:
    return "/manifests/.rev-" in path  # the temp file a manifest is written to before its rename


@pytest.mark.parametrize(
    ("matches", "nth", "written"),
    [
        pytest.param(_blob_put, 6, "a blob of movie", id="blob-put"),
        pytest.param(_event_append, 5, "events/artefacts.log", id="event-append"),
        pytest.param(_manifest_save, 1, "manifests/rev-0001.json", id="manifest-save"),
    ],
)
def test_a_full_disk_stops_the_build_cleanly_and_nothing_paid_for_is_redone(
    cli: MovieCli,
    monkeypatch: pytest.MonkeyPatch,
    matches: Callable[[str], bool],
    nth: int,
    written: str,
) -> None:
    graph = JobGraph.expand(cli, "image-audio", f"NumOfSegments={SEGMENTS}")
    define_image_audio(cli, M, SEGMENTS)
    movie = cli.movie_dir(M)

    disk = FillingDisk(matches, nth)
    monkeypatch.setattr(os, "write", disk)
    result = cli.run("build", "run", "--movie", M, "--concurrency", "1")
    monkeypatch.setattr(os, "write", disk.real_write)  # space is back

    assert disk.state == "full", "the fault never fired"
    assert result.code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("error: disk full writing ") and written in lines[0], lines[0]
    assert lines[1].startswith("hint: free some disk space")
    assert "Traceback" not in result.stdout + result.stderr

    # The store is sound: current.json names a complete manifest (or none yet), no partial line, no temp
    # file; verify agrees.
    check_current_pointer(movie)
    assert movie.joinpath("events", "artefacts.log").read_bytes().endswith(b"\n")
    assert not [p for p in movie.rglob("*") if p.is_file() and (".tmp-" in p.name or p.parent.name == ".tmp")]
    verified = cli.run("verify", "--movie", M, "--json")
    assert verified.code == 0, verified.stdout
    assert verified.json()["problems"] == []

    produces = {job_id: [a["id"] for a in job["produces"]] for job_id, job in graph.jobs.items()}
    done = completed_jobs(artefact_events(movie.joinpath("events", "artefacts.log").read_bytes()), produces)
    cli.reset_calls()
    rerun = cli.run("build", "run", "--movie", M, "--json")
    assert rerun.code == 0, rerun.stderr
    called = {call["jobId"] for call in cli.calls()}
    assert called == graph.ids - done
    assert check_current_pointer(movie) is not None
    assert cli.run("verify", "--movie", M).code == 0
