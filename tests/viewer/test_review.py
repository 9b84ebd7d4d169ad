"""The viewer as a place to review a movie (issue 17): poster and mock label, text and media diffs,
live progress from the pending revision's plan. Through the ASGI test client (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.cli.conftest import CliRunner
from tests.viewer.conftest import LOCAL
from tutopanda.core.storage import StorageConfig, StorageContext
from tutopanda.viewer.app import create_app

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
