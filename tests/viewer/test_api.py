"""The viewer's JSON API and file routes, through the ASGI test client (no server, no browser)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.cli.conftest import CliRunner
from tests.viewer.conftest import LOCAL
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.viewer.app import create_app

MOVIE = "tides"


@pytest.fixture
def built(cli: CliRunner, root: Path) -> Path:
    """A 3-segment movie built with the mocks, then edited once (Style), so it has two revisions."""
    made = cli("query", "How do tides work?", "--movie", MOVIE, "--segments", "3", "--json")
    assert made.code == 0, made.stderr
    edited = cli("query", "--movie", MOVIE, "--style", "anime", "--json")
    assert edited.code == 0, edited.stderr
    return root


@pytest.fixture
def client(built: Path) -> TestClient:
    return TestClient(create_app(StorageContext.open(StorageConfig(root=str(built)))), base_url=LOCAL)


def _manifest(root: Path, revision: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (root / "builds" / MOVIE / "manifests" / f"{revision}.json").read_text()
    )
    return data


def test_pages_are_served(client: TestClient) -> None:
    for path in ("/", f"/movies/{MOVIE}"):
        page = client.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_the_movie_list(client: TestClient) -> None:
    movies = client.get("/api/movies").json()
    assert [movie["id"] for movie in movies] == [MOVIE]
    assert movies[0]["revision"] == "rev-0002" and movies[0]["title"]


def test_the_movie_document_has_segments_texts_and_provenance(client: TestClient, built: Path) -> None:
    movie = client.get(f"/api/movies/{MOVIE}").json()
    assert movie["revision"] == "rev-0002" and movie["video"] == "Artifact:Export.FinalVideo"
    assert [segment["index"] for segment in movie["segments"]] == [0, 1, 2]
    second = movie["segments"][1]
    blob = _manifest(built, "rev-0002")["artefacts"]["Artifact:Script.NarrationScript[1]"]["blob"]
    stored = next((built / "builds" / MOVIE / "blobs").rglob(blob["hash"] + "*")).read_text(encoding="utf-8")
    assert second["narration"] == stored
    by_id = {item["id"]: item for item in second["artefacts"]}
    image = by_id["Artifact:Images.SegmentImage[1][0]"]
    assert image["producer"] == "Producer:Images.Illustrator[1][0]"
    assert image["mimeType"] == "image/png" and image["revision"] == "rev-0002"  # redrawn by the Style edit
    assert by_id["Artifact:Narration.SegmentAudio[1]"]["revision"] == "rev-0001"  # kept
    assert len(image["inputsHash"]) == 64 and image["manual"] is False
    assert second["start"] is not None and second["duration"] > 0
    assert movie["progress"] is None


def test_timeline_revisions_and_diff(client: TestClient) -> None:
    timeline = client.get(f"/api/movies/{MOVIE}/timeline").json()
    assert {track["kind"] for track in timeline["tracks"]} >= {"visual", "narration"}
    revisions = client.get(f"/api/movies/{MOVIE}/revisions").json()
    assert [row["revision"] for row in revisions] == ["rev-0002", "rev-0001"]
    assert revisions[0]["status"] == "succeeded" and revisions[0]["durationSeconds"] > 0
    assert revisions[0]["jobs"]["succeeded"] < revisions[1]["jobs"]["succeeded"]  # only what Style touched
    diff = client.get(f"/api/movies/{MOVIE}/diff", params={"from": "rev-0001", "to": "rev-0002"}).json()
    assert [change["id"] for change in diff["inputs"]["changed"]] == ["Input:Style"]
    changed = {change["id"] for change in diff["artefacts"]["changed"]}
    assert (
        "Artifact:Images.SegmentImage[0][0]" in changed
        and "Artifact:Narration.SegmentAudio[0]" not in changed
    )
    default = client.get(f"/api/movies/{MOVIE}/diff").json()
    assert (default["from"], default["to"]) == ("rev-0001", "rev-0002")


def test_artefacts_are_served_whole_and_by_range(client: TestClient, built: Path) -> None:
    url = f"/api/movies/{MOVIE}/artefacts/Artifact:Export.FinalVideo"
    whole = client.get(url)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    blob = _manifest(built, "rev-0002")["artefacts"]["Artifact:Export.FinalVideo"]["blob"]
    assert hashlib.sha256(whole.content).hexdigest() == blob["hash"]
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    tail = client.get(url, headers={"Range": f"bytes={len(whole.content) - 10}-"})
    assert tail.status_code == 206 and tail.content == whole.content[-10:]
    beyond = client.get(url, headers={"Range": f"bytes={len(whole.content) + 5}-"})
    assert beyond.status_code == 416
    short_id = client.get(f"/api/movies/{MOVIE}/artefacts/Export.FinalVideo")
    assert short_id.status_code == 200 and short_id.content == whole.content


def test_an_older_revisions_artefact_is_served_only_when_asked_for(client: TestClient, built: Path) -> None:
    url = f"/api/movies/{MOVIE}/artefacts/Artifact:Images.SegmentImage[0][0]"
    old = client.get(url, params={"revision": "rev-0001"})
    now = client.get(url)
    assert old.status_code == now.status_code == 200 and old.content != now.content
    expected = _manifest(built, "rev-0001")["artefacts"]["Artifact:Images.SegmentImage[0][0]"]["blob"]["hash"]
    assert hashlib.sha256(old.content).hexdigest() == expected


@pytest.mark.parametrize(
    "path",
    [
        "/api/movies/nope",
        "/api/movies/nope/timeline",
        f"/api/movies/{MOVIE}/artefacts/Artifact:Nothing.Here",
        f"/api/movies/{MOVIE}/revisions/../../settings.toml",
        f"/api/movies/{MOVIE}?revision=rev-0099",
        f"/api/movies/{MOVIE}?revision=../../etc",
        f"/api/movies/{MOVIE}/diff?from=rev-0042",
        "/api/movies/..%2F..%2Fetc/timeline",
        f"/api/movies/{MOVIE}/artefacts/..%2F..%2F..%2Fsettings.toml",
        f"/api/movies/{MOVIE}/artefacts/%2E%2E/movie.json",
        f"/api/movies/{MOVIE}/artefacts//etc/passwd",
        f"/api/movies/{MOVIE}/artefacts/blobs",
        "/static/../data.py",
        "/static/%2E%2E/app.py",
        "/nothing",
    ],
)
def test_unknown_things_and_traversal_attempts_are_404(client: TestClient, built: Path, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404, response.text
    assert b"[general]" not in response.content and b"root:" not in response.content


def test_a_blob_is_unreachable_by_its_hash_or_path(client: TestClient, built: Path) -> None:
    blob = _manifest(built, "rev-0002")["artefacts"]["Artifact:Export.FinalVideo"]["blob"]
    for name in (blob["hash"], f"blobs/{blob['hash'][:2]}/{blob['hash']}.mp4"):
        assert client.get(f"/api/movies/{MOVIE}/artefacts/{name}").status_code == 404


def test_progress_while_a_build_holds_the_movie(client: TestClient, built: Path) -> None:
    assert client.get(f"/api/movies/{MOVIE}/progress").json() == {"building": False}
    ctx = StorageContext.open(StorageConfig(root=str(built)))
    with movie_lock(ctx, MOVIE, "build", timeout=0.0, command="test build"):
        progress = client.get(f"/api/movies/{MOVIE}/progress").json()
        # the pending revision, not the last one's finished plan: this "build" has not planned yet
        assert progress["building"] is True and progress["revision"] == "rev-0003"
        assert progress["planned"] is False and progress["finished"] == progress["jobs"] == 0
        assert client.get(f"/api/movies/{MOVIE}").json()["progress"]["building"] is True
    assert client.get(f"/api/movies/{MOVIE}/progress").json() == {"building": False}


def test_the_root_redirects_to_the_chosen_movie(built: Path) -> None:
    app = create_app(StorageContext.open(StorageConfig(root=str(built))), default_movie=MOVIE)
    response = TestClient(app, base_url=LOCAL).get("/", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == f"/movies/{MOVIE}"


def test_an_older_revisions_page_names_the_runs_that_made_its_own_outputs(client: TestClient) -> None:
    old = client.get(f"/api/movies/{MOVIE}", params={"revision": "rev-0001"}).json()
    assert old["revision"] == "rev-0001"
    revisions = {item["revision"] for segment in old["segments"] for item in segment["artefacts"]}
    assert revisions == {"rev-0001"}


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()
    }


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_viewer_is_read_only(client: TestClient, built: Path, method: str) -> None:
    """No route accepts a writing method, and asking changes nothing in the store."""
    before = _tree(built)
    for path in (
        "/",
        f"/movies/{MOVIE}",
        "/api/movies",
        f"/api/movies/{MOVIE}",
        f"/api/movies/{MOVIE}/timeline",
        f"/api/movies/{MOVIE}/revisions",
        f"/api/movies/{MOVIE}/diff",
        f"/api/movies/{MOVIE}/progress",
        f"/api/movies/{MOVIE}/artefacts/Artifact:Export.FinalVideo",
        "/static/viewer.css",
    ):
        response = client.request(method, path, content=b"{}")
        assert response.status_code in (404, 405), (method, path, response.status_code)
    assert _tree(built) == before


def test_range_forms_a_browser_may_send(client: TestClient, built: Path) -> None:
    url = f"/api/movies/{MOVIE}/artefacts/Artifact:Export.FinalVideo"
    whole = client.get(url)
    etag = whole.headers["etag"]
    blob = _manifest(built, "rev-0002")["artefacts"]["Artifact:Export.FinalVideo"]["blob"]
    assert etag == f'"{blob["hash"]}"'  # content-addressed: the hash is a strong validator
    suffix = client.get(url, headers={"Range": "bytes=-10"})
    assert suffix.status_code == 206 and suffix.content == whole.content[-10:]
    several = client.get(url, headers={"Range": "bytes=0-9,20-29"})  # may be ignored: the whole file
    assert several.status_code == 200 and several.content == whole.content
    same = client.get(url, headers={"Range": "bytes=5-9", "If-Range": etag})
    assert same.status_code == 206 and same.content == whole.content[5:10]
    changed = client.get(url, headers={"Range": "bytes=5-9", "If-Range": '"another"'})
    assert changed.status_code == 200 and changed.content == whole.content
    head = client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(whole.content))


def test_a_store_behind_fsspec_is_streamed_by_range_too(cli: CliRunner) -> None:
    """On a ``memory://`` root (as on S3) blobs are read through fsspec, in chunks, with Range."""
    import uuid

    url_root = f"memory://viewer-{uuid.uuid4().hex}"
    made = cli("--root", url_root, "query", "Why?", "--movie", MOVIE, "--segments", "1",
               "--providers", "mock", "--json", use_root=False)  # fmt: skip
    assert made.code == 0, made.stderr
    ctx = StorageContext.open(StorageConfig(root=url_root))
    try:
        client = TestClient(create_app(ctx), base_url=LOCAL)
        url = f"/api/movies/{MOVIE}/artefacts/Artifact:Export.FinalVideo"
        whole = client.get(url)
        assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4" and whole.content
        part = client.get(url, headers={"Range": "bytes=10-19"})
        assert part.status_code == 206 and part.content == whole.content[10:20]
        assert client.get(f"/api/movies/{MOVIE}").json()["video"] == "Artifact:Export.FinalVideo"
    finally:
        ctx.fs.rm(ctx.url, recursive=True)
