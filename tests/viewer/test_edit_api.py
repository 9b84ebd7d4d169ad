"""Edits from the viewer (``--allow-edits``), through the ASGI test client: the CSRF defence, the
preview that records nothing, the confirmation (the cost of a paid plan), the build and its result."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.cli.conftest import CliRunner
from tests.viewer.conftest import LOCAL
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.viewer.app import create_app
from tutopanda.viewer.editing import Editor

MOVIE = "tides"
NARRATION = "Artifact:Script.NarrationScript[1]"
NEW_TEXT = "The moon pulls the ocean towards it, and the water climbs the beach twice a day."


@pytest.fixture
def built(cli: CliRunner, root: Path) -> Path:
    made = cli("query", "How do tides work?", "--movie", MOVIE, "--segments", "3", "--json")
    assert made.code == 0, made.stderr
    return root


@pytest.fixture
def ctx(built: Path) -> StorageContext:
    return StorageContext.open(StorageConfig(root=str(built)))


@pytest.fixture
def client(ctx: StorageContext) -> TestClient:
    return TestClient(create_app(ctx, editor=Editor(ctx, providers="mock")), base_url=LOCAL)


def _token(client: TestClient) -> str:
    page = client.get(f"/movies/{MOVIE}").text
    found = re.search(r'name="tutopanda-edit-token" content="([^"]+)"', page)
    assert found, "the movie page carries the edit token"
    return found.group(1)


def _post(client: TestClient, path: str, body: dict[str, Any], **headers: str) -> Any:
    sent = {"Origin": LOCAL, "Content-Type": "application/json", **headers}
    return client.post(f"/api/movies/{MOVIE}{path}", json=body, headers=sent)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_an_edit_without_the_pages_token_or_from_another_origin_is_refused(
    client: TestClient, built: Path
) -> None:
    before = _tree(built)
    token = _token(client)
    body = {"texts": {NARRATION: NEW_TEXT}}
    assert _post(client, "/edit/preview", body).status_code == 403  # no token
    assert _post(client, "/edit/preview", body, **{"X-Tutopanda-Token": "guess"}).status_code == 403
    evil = {"X-Tutopanda-Token": token, "Origin": "http://evil.example"}
    assert _post(client, "/edit/preview", body, **evil).status_code == 403
    form = {"X-Tutopanda-Token": token, "Content-Type": "text/plain"}
    assert _post(client, "/edit/preview", body, **form).status_code == 403
    no_origin = client.post(
        f"/api/movies/{MOVIE}/edit/preview",
        json=body,
        headers={"X-Tutopanda-Token": token, "Content-Type": "application/json"},
    )
    assert no_origin.status_code == 403
    assert _tree(built) == before


def test_without_allow_edits_there_is_no_token_and_no_edit_route(ctx: StorageContext) -> None:
    client = TestClient(create_app(ctx), base_url=LOCAL)
    assert "tutopanda-edit-token" not in client.get(f"/movies/{MOVIE}").text
    assert client.get(f"/api/movies/{MOVIE}/editing").status_code == 404
    refused = _post(client, "/edit/preview", {"texts": {NARRATION: NEW_TEXT}})
    assert refused.status_code in (404, 405)


def test_preview_then_confirm_rebuilds_only_what_the_edit_touches(client: TestClient, built: Path) -> None:
    editing = client.get(f"/api/movies/{MOVIE}/editing").json()
    second = editing["segments"][1]
    assert second["index"] == 1 and NARRATION in {text["artefactId"] for text in second["texts"]}
    token = _token(client)
    before = _tree(built)
    preview = _post(client, "/edit/preview", {"texts": {NARRATION: NEW_TEXT}}, **{"X-Tutopanda-Token": token})
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert _tree(built) == before  # a preview records nothing
    plan = shown["plan"]
    assert plan["revision"] == "rev-0002" and 0 < plan["dirtyJobs"] < plan["totalJobs"]
    assert shown["needsCostConfirmation"] is False and plan["paid"] == {}
    jobs = {job["jobId"]: job for job in plan["jobs"]}
    assert "Producer:Narration.Narrator[1]" in jobs  # segment 2 speaks its new words
    assert not any(re.search(r"[A-Za-z]\[[02]\]", job) for job in jobs)  # segments 1 and 3 are kept
    assert all(job["reasons"] for job in plan["jobs"])

    started = _post(client, "/edit/start", {"token": shown["token"]}, **{"X-Tutopanda-Token": token})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 120
    while (status := client.get(f"/api/movies/{MOVIE}/edit").json())["state"] == "running":
        assert time.monotonic() < deadline, "the build did not finish"
        time.sleep(0.1)
    assert status["state"] == "built" and status["revision"] == "rev-0002", status
    movie = client.get(f"/api/movies/{MOVIE}").json()
    assert movie["revision"] == "rev-0002" and movie["segments"][1]["narration"] == NEW_TEXT
    again = _post(client, "/edit/start", {"token": shown["token"]}, **{"X-Tutopanda-Token": token})
    assert again.status_code == 409  # a preview confirms one build only


def test_a_preview_is_refused_for_an_unknown_text_or_an_empty_one(client: TestClient) -> None:
    token = {"X-Tutopanda-Token": _token(client)}
    unknown = _post(client, "/edit/preview", {"texts": {"Artifact:Nope[1]": "x"}}, **token)
    assert unknown.status_code == 400 and unknown.json()["hint"]
    empty = _post(client, "/edit/preview", {"texts": {NARRATION: "  "}}, **token)
    assert empty.status_code == 400 and "empty" in empty.json()["error"]


def test_a_paid_plan_needs_its_cost_confirmed(ctx: StorageContext, monkeypatch: pytest.MonkeyPatch) -> None:
    editor = Editor(ctx, providers="mock")
    monkeypatch.setattr(editor, "_paid", lambda plan: {"Narration": "elevenlabs/eleven_v3"})
    client = TestClient(create_app(ctx, editor=editor), base_url=LOCAL)
    token = {"X-Tutopanda-Token": _token(client)}
    shown = _post(client, "/edit/preview", {"texts": {NARRATION: NEW_TEXT}}, **token).json()
    assert shown["needsCostConfirmation"] is True and shown["plan"]["paid"]
    refused = _post(client, "/edit/start", {"token": shown["token"]}, **token)
    assert refused.status_code == 409 and "cost" in refused.json()["error"]
    wrong = _post(client, "/edit/start", {"token": shown["token"], "acceptCost": 99.0}, **token)
    assert wrong.status_code == 409
    assert client.get(f"/api/movies/{MOVIE}").json()["revision"] == "rev-0001"  # nothing ran


@pytest.mark.parametrize("where", [("--host", "0.0.0.0"), ("--background",)])
def test_allow_edits_is_refused_off_loopback_and_in_background(
    cli: CliRunner, where: tuple[str, ...]
) -> None:
    refused = cli("viewer", "--allow-edits", "--no-open", "--port", "0", *where)
    assert refused.code == 2 and "--allow-edits" in refused.stderr, refused.stderr


def _wait(client: TestClient) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while (status := client.get(f"/api/movies/{MOVIE}/edit").json())["state"] == "running":
        assert time.monotonic() < deadline, "the build did not finish"
        time.sleep(0.1)
    return dict(status)


def test_a_movie_changed_since_the_preview_is_not_built(cli: CliRunner, client: TestClient) -> None:
    """As with 'tutopanda edit': the change is checked, under the lock, against the state previewed."""
    token = {"X-Tutopanda-Token": _token(client)}
    shown = _post(client, "/edit/preview", {"texts": {NARRATION: NEW_TEXT}}, **token).json()
    assert cli("query", "--movie", MOVIE, "--style", "anime", "--json").code == 0  # meanwhile, elsewhere
    assert _post(client, "/edit/start", {"token": shown["token"]}, **token).status_code == 202
    status = _wait(client)
    assert status["state"] == "declined" and "changed while" in status["error"], status
    movie = client.get(f"/api/movies/{MOVIE}").json()
    assert movie["revision"] == "rev-0002" and movie["segments"][1]["narration"] != NEW_TEXT


def test_a_build_holding_the_movie_elsewhere_is_named(ctx: StorageContext, client: TestClient) -> None:
    token = {"X-Tutopanda-Token": _token(client)}
    shown = _post(client, "/edit/preview", {"texts": {NARRATION: NEW_TEXT}}, **token).json()
    with movie_lock(ctx, MOVIE, "build", timeout=0.0, command="tutopanda build run --movie tides"):
        assert _post(client, "/edit/start", {"token": shown["token"]}, **token).status_code == 202
        status = _wait(client)
    assert status["state"] == "failed" and "tutopanda build run --movie tides" in status["error"], status
    assert client.get(f"/api/movies/{MOVIE}").json()["revision"] == "rev-0001"
