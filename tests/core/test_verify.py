"""verify_movie on real movies built with the mock providers, on a local directory and on memory://."""

from __future__ import annotations

import json
import time

import pytest

from tests.core.movie_builds import NARRATOR, SCRIPT_TEXT, append, blob_path, build, define, paths, write
from tutopanda.core.errors import LockHeldError, UsageError
from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.event_log import artefact_log, input_log
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.movie_paths import init_movie
from tutopanda.core.store.plan_store import PlanStore
from tutopanda.core.store.storage import StorageContext
from tutopanda.core.upkeep.verify import VerifyReport, verify_all, verify_movie

LATER = time.time() + 2 * 3600
"""A moment at which every file written by a test is older than the grace period."""


@pytest.fixture(params=["local", "memory"])
def backend(request: pytest.FixtureRequest) -> str:
    """Local disk and memory://: whole-file logs, whose torn tails and bad lines verify can repair."""
    return str(request.param)


def kinds(report: VerifyReport) -> list[str]:
    return sorted(problem.kind for problem in report.problems)


@pytest.fixture
def built(ctx: StorageContext, movie: str) -> str:
    define(ctx, movie)
    report = build(ctx, movie)
    assert report.revision == "rev-0001" and not report.failed
    return movie


def test_a_built_movie_verifies_clean_and_everything_is_checked(ctx: StorageContext, built: str) -> None:
    report = verify_movie(ctx, built)
    assert report.ok and report.problems == []
    manifest = ManifestStore(ctx, built).load_current()
    blobs = {entry.blob.hash for entry in manifest.artefacts.values()}
    assert report.checked.manifests == 1
    assert report.checked.blobs >= len(blobs)
    assert report.checked.events == len(input_log(ctx, built).read_all()) + len(
        artefact_log(ctx, built).read_all()
    )
    assert report.checked.records == 2  # the plan and the run record of rev-0001
    assert report.to_dict()["ok"] is True


def test_a_corrupt_blob_is_an_error_repair_removes_it_and_the_next_build_makes_it_again(
    ctx: StorageContext, built: str
) -> None:
    path = blob_path(ctx, built, SCRIPT_TEXT)
    original = ctx.read_bytes(path)
    write(ctx, path, original[:-1] + b"!")  # same size, different bytes

    report = verify_movie(ctx, built)
    assert not report.ok
    [problem] = report.problems
    assert problem.kind == "blob-corrupt" and problem.repairable and problem.severity == "error"
    assert problem.path.startswith("blobs/") and path.endswith("/" + problem.path)

    repaired = verify_movie(ctx, built, repair=True)
    assert [r.kind for r in repaired.repairs] == ["blob-corrupt"]
    assert not ctx.exists(path)
    [left] = repaired.problems  # the current manifest still names it: only a build can make it again
    assert left.kind == "blob-missing" and not left.repairable and "build run" in (left.hint or "")
    assert not repaired.ok

    rebuilt = build(ctx, built)
    assert rebuilt.calls == 1  # only the script job; everything downstream is cut off (same bytes)
    assert ctx.read_bytes(path) == original
    assert verify_movie(ctx, built).ok


def test_a_missing_blob_is_reported_and_the_planner_makes_it_again(ctx: StorageContext, built: str) -> None:
    path = blob_path(ctx, built, "Artifact:Narration.SegmentAudio[0]")
    ctx.remove(path)
    report = verify_movie(ctx, built)
    assert kinds(report) == ["blob-missing"] and not report.ok
    assert not verify_movie(ctx, built, repair=True).ok  # nothing verify can do about it

    rebuilt = build(ctx, built)
    assert rebuilt.calls == 1
    [planned] = [p for p in rebuilt.plan.jobs if p.job.id == NARRATOR]
    assert [reason.code for reason in planned.reasons] == ["blob-missing"]
    assert ctx.exists(path) and verify_movie(ctx, built).ok


def test_a_torn_tail_is_reported_and_cut_off_keeping_the_bytes(ctx: StorageContext, built: str) -> None:
    log = paths(ctx, built).artefacts_log
    before = ctx.read_bytes(log)
    append(ctx, log, b'{"artefactId":"Artifact:Scr')
    report = verify_movie(ctx, built)
    [problem] = report.problems
    assert problem.kind == "event-torn-tail" and problem.path == "events/artefacts.log"
    torn_line = before.count(b"\n") + 1
    assert f"line {torn_line}" in problem.message

    repaired = verify_movie(ctx, built, repair=True)
    assert repaired.ok and repaired.problems == []
    assert [r.kind for r in repaired.repairs] == ["event-torn-tail"]
    assert ctx.read_bytes(log) == before
    assert ctx.read_bytes(log + ".rejected") == b'{"artefactId":"Artifact:Scr\n'
    assert build(ctx, built).calls == 0


