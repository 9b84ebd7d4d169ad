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
