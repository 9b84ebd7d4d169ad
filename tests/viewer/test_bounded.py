"""The viewer's memory and connections stay bounded however clients behave (issue 16, point 5).

The real ``tutopanda viewer`` serves a 48 MB video to clients that ask for it and stop reading. Its
memory must not grow with them (a blob goes out in bounded chunks, each read once the client took the
last one); past its connection limit it answers 503 instead of taking more; once a slot frees up it
serves again; and Ctrl-C still stops it while stalled clients hold their downloads.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import psutil

from tests.cli.conftest import CliRunner
from tests.viewer.conftest import (
    BIG_BYTES,
    BIG_MOVIE,
    FINAL,
    build_big_movie,
    stalled_download,
    viewer_process,
)
from tutopanda.cli.viewer_command import MAX_CONNECTIONS

VIDEO = f"/api/movies/{BIG_MOVIE}/artefacts/{FINAL}"
RANGE = {"Range": "bytes=100-199"}
GROWTH = 96 * 1024 * 1024
"""What the server may grow by with every connection slot held by a stalled download. Reading each
blob whole would take ``BIG_BYTES`` per client: about 3 GB here."""


def test_stalled_downloads_cost_no_memory_and_the_limit_answers_503(cli: CliRunner, root: Path) -> None:
    build_big_movie(cli, root)
    stalled: list[socket.socket] = []
    try:
        # The stalled clients stay connected while the viewer is stopped: Ctrl-C must still work.
        with viewer_process(root) as viewer:
            base = f"http://127.0.0.1:{viewer.port}"
            server = psutil.Process(viewer.process.pid)
            assert httpx.get(base + VIDEO, headers={"Range": "bytes=0-99"}, timeout=30).status_code == 206
            before = server.memory_info().rss
            for _ in range(MAX_CONNECTIONS - 1):  # uvicorn counts the connection asking, too
                stalled.append(stalled_download(viewer.port, VIDEO))
            grown = server.memory_info().rss - before
            assert grown < GROWTH, f"{len(stalled)} stalled downloads grew the viewer by {grown:,} bytes"
            assert len(stalled) * BIG_BYTES > 10 * GROWTH
            assert httpx.get(base + "/api/movies", timeout=30).status_code == 503
            stalled.pop().close()
            deadline = time.monotonic() + 30  # the server notices the closed connection soon
            while (seek := httpx.get(base + VIDEO, headers=RANGE, timeout=30)).status_code == 503:
                assert time.monotonic() < deadline, "a freed connection slot was never reused"
            assert seek.status_code == 206 and len(seek.content) == 100
    finally:
        for sock in stalled:
            sock.close()
