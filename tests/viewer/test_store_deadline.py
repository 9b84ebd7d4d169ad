"""A store read that never ends costs one 503, not the viewer (issue 16, points 3 and 5).

A read can block for good: a named pipe where a file should be (on a store whose core reads still
block), a dead network disk. The viewer answers such a request with 503 and a message once its store
deadline passes, keeps answering everything else, refuses new store reads at once while too many are
stuck (instead of piling up threads), and serves again when they end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.cli.conftest import CliRunner
from tests.viewer.conftest import LOCAL
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.viewer import data
from tutopanda.viewer.app import MAX_STUCK_READS, create_app

MOVIE = "stuck"


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of each test, so no read stays blocked after it."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def client(
    cli: CliRunner, root: Path, release: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> TestClient:
    """A viewer with a 0.2 s store deadline whose movie list blocks until ``release`` is set."""
    made = cli("query", "Why?", "--movie", MOVIE, "--segments", "1", "--providers", "mock", "--json")
    assert made.code == 0, made.stderr
    real = data.movie_list

    def blocked_list(*args: Any) -> list[dict[str, Any]]:
        release.wait(120)
        return real(*args)

    monkeypatch.setattr(data, "movie_list", blocked_list)
    app = create_app(StorageContext.open(StorageConfig(root=str(root))), store_deadline=0.2)
    return TestClient(app, base_url=LOCAL)


def test_a_read_past_the_deadline_is_a_503_and_the_rest_still_answers(
    client: TestClient, release: threading.Event
) -> None:
    stuck = client.get("/api/movies")
    assert stuck.status_code == 503
    assert "did not answer within 0.2 s" in stuck.json()["error"] and "verify" in stuck.json()["hint"]
    assert client.get(f"/api/movies/{MOVIE}").status_code == 200
    assert client.get(f"/api/movies/{MOVIE}/artefacts/Script.MovieTitle").status_code == 200
    assert client.get("/static/viewer.css").status_code == 200


def test_too_many_stuck_reads_are_refused_at_once_until_they_end(
    client: TestClient, release: threading.Event
) -> None:
    for _ in range(MAX_STUCK_READS):
        assert client.get("/api/movies").status_code == 503
    refused = client.get(f"/api/movies/{MOVIE}")  # would answer, but too many reads are stuck
    assert refused.status_code == 503 and "not answering" in refused.json()["error"]
    release.set()
    deadline = time.monotonic() + 30  # the released reads end at once; each ending frees a slot
    while (answer := client.get(f"/api/movies/{MOVIE}")).status_code == 503:
        assert time.monotonic() < deadline, "the stuck reads never ended"
    assert answer.status_code == 200
    assert client.get("/api/movies").status_code == 200
