"""Fault: special files in the store, served by the viewer (issue 16, point 3, the viewer's part).

A named pipe, a directory, a link to a device or an enormous (sparse) file where a pointer, manifest,
event log, run record or blob should be. Opening a pipe for reading waits for a writer forever, a
device never ends, a huge file fills memory if read whole: the viewer must answer each request with
one clean error (a status and a message) within its store deadline, in bounded memory, and go on
answering everything else.

The app runs in process (Starlette's test client) with a short store deadline; each request runs in
a thread joined with a generous limit that only turns a hang into a failure. Readers left waiting on
a pipe are released at the end (a writer opens and closes it).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from starlette.testclient import TestClient

from tests.badinput.clean_errors import run_cli
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.viewer.app import create_app

MOVIE = "odd"
TITLE = "Artifact:Script.MovieTitle"
DEADLINE = 2.0  # the store deadline the app gets here: seconds before a stuck read is answered 503
HANG = 60.0  # a request still unanswered after this long hangs (a failure, not a measurement)
ENORMOUS = 1 << 40  # a sparse 1 TiB file: no disk used, but reading it whole is impossible
MEMORY_SLACK = 256 * 1024 * 1024  # what the process may grow by while answering


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built one-segment mock movie, copied afresh for each test (building takes a few seconds)."""
    store = tmp_path_factory.mktemp("special") / "store"
    made = run_cli(
        "--root", str(store), "query", "Why?", "--movie", MOVIE, "--segments", "1", "--providers", "mock"
    )
    assert made.code == 0, made.stderr
    return store


@pytest.fixture
def root(built: Path, tmp_path: Path) -> Path:
    import shutil

    store = tmp_path / "store"
    shutil.copytree(built, store, symlinks=True)
    return store


@pytest.fixture
def pipes() -> Iterator[list[Path]]:
    """Pipes a test planted; on teardown each gets a writer that closes at once, so readers end."""
    planted: list[Path] = []
    yield planted
    for pipe in planted:
        try:
            fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # no reader waiting (ENXIO), or already gone
            continue
        os.close(fd)


def _movie(root: Path) -> Path:
    return root / "builds" / MOVIE


def _blob(root: Path, artefact: str = TITLE) -> Path:
    manifest = json.loads((_movie(root) / "manifests" / "rev-0001.json").read_text(encoding="utf-8"))
    digest = str(manifest["artefacts"][artefact]["blob"]["hash"])
    (blob,) = (_movie(root) / "blobs" / digest[:2]).glob(f"{digest}.*")
    return blob


def _fifo(path: Path, pipes: list[Path]) -> None:
    path.unlink()
    os.mkfifo(path)
    pipes.append(path)


def _directory(path: Path, pipes: list[Path]) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside").write_text("x")


def _device(path: Path, pipes: list[Path]) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


def _enormous(path: Path, pipes: list[Path]) -> None:
    with path.open("r+b") as stream:
        stream.truncate(ENORMOUS)


PLANTS: dict[str, Callable[[Path, list[Path]], None]] = {
    "pipe": _fifo,
    "directory": _directory,
    "device": _device,
    "enormous": _enormous,
}

WHERE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "pointer": (lambda root: _movie(root) / "current.json", f"/api/movies/{MOVIE}"),
    "manifest": (lambda root: _movie(root) / "manifests" / "rev-0001.json", f"/api/movies/{MOVIE}"),
    "artefact log": (lambda root: _movie(root) / "events" / "artefacts.log", f"/api/movies/{MOVIE}"),
    "run record": (
        lambda root: _movie(root) / "runs" / "rev-0001-run.json",
        f"/api/movies/{MOVIE}/revisions",
    ),
    "blob": (_blob, f"/api/movies/{MOVIE}/artefacts/{TITLE}"),
}


def _ask(client: TestClient, path: str) -> tuple[int, dict[str, object] | bytes]:
    """GET ``path`` in a thread; fails if no answer comes within ``HANG`` seconds."""
    answer: list[tuple[int, dict[str, object] | bytes]] = []

    def call() -> None:
        response = client.get(path)
        is_json = response.headers.get("content-type", "").startswith("application/json")
        answer.append((response.status_code, response.json() if is_json else response.content[:1000]))

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(HANG)
    assert answer, f"GET {path} hung"
    return answer[0]


@pytest.mark.parametrize("kind", sorted(PLANTS))
@pytest.mark.parametrize("where", sorted(WHERE))
def test_a_special_file_gets_one_clean_answer_and_the_viewer_goes_on(
    root: Path, pipes: list[Path], where: str, kind: str
) -> None:
    client = TestClient(
        create_app(StorageContext.open(StorageConfig(root=str(root))), store_deadline=DEADLINE),
        base_url="http://127.0.0.1:8765",
        raise_server_exceptions=False,
    )
    locate, path = WHERE[where]
    assert client.get(path).status_code == 200
    PLANTS[kind](locate(root), pipes)
    before = psutil.Process().memory_info().rss
    status, body = _ask(client, path)
    grown = psutil.Process().memory_info().rss - before
    assert grown < MEMORY_SLACK, f"memory grew by {grown:,} bytes"
    if status == 200:
        # Only a listing may still succeed: it leaves out what it cannot read (here: the run record).
        assert where == "run record", (status, body)
    else:
        assert 400 <= status < 600
        assert isinstance(body, dict) and body.get("error"), body  # one message, not a traceback page
    assert client.get("/static/movie.js").status_code == 200  # static files still served
    assert client.get("/api/movies").status_code in (200, 500, 503)  # and the list still answers