def test_unreadable_middle_lines_are_reported_by_number_and_blanked_in_place(
    ctx: StorageContext, built: str
) -> None:
    log = paths(ctx, built).inputs_log
    lines = ctx.read_bytes(log).splitlines(keepends=True)
    damaged = [lines[0], b"not json at all\n", *lines[1:2], b'{"id": "Input:X"}\n', *lines[2:]]
    write(ctx, log, b"".join(damaged))
    report = verify_movie(ctx, built)
    assert kinds(report) == ["event-unreadable", "event-unreadable"]
    assert [p.message.split(" is ")[0] for p in report.problems] == ["line 2", "line 4"]

    repaired = verify_movie(ctx, built, repair=True)
    assert repaired.ok
    data = ctx.read_bytes(log)
    assert len(data) == len(b"".join(damaged))  # blanked, not removed: offsets stay valid
    assert len(input_log(ctx, built).read_all()) == len(lines)
    assert ctx.read_bytes(log + ".rejected") == b'not json at all\n{"id": "Input:X"}\n'
    assert build(ctx, built).calls == 0


def test_a_damaged_pointer_is_re_pointed_at_the_newest_complete_manifest(
    ctx: StorageContext, built: str
) -> None:
    from tests.core.movie_builds import set_inputs

    set_inputs(ctx, built, {"Style": "watercolor"})
    assert build(ctx, built).revision == "rev-0002"
    current = paths(ctx, built).current
    write(ctx, current, b"{not json")
    report = verify_movie(ctx, built)
    assert kinds(report) == ["pointer-corrupt"] and report.problems[0].repairable

    repaired = verify_movie(ctx, built, repair=True)
    assert repaired.ok, repaired.problems
    assert "re-pointed current.json at rev-0002" in repaired.repairs[0].action
    assert ManifestStore(ctx, built).snapshot().pointer.revision == "rev-0002"
    assert build(ctx, built).calls == 0


def test_a_manifest_changed_after_saving_is_passed_over(ctx: StorageContext, built: str) -> None:
    from tests.core.movie_builds import set_inputs

    set_inputs(ctx, built, {"Style": "watercolor"})
    build(ctx, built)
    manifest = paths(ctx, built).manifest("rev-0002")
    write(ctx, manifest, ctx.read_bytes(manifest) + b"\n")  # still parses, no longer what was saved
    assert kinds(verify_movie(ctx, built)) == ["pointer-hash-mismatch"]
    repaired = verify_movie(ctx, built, repair=True)
    assert repaired.ok
    assert ManifestStore(ctx, built).snapshot().pointer.revision == "rev-0001"


def test_with_no_complete_manifest_left_one_is_rebuilt_from_the_events(
    ctx: StorageContext, built: str
) -> None:
    before = ManifestStore(ctx, built).load_current()
    ctx.remove(paths(ctx, built).current)
    write(ctx, paths(ctx, built).manifest("rev-0001"), b'{"revision": "rev-0001"')
    report = verify_movie(ctx, built)
    assert kinds(report) == ["manifest-corrupt", "pointer-missing"]

    repaired = verify_movie(ctx, built, repair=True)
    assert repaired.ok, repaired.problems
    assert sorted(r.kind for r in repaired.repairs) == ["manifest-corrupt", "pointer-missing"]
    assert ctx.exists(paths(ctx, built).manifest("rev-0001") + ".corrupt")
    rebuilt = ManifestStore(ctx, built).load_current()
    assert rebuilt.revision == "rev-0002" and rebuilt.base_revision is None  # rev-0001 is never reused
    assert {k: v.hash for k, v in rebuilt.artefacts.items()} == {
        k: v.hash for k, v in before.artefacts.items()
    }
    assert {k: v.hash for k, v in rebuilt.inputs.items()} == {k: v.hash for k, v in before.inputs.items()}
    assert build(ctx, built).calls == 0


