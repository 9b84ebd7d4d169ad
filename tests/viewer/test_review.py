"""The viewer as a place to review a movie (issue 17): poster and mock label, text and media diffs,
live progress from the pending revision's plan. Through the ASGI test client (no browser)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.cli.conftest import CliRunner
from tests.viewer.conftest import LOCAL
from tutopanda.core.engine.change import Change, apply
from tutopanda.core.engine.provider_contract import EnvSecretResolver
from tutopanda.core.engine.runner import JobOutcome, RunOptions
from tutopanda.core.movie.edit import EditSet
from tutopanda.core.store import durable_lock
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.providers.wiring import resolver
from tutopanda.viewer.app import create_app
from tutopanda.viewer.progress import build_progress

MOVIE = "tides"


@pytest.fixture
def built(cli: CliRunner, root: Path) -> Path:
    """A 3-segment mock movie, then segment 2's narration edited through its prompt file (rev-0002)."""
    made = cli("query", "How do tides work?", "--movie", MOVIE, "--segments", "3", "--json")
    assert made.code == 0, made.stderr
    assert cli("inspect", "--movie", MOVIE).code == 0  # writes the prompts/ files
    prompt = root / "builds" / MOVIE / "prompts" / "segment-002" / "NarrationScript.txt"
    prompt.write_text("The moon pulls the sea towards it, and the water rises on the shore.\n")
    edited = cli("edit", "--movie", MOVIE, "--yes", "--json")
    assert edited.code == 0, edited.stderr
    return root


@pytest.fixture
def client(built: Path) -> TestClient:
    return TestClient(create_app(StorageContext.open(StorageConfig(root=str(built)))), base_url=LOCAL)


def test_the_player_has_sound_a_poster_and_a_mock_movie_says_so(client: TestClient) -> None:
    page = client.get(f"/movies/{MOVIE}").text
    assert "<video" in page and "muted" not in page
    movie = client.get(f"/api/movies/{MOVIE}").json()
    assert movie["mock"] == "all"
    assert movie["poster"] == "Artifact:Images.SegmentImage[0][0]"
    poster = client.get(f"/api/movies/{MOVIE}/artefacts/{movie['poster']}")
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/png"


def test_the_compare_shows_the_changed_words_and_both_pictures(client: TestClient) -> None:
    diff = client.get(f"/api/movies/{MOVIE}/diff", params={"from": "rev-0001", "to": "rev-0002"}).json()
    changed = {item["id"]: item for item in diff["artefacts"]["changed"]}
    narration = changed["Artifact:Script.NarrationScript[1]"]
    assert narration["kind"] == "text" and narration["manual"] is True
    assert narration["textAfter"].startswith("The moon pulls the sea")
    ops = narration["textDiff"]
    assert "".join(op["text"] for op in ops if op["op"] != "add") == narration["textBefore"]
    assert "".join(op["text"] for op in ops if op["op"] != "del") == narration["textAfter"]
    assert any(op["op"] == "add" and "moon" in op["text"] for op in ops)
    audio = changed["Artifact:Narration.SegmentAudio[1]"]
    assert audio["kind"] == "audio" and "textDiff" not in audio
    for revision, blob in (("rev-0001", audio["before"]), ("rev-0002", audio["after"])):
        served = client.get(f"/api/movies/{MOVIE}/artefacts/{audio['id']}", params={"revision": revision})
        assert served.status_code == 200 and served.headers["etag"] == f'"{blob}"'


def test_a_changed_input_shows_its_old_and_new_value(cli: CliRunner, client: TestClient) -> None:
    assert cli("query", "--movie", MOVIE, "--style", "anime", "--json").code == 0
    diff = client.get(f"/api/movies/{MOVIE}/diff").json()
    (style,) = (item for item in diff["inputs"]["changed"] if item["id"] == "Input:Style")
    assert style["textAfter"] == "anime" and style["textBefore"] and style["textDiff"]


class _Snapshots:
    """A progress sink that reads the viewer's progress document whenever a job ends.

    Read in a thread of its own, as the viewer does: in the build's own context the lock probe would
    join the build's held lock instead of finding it taken.
    """

    def __init__(self, ctx: StorageContext) -> None:
        self.ctx = ctx
        self.seen: list[dict[str, Any] | None] = []

    def _read(self) -> None:
        reader = threading.Thread(target=lambda: self.seen.append(build_progress(self.ctx, MOVIE)))
        reader.start()
        reader.join()

    def layer_started(self, index: int, jobs: int) -> None:
        self._read()

    def job_started(self, job_id: str) -> None:
        pass

    def job_finished(self, outcome: JobOutcome) -> None:
        self._read()

    def job_progress(self, job_id: str, fraction: float) -> None:
        pass


def _restyle(ctx: StorageContext, sink: _Snapshots) -> None:
    """Change the Style and build it through the engine (as ``query --style`` and the viewer do)."""
    change = Change("tutopanda test restyle", edits=EditSet(inputs={"Style": "anime"}), source="test")
    outcome = apply(
        ctx,
        MOVIE,
        change,
        confirm=lambda plan: True,
        resolver=resolver("mock"),
        preflight=lambda plan: None,
        options=RunOptions(mode="mock", concurrency=1),
        secrets=EnvSecretResolver(),
        progress=sink,
    )
    assert outcome.report is not None and not outcome.report.failed


def _check_counts(seen: list[dict[str, Any] | None]) -> dict[str, Any]:
    progress = [item for item in seen if item is not None]
    assert len(progress) == len(seen)  # a build was seen at every step
    assert {item["revision"] for item in progress} == {"rev-0003"}  # the pending revision throughout
    first, last = progress[0], progress[-1]
    assert first["planned"] is True and first["fresh"] > 0  # jobs the plan found fresh count as done
    assert first["finished"] == first["fresh"] < first["jobs"]
    finished = [item["finished"] for item in progress]
    assert finished == sorted(finished)
    assert last["finished"] == last["jobs"] == first["jobs"] and last["succeeded"] == last["dirty"]
    return first


def test_progress_of_a_local_build_counts_fresh_jobs_from_the_pending_plan(built: Path) -> None:
    ctx = StorageContext.open(StorageConfig(root=str(built)))
    sink = _Snapshots(ctx)
    _restyle(ctx, sink)
    first = _check_counts(sink.seen)
    assert first["executor"] == "local" and "restyle" in first["command"]
    assert build_progress(ctx, MOVIE) is None  # the build ended


def test_progress_of_a_durable_build_comes_from_the_same_store_traces(built: Path) -> None:
    """A DBOS build holds the movie by its record, not by the lock: its progress shows all the same."""
    ctx = StorageContext.open(StorageConfig(root=str(built)))
    command = "tutopanda build run --executor dbos"
    holder = durable_lock.DurableHolder.here(ctx, "build-tides-test", command, "db")
    durable_lock.claim(ctx, MOVIE, holder)
    waiting = build_progress(ctx, MOVIE)
    assert waiting is not None and waiting["executor"] == "durable" and waiting["planned"] is False
    assert waiting["workflow"] == "build-tides-test" and waiting["revision"] == "rev-0003"
    sink = _Snapshots(ctx)
    with durable_lock.acting_for(holder.workflow_id):  # as the workflow's steps run
        _restyle(ctx, sink)
    assert {item["executor"] for item in sink.seen if item} == {"durable"}
    _check_counts(sink.seen)
    durable_lock.release(ctx, MOVIE, holder.workflow_id)
    assert build_progress(ctx, MOVIE) is None
