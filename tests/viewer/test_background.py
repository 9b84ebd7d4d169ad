"""``tutopanda viewer --background`` / ``viewer stop`` / ``viewer status``, as a user runs them.

Every command is the real CLI in a subprocess: the background viewer is a detached process that must
outlive the command that started it, and be found again by another one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.build_helpers import tutopanda_command

RECORD = "viewer-server.json"


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*tutopanda_command(), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Path]:
    """A storage root; whatever viewer a test left running there is killed afterwards."""
    root = tmp_path / "store"
    root.mkdir()
    yield root
    record = root / RECORD
    if record.exists():
        pid = json.loads(record.read_text())["pid"]
        if pid > 0 and _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _start(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run(root, "viewer", "--background", "--no-open", "--port", "0", *args)


def test_stop_without_a_viewer_says_so_and_succeeds(store: Path) -> None:
    result = _run(store, "viewer", "stop")
    assert result.returncode == 0, result.stderr
    assert "no viewer is running in the background" in result.stdout


@pytest.mark.slow
def test_background_viewer_serves_refuses_a_second_copy_and_stops(store: Path) -> None:
    started = _start(store)
    assert started.returncode == 0, started.stderr
    record = json.loads((store / RECORD).read_text())
    assert f"viewer: {record['url']}" in started.stdout and f"pid {record['pid']}" in started.stdout
    assert _alive(record["pid"])
    with urllib.request.urlopen(f"{record['url']}api/movies", timeout=10) as response:
        assert response.status == 200

    second = _start(store)
    assert second.returncode == 1
    assert f"already running in the background for this root: {record['url']}" in second.stderr
    assert "tutopanda viewer stop" in second.stderr
    assert json.loads((store / RECORD).read_text())["pid"] == record["pid"]  # the first one stays

    status = json.loads(_run(store, "viewer", "status", "--json").stdout)
    assert status["running"] and status["viewer"]["port"] == record["port"]

    stopped = _run(store, "viewer", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert f"viewer stopped: {record['url']} (pid {record['pid']})" in stopped.stdout
    assert not _alive(record["pid"])
    assert not (store / RECORD).exists()
    again = _run(store, "viewer", "stop")
    assert again.returncode == 0 and "no viewer is running" in again.stdout


@pytest.mark.slow
def test_a_stale_record_is_replaced(store: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = int(gone.stdout)
    stale = {
        "pid": dead, "host": "127.0.0.1", "port": 9, "url": "http://127.0.0.1:9/", "root": str(store),
        "log": str(store / "viewer.log"), "startedAt": "2026-01-01T00:00:00Z",
    }  # fmt: skip
    (store / RECORD).write_text(json.dumps(stale))
    status = _run(store, "viewer", "status")
    assert "no viewer is running" in status.stdout
    assert f"no longer running (pid {dead})" in status.stderr
    assert not (store / RECORD).exists()

    (store / RECORD).write_text(json.dumps(stale))
    started = _start(store)
    assert started.returncode == 0, started.stderr
    assert json.loads((store / RECORD).read_text())["pid"] != dead
    assert _run(store, "viewer", "stop").returncode == 0

    (store / RECORD).write_text("{not json")
    stopped = _run(store, "viewer", "stop")
    assert stopped.returncode == 0 and "no viewer is running" in stopped.stdout
    assert not (store / RECORD).exists()


@pytest.mark.slow
def test_a_viewer_that_cannot_start_reports_why(store: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = _run(store, "viewer", "--background", "--no-open", "--port", str(port))
    assert result.returncode == 2
    assert f"the background viewer did not start: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "viewer.log" in result.stderr
    assert not (store / RECORD).exists()
