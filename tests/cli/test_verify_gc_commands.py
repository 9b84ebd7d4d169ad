"""``tutopanda verify`` and ``tutopanda gc`` through the real CLI entry point, on movies built with mocks.

Provider calls are counted from the mock call log (``TUTOPANDA_MOCK_CALL_LOG``), as in the build tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.build_helpers import MovieCli, clear_handler_cache, define_image_audio
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.providers.mock.counter import MOCK_CALL_LOG_ENV

M = "demo"
TWO_HOURS = 2 * 3600


@pytest.fixture
def movie_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MovieCli]:
    monkeypatch.setenv(MOCK_CALL_LOG_ENV, str(tmp_path / "calls.jsonl"))
    monkeypatch.delenv("TUTOPANDA_MOCK_OPTIONS", raising=False)
    clear_handler_cache()
    yield MovieCli(tmp_path / "store", tmp_path / "calls.jsonl")
    clear_handler_cache()


@pytest.fixture
def built(movie_cli: MovieCli) -> MovieCli:
    """``demo``: image-audio, one segment, built once (the call log is then reset)."""
    define_image_audio(movie_cli, M, 1)
    movie_cli.ok("build", "run", "--movie", M)
    movie_cli.reset_calls()
    return movie_cli


def movie_dir(cli: MovieCli) -> Path:
    return cli.movie_dir(M)


def current_blob(cli: MovieCli, artefact_id: str) -> Path:
    digest: str = cli.manifest(M)["artefacts"][artefact_id]["hash"]
    [path] = (movie_dir(cli) / "blobs" / digest[:2]).glob(f"{digest}.*")
    return path


def stray_blob(cli: MovieCli, text: str, *, age: float = TWO_HOURS) -> Path:
    """A blob file nothing references, modified ``age`` seconds ago."""
    data = text.encode()
    digest = hashlib.sha256(data).hexdigest()
    path = movie_dir(cli) / "blobs" / digest[:2] / f"{digest}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def no_traceback(*texts: str) -> None:
    assert not any("Traceback" in text for text in texts)


def test_a_clean_movie_verifies_ok(built: MovieCli) -> None:
    result = built.run("verify", "--movie", M)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith(f"ok {M}: 1 manifest(s)")
    report = built.run("verify", "--movie", M, "--json").json()
    assert report["ok"] is True and report["problems"] == [] and report["checked"]["blobs"] > 0


def test_a_corrupt_blob_is_detected_and_exits_1(built: MovieCli) -> None:
    blob = current_blob(built, "Artifact:Script.NarrationScript[0]")
    blob.write_bytes(blob.read_bytes() + b" tampered")
    result = built.run("verify", "--movie", M)
    assert result.code == 1
    assert "blob-corrupt" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: 1 error(s) remain in movie '{M}'"
    assert lines[1] == f"hint: run 'tutopanda verify --movie {M} --repair' to restore what can be restored"
    no_traceback(result.stdout, result.stderr)
    [problem] = built.run("verify", "--movie", M, "--json").json()["problems"]
    assert problem["kind"] == "blob-corrupt" and problem["repairable"] is True
    assert problem["path"] == blob.relative_to(movie_dir(built)).as_posix()


def test_a_missing_blob_is_reported_and_the_next_build_makes_it_again(built: MovieCli) -> None:
    blob = current_blob(built, "Artifact:Narration.SegmentAudio[0]")
    blob.unlink()
    result = built.run("verify", "--movie", M, "--repair")
    assert result.code == 1  # verify cannot make it again
    assert "blob-missing" in result.stdout and "build run" in result.stdout

    report = built.ok("build", "run", "--movie", M, "--json").json()
    assert report["calls"] == 1 and len(built.calls()) == 1
    assert blob.exists()
    assert built.run("verify", "--movie", M).code == 0


def test_a_torn_tail_is_reported_and_repaired(built: MovieCli) -> None:
    log = movie_dir(built) / "events" / "artefacts.log"
    before = log.read_bytes()
    with log.open("ab") as stream:
        stream.write(b'{"artefactId":"Artifact:Scri')
    result = built.run("verify", "--movie", M)
    assert result.code == 1 and "event-torn-tail" in result.stdout

    repaired = built.run("verify", "--movie", M, "--repair")
    assert repaired.code == 0, repaired.stdout + repaired.stderr
    assert "repaired demo: cut the torn last line (28 bytes) off events/artefacts.log" in repaired.stdout
    assert repaired.stdout.rstrip().splitlines()[-1].startswith(f"ok {M}")
    assert log.read_bytes() == before
    assert (log.parent / "artefacts.log.rejected").read_bytes() == b'{"artefactId":"Artifact:Scri\n'
    assert built.ok("build", "run", "--movie", M, "--json").json()["calls"] == 0


def test_a_bad_pointer_is_re_pointed(built: MovieCli) -> None:
    built.ok("storage:init", "--movie", M, "--set", "Style=watercolor")
    built.ok("build", "run", "--movie", M)
    pointer = movie_dir(built) / "current.json"
    pointer.write_text('{"revision": "rev-0002", "manifestPath": "manifests/rev-0002.json"}')
    assert built.run("manifest:show", "--movie", M).code == 1  # what a user would hit first
    result = built.run("verify", "--movie", M, "--json")
    assert result.code == 1
    assert [p["kind"] for p in result.json()["problems"]] == ["pointer-corrupt"]

    repaired = built.run("verify", "--movie", M, "--repair", "--json")
    assert repaired.code == 0, repaired.stderr
    assert repaired.json()["repairs"][0]["action"] == "re-pointed current.json at rev-0002"
    assert built.manifest(M)["revision"] == "rev-0002"
    built.reset_calls()
    built.ok("build", "run", "--movie", M)
    assert built.calls() == []


def test_gc_dry_run_lists_the_bytes_and_removes_nothing(built: MovieCli) -> None:
    stray = stray_blob(built, "an orphan of a crashed put")
    before = sorted(p for p in movie_dir(built).rglob("*") if p.is_file())
    result = built.run("gc", "--movie", M)
    assert result.code == 0, result.stderr
    assert stray.name[:12] in result.stdout and "26 B" in result.stdout
    assert "dry run: would remove 1 blob(s) and 0 temp file(s), 26 B, from 1 movie(s)" in result.stdout
    assert "--no-dry-run" in result.stdout
    report = built.run("gc", "--movie", M, "--json").json()
    assert report["dryRun"] is True
    assert report["remove"]["bytes"] == 26
    assert [blob["path"] for blob in report["remove"]["blobs"]] == [
        stray.relative_to(movie_dir(built)).as_posix()
    ]
    assert sorted(p for p in movie_dir(built).rglob("*") if p.is_file()) == before


def test_gc_removes_only_unreferenced_blobs_and_the_next_build_makes_no_call(built: MovieCli) -> None:
    strays = [stray_blob(built, "orphan one"), stray_blob(built, "orphan two")]
    young = stray_blob(built, "orphan written a minute ago", age=60)
    blobs_before = {p for p in (movie_dir(built) / "blobs").rglob("*.*") if p.is_file()}
    result = built.run("gc", "--movie", M, "--no-dry-run", "--json")
    assert result.code == 0, result.stderr
    assert result.json()["remove"]["count"] == 2
    blobs_after = {p for p in (movie_dir(built) / "blobs").rglob("*.*") if p.is_file()}
    assert blobs_after == blobs_before - set(strays)
    assert young.exists()
    built.ok("build", "run", "--movie", M)
    assert built.calls() == []
    assert built.run("verify", "--movie", M).code == 0


def test_gc_refuses_while_the_build_lock_is_held(built: MovieCli) -> None:
    stray = stray_blob(built, "orphan")
    ctx = StorageContext.open(StorageConfig(built.root))
    with movie_lock(ctx, M, "build", command="tutopanda build run"):
        result = built.run("gc", "--movie", M, "--no-dry-run")
    assert result.code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(
        f"error: cannot gc movie '{M}' while it is in use: movie '{M}' is locked (build)"
    )
    assert "tutopanda build run" in lines[0]
    assert lines[1].startswith("hint: ")
    no_traceback(result.stdout, result.stderr)
    assert stray.exists()


def test_every_movie_at_once_and_usage_errors(built: MovieCli) -> None:
    define_image_audio(built, "other", 1)
    stray_blob(built, "orphan")
    everything = built.run("verify", "--all", "--json")
    assert everything.code == 0
    assert {movie["movie"] for movie in everything.json()["movies"]} == {M, "other"}
    collected = built.run("gc", "--json").json()
    assert {movie["movie"] for movie in collected["movies"]} == {M, "other"}
    assert collected["remove"]["count"] == 1

    for args in (("verify",), ("verify", "--movie", M, "--all")):
        result = built.run(*args)
        assert result.code == 2 and result.stderr.startswith("error: give either --movie ID or --all")
    bad = built.run("gc", "--movie", M, "--keep-revisions", "0")
    assert bad.code == 2 and "at least 1" in bad.stderr
    unknown = built.run("verify", "--movie", "nope")
    assert unknown.code == 2 and "no movie 'nope'" in unknown.stderr
    assert json.loads(built.run("verify", "--movie", M, "--json").stdout)["ok"] is True
