"""Viewer test fixtures: the in-process CLI (to build movies), a big movie, a live server, stalled clients."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from tests.cli.conftest import CliRunner, cli, root
from tests.e2e.build_helpers import tutopanda_command
from tutopanda.cli.viewer_command import server_config

__all__ = [
    "BIG_MOVIE",
    "FINAL",
    "LOCAL",
    "build_big_movie",
    "cli",
    "live_server",
    "root",
    "stalled_download",
    "viewer_process",
]

LOCAL = "http://127.0.0.1:8765"
"""The base URL of in-process test clients: the viewer answers only to its own (loopback) names."""


BIG_MOVIE = "big"
BIG_BYTES = 48 * 1024 * 1024
"""The size of the big final video: far more than the socket buffers a stalled client fills."""
FINAL = "Artifact:Export.FinalVideo"


def build_big_movie(cli: CliRunner, root: Path) -> Path:
    """A one-segment mock movie whose final video is replaced by a ``BIG_BYTES`` file; its blob's path."""
    made = cli("query", "Why?", "--movie", BIG_MOVIE, "--segments", "1", "--providers", "mock", "--json")
    assert made.code == 0, made.stderr
    small = max((root / "builds" / BIG_MOVIE / "blobs").rglob("*.mp4"), key=lambda path: path.stat().st_size)
    big = root.parent / "big.mp4"
    with big.open("wb") as out:
        out.write(small.read_bytes())  # a real MP4 start, so the file is taken as a video
        out.truncate(BIG_BYTES)
    edited = cli("edit", "--movie", BIG_MOVIE, "--replace", f"Export.FinalVideo={big}", "--yes",
                 "--providers", "mock")  # fmt: skip
    assert edited.code == 0, edited.stderr
    (blob,) = (
        path
        for path in (root / "builds" / BIG_MOVIE / "blobs").rglob("*.mp4")
        if path.stat().st_size == BIG_BYTES
    )
    return blob


@contextmanager
def live_server(app: ASGIApp) -> Iterator[int]:
    """``app`` served by uvicorn on a free loopback port (the command's settings), in a thread; the port."""
    instance = uvicorn.Server(server_config(app, host="127.0.0.1", port=0))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the viewer did not start"
        time.sleep(0.01)
    try:
        yield int(instance.servers[0].sockets[0].getsockname()[1])
    finally:
        instance.should_exit = True
        thread.join(timeout=30)


def stalled_download(port: int, path: str, host: str | None = None) -> socket.socket:
    """A client that asks for ``path`` and reads only the response head, then stops reading.

    A tiny receive buffer makes the server's socket fill at once; returns once the head arrived (so
    the server is streaming the body to a client that no longer reads it).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host or f'127.0.0.1:{port}'}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        got = sock.recv(1)
        assert got, f"the server closed the connection: {head!r}"
        head += got
    assert head.startswith(b"HTTP/1.1 200"), head
    return sock


@dataclass
class RunningViewer:
    """A ``tutopanda viewer`` process: its port, the process, and where its stderr goes."""

    port: int
    process: subprocess.Popen[str]
    stderr: Path


@contextmanager
def viewer_process(root: Path, *args: str) -> Iterator[RunningViewer]:
    """``tutopanda --root ROOT viewer --no-open --port 0 ARGS`` as a user runs it; Ctrl-C at the end.

    The port is read from the URL the command prints. On exit the process gets SIGINT and must stop
    with exit 0 and its closing line (a generous deadline turns a hang into a failure).
    """
    stderr = root.parent / f"viewer-{time.monotonic_ns()}.err"
    errors = stderr.open("w")
    process = subprocess.Popen(
        [*tutopanda_command(), "--root", str(root), "viewer", "--no-open", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://(?:\[[^]]*\]|[^:/]+):(\d+)/", line)
        assert found, f"no URL in {line!r}: {stderr.read_text()}"
        yield RunningViewer(int(found.group(1)), process, stderr)
        process.send_signal(signal.SIGINT)
        stopped, _ = process.communicate(timeout=30)  # TimeoutExpired: handled below as a hang
        assert process.returncode == 0, f"Ctrl-C: exit {process.returncode}: {stderr.read_text()}"
        assert "viewer stopped" in stopped
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hang
            process.kill()
            process.wait()
            raise AssertionError("the viewer did not stop on Ctrl-C") from None
        finally:
            errors.close()
            if process.stdout is not None:
                process.stdout.close()
