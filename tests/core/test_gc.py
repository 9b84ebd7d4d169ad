"""gc_movie on real movies built with the mock providers: what is kept, what goes, and when it refuses."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.core.movie_builds import NARRATOR, SCRIPT_TEXT, append, build, define, paths, set_inputs, write
from tutopanda.core.errors import CorruptDataError, LockHeldError, UsageError
from tutopanda.core.movie.event_import import append_artefact_records
from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.event_log import artefact_log, input_log
from tutopanda.core.store.events import artefact_event, input_event
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.movie_paths import init_movie
from tutopanda.core.store.storage import StorageContext
from tutopanda.core.store.store_scan import scan_movie
from tutopanda.core.upkeep.gc import gc_all, gc_movie
from tutopanda.core.upkeep.verify import verify_movie

LATER = time.time() + 2 * 3600
"""A moment at which every file written by a test is older than the one-hour grace period."""


@pytest.fixture(params=["local", "memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def built(ctx: StorageContext, movie: str) -> str:
    define(ctx, movie)
    assert build(ctx, movie).revision == "rev-0001"
    return movie


def stray(ctx: StorageContext, movie: str, text: str) -> str:
    """A blob no event names (as a crash between a put and its event leaves); returns its path."""
    blobs = BlobStore(ctx, movie)
    return blobs.path_of(blobs.put_bytes(text.encode(), "text/plain"))


def blob_files(ctx: StorageContext, movie: str) -> set[str]:
    return {blob.relative for blob in scan_movie(ctx, movie).blobs}


def edited_twice(ctx: StorageContext, movie: str) -> None:
    """rev-0002 with another style, rev-0003 with another one: two older takes of the images."""
    set_inputs(ctx, movie, {"Style": "watercolor"})
    assert build(ctx, movie).revision == "rev-0002"
    set_inputs(ctx, movie, {"Style": "anime"})
    assert build(ctx, movie).revision == "rev-0003"


def test_a_dry_run_lists_unreferenced_blobs_with_their_bytes_and_removes_nothing(
    ctx: StorageContext, built: str
) -> None:
    lost = stray(ctx, built, "a take nobody recorded")
    before = blob_files(ctx, built)
    report = gc_movie(ctx, built, now=LATER)
    assert report.dry_run
    assert [blob.path for blob in report.blobs] == [lost]
    assert report.remove_bytes == len("a take nobody recorded")
    assert report.kept_blobs == len(before) - 1
    assert blob_files(ctx, built) == before
    data = report.to_dict()
    assert data["remove"]["count"] == 1 and data["remove"]["bytes"] == 22
    assert data["remove"]["blobs"][0]["hash"] == Path(lost).name.split(".")[0]


def test_only_unreferenced_blobs_are_removed_and_the_next_build_makes_no_call(
    ctx: StorageContext, built: str
) -> None:
    lost = [stray(ctx, built, "orphan one"), stray(ctx, built, "orphan two")]
    before = blob_files(ctx, built)
    report = gc_movie(ctx, built, dry_run=False, now=LATER)
    assert sorted(blob.path for blob in report.blobs) == sorted(lost)
    assert not any(ctx.exists(path) for path in lost)
    assert len(blob_files(ctx, built)) == len(before) - 2
    assert build(ctx, built).calls == 0
    assert verify_movie(ctx, built).problems == []


def test_young_blobs_and_temp_files_are_never_removed(ctx: StorageContext, built: str) -> None:
    lost = stray(ctx, built, "just written, its event may be on its way")
    temp = ctx.join(paths(ctx, built).blob_temp_dir, ".blob.tmp-1-abcd")
    write(ctx, temp, b"a put in progress")
    report = gc_movie(ctx, built, dry_run=False)
    assert report.blobs == [] and report.temps == []
    assert [blob.path for blob in report.young] == [lost]
    assert ctx.exists(lost) and ctx.exists(temp)
    later = gc_movie(ctx, built, dry_run=False, now=LATER)
    assert [item.path for item in later.temps] == [temp] and not ctx.exists(temp)


def test_by_default_older_takes_stay_so_undo_is_free(ctx: StorageContext, built: str) -> None:
    edited_twice(ctx, built)
    report = gc_movie(ctx, built, keep_revisions=1, dry_run=False, now=LATER)
    assert report.blobs == []  # the events name every take: the trace is kept
    set_inputs(ctx, built, {"Style": "illustration"})  # back to rev-0001's style
    assert build(ctx, built).calls == 0


def test_prune_trace_removes_older_takes_and_undo_calls_the_providers_again(
    ctx: StorageContext, built: str
) -> None:
    first = ManifestStore(ctx, built).load_current()
    edited_twice(ctx, built)
    current = ManifestStore(ctx, built).load_current()
    report = gc_movie(ctx, built, keep_revisions=1, prune_trace=True, dry_run=False, now=LATER)
    assert report.kept_revisions == ["rev-0003"]
    removed = {blob.hash for blob in report.blobs}
    kept_hashes = {entry.blob.hash for entry in current.artefacts.values()}
    old_only = {entry.blob.hash for entry in first.artefacts.values()} - kept_hashes
    assert old_only and old_only <= removed  # rev-0001's images, clips and video went
    assert not removed & kept_hashes
    assert sorted(ctx.list_names(paths(ctx, built).manifests_dir)) == [
        "rev-0001.json",
        "rev-0002.json",
        "rev-0003.json",
    ]
    after = verify_movie(ctx, built)
    assert after.ok and {p.kind for p in after.problems} == {"blob-missing"}
    assert {p.severity for p in after.problems} == {"warning"}

    set_inputs(ctx, built, {"Style": "illustration"})  # undo: the old takes are gone, make them again
    report_undo = build(ctx, built)
    assert not report_undo.failed and report_undo.calls > 0
    restored = ManifestStore(ctx, built).load_current()
    assert {k: v.hash for k, v in restored.artefacts.items()} == {
        k: v.hash for k, v in first.artefacts.items()
    }


def test_prune_trace_keeps_manual_edits_uncommitted_events_and_input_bytes(
    ctx: StorageContext, built: str
) -> None:
    append_artefact_records(
        ctx,
        built,
        [
            {
                "artefactId": SCRIPT_TEXT,
                "producedBy": "Producer:Script.ScriptWriter",
                "payload": "My own words.",
            }
        ],
        base_dir=Path(),
        source="test",
    )
    assert build(ctx, built).revision == "rev-0002"
    manual = BlobStore(ctx, built).put_bytes(b"My own words.", "text/plain")  # stored already: its ref
    set_inputs(ctx, built, {"InquiryPrompt": "Why do cats purr?"})  # the script runs again: the manual
    assert build(ctx, built).revision == "rev-0003"  # text is no longer current anywhere
    # a build that stored a take and crashed before committing it (rev-0004 is not committed)
    pending = BlobStore(ctx, built).put_bytes(b"paid for, not committed", "text/plain")
    artefact_log(ctx, built).append(
        artefact_event(
            "Artifact:Narration.SegmentAudio[0]",
            status="succeeded",
            revision="rev-0004",
            inputs_hash="a" * 64,
            produced_by=NARRATOR,
            provider="mock",
            clock=ctx.clock,
            blob=pending,
        )
    )
    logo = BlobStore(ctx, built).put_bytes(b"\x89PNG logo", "image/png")
    input_log(ctx, built).append(
        input_event("Input:Logo", b"\x89PNG logo", revision="rev-0004", clock=ctx.clock)
    )
    report = gc_movie(ctx, built, keep_revisions=1, prune_trace=True, dry_run=False, now=LATER)
    removed = {blob.hash for blob in report.blobs}
    assert removed  # older image takes went
    assert manual.hash not in removed and pending.hash not in removed and logo.hash not in removed


def test_anything_that_looks_like_a_hash_in_an_unreadable_line_is_kept(
    ctx: StorageContext, built: str
) -> None:
    lost = stray(ctx, built, "named by a damaged line")
    digest = Path(lost).name.split(".")[0]
    append(ctx, paths(ctx, built).artefacts_log, f'{{"output": {{"blob": {{"hash": "{digest}"\n'.encode())
    assert gc_movie(ctx, built, dry_run=False, now=LATER).blobs == []
    assert ctx.exists(lost)


def test_gc_refuses_while_a_build_holds_the_movie(ctx: StorageContext, built: str) -> None:
    lost = stray(ctx, built, "orphan")
    with movie_lock(ctx, built, "build", command="tutopanda build run"):
        for dry_run in (True, False):
            with pytest.raises(LockHeldError) as caught:
                gc_movie(ctx, built, dry_run=dry_run, now=LATER)
            assert (
                "tutopanda build run" in caught.value.message and "while it is in use" in caught.value.message
            )
    assert ctx.exists(lost)


def test_gc_refuses_a_damaged_pointer_and_bad_options(ctx: StorageContext, built: str) -> None:
    write(ctx, paths(ctx, built).current, b"{oops")
    with pytest.raises(CorruptDataError) as caught:
        gc_movie(ctx, built, now=LATER)
    assert "verify --movie demo --repair" in (caught.value.hint or "")
    with pytest.raises(UsageError, match="at least 1"):
        gc_movie(ctx, built, keep_revisions=0)


def test_gc_all_skips_what_it_cannot_collect(ctx: StorageContext, built: str) -> None:
    init_movie(ctx, "other")
    lost = stray(ctx, "other", "orphan of another movie")
    init_movie(ctx, "broken")
    write(ctx, paths(ctx, "broken").current, b"{oops")
    with movie_lock(ctx, built, "build"):
        reports, skipped = gc_all(ctx, dry_run=False, now=LATER)
    assert [report.movie_id for report in reports] == ["other"]
    assert sorted(skip.movie_id for skip in skipped) == ["broken", built]
    assert not ctx.exists(lost)


def test_keeping_more_revisions_than_exist_keeps_them_all(ctx: StorageContext, built: str) -> None:
    edited_twice(ctx, built)
    for keep in (3, 4, 10):
        report = gc_movie(ctx, built, keep_revisions=keep, prune_trace=True, now=LATER)
        assert report.kept_revisions == ["rev-0001", "rev-0002", "rev-0003"], keep


def test_a_blob_named_while_gc_runs_is_spared(
    ctx: StorageContext, built: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer without the build lock (events:append, a DBOS job) names an old stray blob between gc
    reading the logs and removing: gc reads the logs again before it deletes."""
    old = stray(ctx, built, "my own narration")
    digest = old.rsplit("/", 1)[-1].split(".", 1)[0]
    real_scan = scan_movie

    def scan_then_record(context: StorageContext, movie_id: str) -> object:
        found = real_scan(context, movie_id)
        blob = BlobStore(context, movie_id).put_bytes(b"my own narration", "text/plain")
        assert blob.hash == digest
        artefact_log(context, movie_id).append(
            artefact_event(
                SCRIPT_TEXT,
                status="succeeded",
                revision="rev-0002",
                inputs_hash="manual",
                produced_by="user",
                provider="user",
                clock=context.clock,
                blob=blob,
            )
        )
        return found

    monkeypatch.setattr("tutopanda.core.upkeep.gc.scan_movie", scan_then_record)
    report = gc_movie(ctx, built, dry_run=False, now=LATER)
    assert digest not in {blob.hash for blob in report.blobs}
    assert ctx.exists(old)


def test_a_put_that_finds_its_bytes_stored_refreshes_them_for_the_grace_period(
    ctx: StorageContext, built: str
) -> None:
    if not ctx.is_local:
        pytest.skip("file times are a local-disk notion here")
    import os

    old = stray(ctx, built, "stored long ago")
    os.utime(old, (time.time() - 3 * 3600, time.time() - 3 * 3600))
    stray(ctx, built, "stored long ago")  # the same bytes put again: a fresh write for gc
    report = gc_movie(ctx, built, dry_run=True, now=time.time())
    assert old not in {blob.path for blob in report.blobs}