def test_an_unreadable_record_is_moved_aside_and_a_mismatched_one_is_a_warning(
    ctx: StorageContext, built: str
) -> None:
    runs = paths(ctx, built).runs_dir
    write(ctx, ctx.join(runs, "rev-0001-run.json"), b"[1, 2")
    PlanStore(ctx, built).save(
        "rev-0007", {"movie": built, "revision": "rev-0006", "baseRevision": "rev-0005"}
    )
    report = verify_movie(ctx, built)
    assert kinds(report) == ["record-corrupt", "record-mismatch", "record-mismatch"]
    repaired = verify_movie(ctx, built, repair=True)
    assert repaired.ok  # mismatches are warnings
    assert kinds(repaired) == ["record-mismatch", "record-mismatch"]
    assert ctx.exists(ctx.join(runs, "rev-0001-run.json.corrupt"))


def test_only_stale_temp_files_are_reported_and_removed(ctx: StorageContext, built: str) -> None:
    temp = ctx.join(paths(ctx, built).blob_temp_dir, ".blob.tmp-1-abcd")
    write(ctx, temp, b"half a blob")
    assert verify_movie(ctx, built).problems == []  # could be a put in progress
    later = verify_movie(ctx, built, now=LATER)
    assert kinds(later) == ["temp-file"] and later.ok  # a warning
    repaired = verify_movie(ctx, built, repair=True, now=LATER)
    assert not ctx.exists(temp) and repaired.problems == []


def test_repair_never_runs_beside_a_build(ctx: StorageContext, built: str) -> None:
    log = paths(ctx, built).artefacts_log
    append(ctx, log, b"{torn")
    with (
        movie_lock(ctx, built, "build", command="tutopanda build run"),
        pytest.raises(LockHeldError) as caught,
    ):
        verify_movie(ctx, built, repair=True)
    assert "tutopanda build run" in caught.value.message
    assert ctx.read_bytes(log).endswith(b"{torn")
    assert kinds(verify_movie(ctx, built)) == ["event-torn-tail"]


def test_verify_all_covers_every_movie_even_one_without_a_pointer(ctx: StorageContext, built: str) -> None:
    init_movie(ctx, "empty")
    init_movie(ctx, "lost")
    ctx.remove(paths(ctx, "lost").current)
    reports = {report.movie_id: report for report in verify_all(ctx)}
    assert set(reports) == {built, "empty", "lost"}
    assert reports[built].ok and reports["empty"].ok
    assert kinds(reports["lost"]) == ["pointer-missing"]
    fixed = {report.movie_id: report for report in verify_all(ctx, repair=True)}
    assert fixed["lost"].ok
    assert json.loads(ctx.read_bytes(paths(ctx, "lost").current))["revision"] is None


def test_an_unknown_movie_is_a_usage_error(ctx: StorageContext) -> None:
    with pytest.raises(UsageError, match="no movie 'nope'"):
        verify_movie(ctx, "nope")


def test_a_missing_input_value_blob_cannot_be_repaired(ctx: StorageContext, built: str) -> None:
    from tutopanda.core.store.events import input_event

    data = b"\x89PNG fake logo"
    ref = BlobStore(ctx, built).put_bytes(data, "image/png")
    input_log(ctx, built).append(input_event("Input:Logo", data, revision="rev-0002", clock=ctx.clock))
    assert verify_movie(ctx, built).ok
    ctx.remove(BlobStore(ctx, built).path_of(ref))
    report = verify_movie(ctx, built, repair=True)
    [problem] = report.problems
    assert problem.kind == "blob-missing" and "Input:Logo" in problem.message and not report.ok


def test_a_commit_landing_during_verify_is_never_rolled_back(
    ctx: StorageContext, built: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit that does not take the build lock (a DBOS commit step) lands while verify lists the
    manifests: the pointer it made must not look broken, and repair must not re-point it backwards."""
    from tutopanda.core.upkeep import verify_checks as verify_module  # the checks live there

    real = verify_module._check_manifests
    committed: list[str] = []

    def list_then_commit(context: StorageContext, found: object) -> None:
        real(context, found)  # type: ignore[arg-type]
        if not committed:  # what a DBOS commit step does: a compare-and-swap save, no build lock
            store = ManifestStore(context, built)
            snapshot = store.snapshot()
            newer = snapshot.manifest.model_copy(update={"revision": "rev-0002", "base_revision": "rev-0001"})
            committed.append(store.save(newer, snapshot.pointer_hash).revision or "")

    monkeypatch.setattr(verify_module, "_check_manifests", list_then_commit)
    report = verify_movie(ctx, built, repair=True)
    assert committed == ["rev-0002"]
    assert not [p for p in report.problems if p.kind.startswith("pointer")]
    assert ManifestStore(ctx, built).read_pointer().revision == "rev-0002"
