"""Object-store edge cases: lost responses, stale segment hints, interrupted uploads (moto on loopback)."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.conditional_write import put_if_absent, put_if_match, read_versioned
from tutopanda.core.store.event_log import artefact_log
from tutopanda.core.store.hashing import sha256_hex
from tutopanda.core.store.movie_paths import init_movie
from tutopanda.core.store.storage import StorageContext

from .factories import EventFactory


@pytest.fixture
def s3(ctx: StorageContext) -> StorageContext:
    if not ctx.is_object_store:
        pytest.skip("object stores only")
    return ctx


def test_a_retried_write_that_finds_its_own_bytes_is_a_success(s3: StorageContext) -> None:
    path = s3.join(s3.root, "x.json")
    assert put_if_absent(s3, path, b"ours")
    assert put_if_absent(s3, path, b"ours")  # the retry of a PUT whose response was lost
    assert not put_if_absent(s3, path, b"theirs")
    tag = read_versioned(s3, path).tag
    assert put_if_match(s3, path, b"next", tag)
    assert put_if_match(s3, path, b"next", tag)  # retried with the tag it already replaced: ours
    assert not put_if_match(s3, path, b"other", tag)


def test_a_stale_segment_hint_is_not_trusted(s3: StorageContext, events: EventFactory) -> None:
    init_movie(s3, "demo")
    log = artefact_log(s3, "demo")
    log.append(events.artefact("A", seed=1))
    log.append(events.artefact("B", seed=2))
    s3.fs.rm(log.path, recursive=True)  # the movie's log was deleted (movies clean, then made again)
    log.append(events.artefact("C", seed=3))
    assert sorted(s3.fs.ls(log.path, detail=False))[0].endswith("0000000001.jsonl")
    assert [e.artefact_id for e in log] == ["Artifact:C"]


def test_an_interrupted_upload_publishes_nothing(s3: StorageContext, monkeypatch: pytest.MonkeyPatch) -> None:
    init_movie(s3, "demo")
    store = BlobStore(s3, "demo")

    def interrupted(source: Any, target: Any, length: int = 0) -> None:
        target.write(source.read(1024))
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "copyfileobj", interrupted)
    data = b"x" * 200_000
    with pytest.raises(KeyboardInterrupt):
        store.put_bytes(data, "application/octet-stream")
    monkeypatch.undo()
    assert not store.exists(sha256_hex(data))
    ref = store.put_bytes(data, "application/octet-stream")
    assert store.get_bytes(ref) == data


def test_append_waits_out_contention_instead_of_giving_up(
    s3: StorageContext, events: EventFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_movie(s3, "demo")
    log = artefact_log(s3, "demo")
    real = put_if_absent
    refusals = {"left": 80}  # more than the old fixed limit of 50 attempts

    def contended(ctx: StorageContext, path: str, data: bytes) -> bool:
        if refusals["left"] > 0:
            refusals["left"] -= 1
            return False
        return real(ctx, path, data)

    monkeypatch.setattr("tutopanda.core.store.event_log.put_if_absent", contended)
    monkeypatch.setattr("tutopanda.core.store.event_log.time.sleep", lambda seconds: None)
    log.append(events.artefact("A", seed=1))
    assert [e.artefact_id for e in log] == ["Artifact:A"]
