"""The viewer stays responsive: no request waits for another one (issue 16, point 5).

A real uvicorn server on a loopback port (the command's settings) serves a movie whose final video is
48 MB. Clients that ask for it and then stop reading, and a page render stuck in the store, must not
delay a video seek (a Range request) or a page. Waits are bounded by generous client timeouts that
only turn a hang into a failure; nothing is timed.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.conftest import CliRunner
from tests.viewer.conftest import BIG_MOVIE, FINAL, build_big_movie, live_server, stalled_download
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.viewer import data
from tutopanda.viewer.app import create_app

VIDEO = f"/api/movies/{BIG_MOVIE}/artefacts/{FINAL}"
PATIENCE = 10.0  # seconds a request may take before the test calls it stuck


@pytest.fixture
def big(cli: CliRunner, root: Path) -> Path:
    return build_big_movie(cli, root)


@pytest.fixture
def port(big: Path, root: Path) -> Iterator[int]:
    with live_server(create_app(StorageContext.open(StorageConfig(root=str(root))))) as port:
        yield port


def _seek(port: int, blob: Path, start: int) -> None:
    """A Range request answers 206 with exactly those bytes of the blob."""
    response = httpx.get(
        f"http://127.0.0.1:{port}{VIDEO}",
        headers={"Range": f"bytes={start}-{start + 65535}"},
        timeout=PATIENCE,
    )
    assert response.status_code == 206
    with blob.open("rb") as stored:
        stored.seek(start)
        assert response.content == stored.read(65536)


def test_a_seek_and_the_pages_answer_while_clients_stall_on_the_movie(port: int, big: Path) -> None:
    stalled = [stalled_download(port, VIDEO) for _ in range(8)]
    try:
        _seek(port, big, 30_000_000)
        base = f"http://127.0.0.1:{port}"
        for page in (f"/movies/{BIG_MOVIE}", f"/api/movies/{BIG_MOVIE}", "/api/movies"):
            assert httpx.get(base + page, timeout=PATIENCE).status_code == 200
    finally:
        for sock in stalled:
            sock.close()


def test_a_page_render_stuck_in_the_store_does_not_delay_a_seek(
    port: int, big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A movie page whose reading blocks (a slow disk, a huge log) while the video seeks."""
    entered, release = threading.Event(), threading.Event()
    real = data.movie_detail

    def slow_detail(*args: Any, **kwargs: Any) -> dict[str, Any]:
        entered.set()
        release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "movie_detail", slow_detail)
    answers: list[int] = []
    page = threading.Thread(
        target=lambda: answers.append(
            httpx.get(f"http://127.0.0.1:{port}/api/movies/{BIG_MOVIE}", timeout=60).status_code
        )
    )
    page.start()
    try:
        assert entered.wait(PATIENCE), "the page request never reached the store"
        _seek(port, big, 12_345_678)  # answered while the page is still being rendered
        assert not answers
    finally:
        release.set()
        page.join(60)
    assert answers == [200]


def test_the_whole_movie_streams_intact(port: int, big: Path) -> None:
    digest = hashlib.sha256()
    with httpx.stream("GET", f"http://127.0.0.1:{port}{VIDEO}", timeout=60) as response:
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == big.stat().st_size
        for chunk in response.iter_bytes():
            digest.update(chunk)
    assert digest.hexdigest() == big.name.split(".")[0]
