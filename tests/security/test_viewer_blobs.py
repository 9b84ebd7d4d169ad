"""The viewer serves only manifest-named blobs that really are files of the store.

``tests/viewer/test_api.py`` covers the routes: unknown movies, revisions and artefacts, ``..`` and
encoded traversal in every path segment, and blobs asked for by hash or path — all 404. What it does
not cover is the file behind a manifest-named blob being a symbolic link: the manifest names the blob,
but the link could lead to any file on the machine. Such a blob is not served.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.testclient import TestClient

from tests.security.conftest import MOVIE, SECRET
from tests.viewer.conftest import LOCAL
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.viewer.app import create_app

TITLE = "Artifact:Script.MovieTitle"


def _blob_file(root: Path, artefact: str) -> Path:
    movie = root / "builds" / MOVIE
    manifest = json.loads((movie / "manifests" / "rev-0001.json").read_text(encoding="utf-8"))
    digest = str(manifest["artefacts"][artefact]["blob"]["hash"])
    (blob,) = (movie / "blobs" / digest[:2]).glob(f"{digest}.*")
    return blob


def test_a_blob_replaced_by_a_link_out_of_the_store_is_not_served(root: Path, outside: Path) -> None:
    client = TestClient(create_app(StorageContext.open(StorageConfig(root=str(root)))), base_url=LOCAL)
    assert client.get(f"/api/movies/{MOVIE}/artefacts/{TITLE}").status_code == 200
    blob = _blob_file(root, TITLE)
    blob.unlink()
    blob.symlink_to(outside / "secret.txt")
    response = client.get(f"/api/movies/{MOVIE}/artefacts/{TITLE}")
    assert response.status_code == 404
    assert SECRET.encode() not in response.content
    assert "symbolic link" in response.json()["error"]


def test_a_blob_linked_to_another_file_of_the_store_is_still_served(root: Path) -> None:
    client = TestClient(create_app(StorageContext.open(StorageConfig(root=str(root)))), base_url=LOCAL)
    blob = _blob_file(root, TITLE)
    copy = blob.with_name("copy.bin")
    copy.write_bytes(blob.read_bytes())
    blob.unlink()
    blob.symlink_to(copy)
    response = client.get(f"/api/movies/{MOVIE}/artefacts/{TITLE}")
    assert response.status_code == 200 and response.content == copy.read_bytes()
