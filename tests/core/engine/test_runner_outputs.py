"""How the runner treats what handlers hand back: files, empty and malformed results."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tutopanda.core.engine.build import run_build
from tutopanda.core.engine.provider_contract import (
    EnvSecretResolver,
    HandlerLimits,
    JobContext,
    JobResult,
    Mode,
    ProducedArtefact,
)
from tutopanda.core.engine.runner import RunOptions
from tutopanda.core.movie.definition import define_movie
from tutopanda.core.store.event_log import artefact_log
from tutopanda.core.store.movie_paths import movie_paths
from tutopanda.core.store.storage import StorageContext


class FileHandler:
    """Writes every artefact to a temp file and returns it as ``file=``; can return broken results."""

    provider = "test"
    model = "files"
    mode: Mode = "mock"
    environment = "local"

    def __init__(self, folder: Path, broken: Mapping[str, str] | None = None) -> None:
        self.folder = folder
        self.files: list[Path] = []
        self.broken = dict(broken or {})

    @property
    def limits(self) -> HandlerLimits:
        return HandlerLimits(key="files")

    def estimate_cost(self, kind: str, config: Mapping[str, Any], produces: int) -> float | None:
        return None

    async def produce(self, context: JobContext) -> JobResult:
        await asyncio.sleep(0)
        results = []
        for artefact_id, kind in context.produces:
            how = self.broken.get(artefact_id)
            if how == "empty":
                results.append(ProducedArtefact(artefact_id, mime_type="text/plain", data=b""))
            elif how == "two-forms":
                results.append(
                    ProducedArtefact(artefact_id, mime_type="text/plain", data=b"a", chunks=[b"b"])
                )
            elif how == "missing":
                continue
            elif how == "bad-json":
                results.append(ProducedArtefact(artefact_id, mime_type="application/json", data=b"{nope"))
            elif how == "failed-with-file":
                path = self.folder / f"failed-{len(self.files)}.bin"
                path.write_bytes(b"partial download")
                self.files.append(path)
                results.append(ProducedArtefact(artefact_id, status="failed", error="half done", file=path))
            else:
                path = self.folder / f"{len(self.files)}.bin"
                text = f"{artefact_id} {sorted(context.inputs)}"
                path.write_bytes(json.dumps({"text": text}).encode() if kind == "json" else text.encode())
                self.files.append(path)
                results.append(ProducedArtefact(artefact_id, mime_type="text/plain", file=path))
        return JobResult(results)


def _build(ctx: StorageContext, movie: str, handler: FileHandler) -> Any:
    return run_build(
        ctx,
        movie,
        resolver=lambda provider, model, kind: handler,
        options=RunOptions(mode="mock"),
        secrets=EnvSecretResolver({}),
    )


def test_files_of_failed_or_unrequested_results_are_deleted_too(
    ctx: StorageContext, movie: str, tmp_path: Path
) -> None:
    define_movie(ctx, movie, blueprint="audio-only", values={"NumOfSegments": 1})

    class Extra(FileHandler):
        async def produce(self, context: JobContext) -> JobResult:
            result = await super().produce(context)
            stray = self.folder / f"stray-{len(self.files)}.bin"
            stray.write_bytes(b"not asked for")
            self.files.append(stray)
            result.artefacts.append(
                ProducedArtefact("Artifact:Nobody.Asked", mime_type="text/plain", file=stray)
            )
            return result

    handler = Extra(tmp_path, broken={"Artifact:Script.MovieTitle": "failed-with-file"})
    _build(ctx, movie, handler)
    assert handler.files and not any(path.exists() for path in handler.files)


def test_returned_files_are_stored_then_deleted(ctx: StorageContext, movie: str, tmp_path: Path) -> None:
    define_movie(ctx, movie, blueprint="audio-only", values={"NumOfSegments": 2})
    handler = FileHandler(tmp_path)
    report = _build(ctx, movie, handler)
    assert not report.failed
    assert handler.files and not any(path.exists() for path in handler.files)


def test_empty_malformed_and_missing_results_are_failures_never_successes(
    ctx: StorageContext, movie: str, tmp_path: Path
) -> None:
    define_movie(ctx, movie, blueprint="audio-only", values={"NumOfSegments": 2})
    broken = {
        "Artifact:Script.MovieTitle": "empty",
        "Artifact:Script.MovieSummary": "two-forms",
        "Artifact:Script.NarrationScript[1]": "missing",
    }
    report = _build(ctx, movie, FileHandler(tmp_path, broken))
    assert report.failed[0].job_id == "Producer:Script.ScriptWriter"
    events = {e.artefact_id: e for e in artefact_log(ctx, movie) if e.artefact_id in broken}
    assert {key: e.status for key, e in events.items()} == dict.fromkeys(broken, "failed")
    messages = {key: e.diagnostics["error"]["message"] for key, e in events.items()}
    assert messages["Artifact:Script.MovieTitle"] == "empty result"
    assert "payload forms" in messages["Artifact:Script.MovieSummary"]
    assert "no result" in messages["Artifact:Script.NarrationScript[1]"]


def test_invalid_json_is_a_failure_and_its_consumers_are_blocked_not_crashed(
    ctx: StorageContext, movie: str, tmp_path: Path
) -> None:
    define_movie(ctx, movie, blueprint="audio-only", values={"NumOfSegments": 1})
    report = _build(ctx, movie, FileHandler(tmp_path, {"Artifact:Timeline.Timeline": "bad-json"}))
    statuses = {o.job_id: o.status for o in report.failed}
    assert statuses == {
        "Producer:Timeline.TimelineComposer": "failed",
        "Producer:Export.VideoExporter": "blocked",
    }
    timeline = [e for e in artefact_log(ctx, movie) if e.artefact_id == "Artifact:Timeline.Timeline"]
    assert [e.status for e in timeline] == ["failed"]
    assert timeline[0].diagnostics["error"]["message"].startswith("invalid JSON")


def test_a_store_failure_stops_the_build_cleanly_and_keeps_what_was_done(
    ctx: StorageContext, movie: str, tmp_path: Path
) -> None:
    import errno

    import pytest

    from tutopanda.core.errors import StorageError
    from tutopanda.core.store.manifest_store import ManifestStore
    from tutopanda.core.store.run_record import list_run_records

    class DiskFull(FileHandler):
        async def produce(self, context: JobContext) -> JobResult:
            if context.kind != "narration":
                return await super().produce(context)

            def chunks() -> Any:
                yield b"half a clip"
                raise OSError(errno.ENOSPC, "No space left on device")

            return JobResult(
                [ProducedArtefact(aid, mime_type="audio/wav", chunks=chunks()) for aid, _ in context.produces]
            )

    define_movie(ctx, movie, blueprint="audio-only", values={"NumOfSegments": 2})
    with pytest.raises(StorageError, match="disk full"):
        _build(ctx, movie, DiskFull(tmp_path))
    manifest = ManifestStore(ctx, movie).load_current()
    assert "Artifact:Script.MovieTitle" in manifest.artefacts  # the script's outputs were committed
    assert list_run_records(ctx, movie)[-1]["status"] == "failed"


def test_a_commit_after_up_to_layer_keeps_downstream_outputs_that_are_still_valid(
    ctx: StorageContext, movie: str, tmp_path: Path
) -> None:
    from tutopanda.core.store.manifest_store import ManifestStore

    define_movie(ctx, movie, blueprint="audio-only", values={"NumOfSegments": 2})
    handler = FileHandler(tmp_path)
    _build(ctx, movie, handler)
    full = set(ManifestStore(ctx, movie).load_current().artefacts)
    report = run_build(
        ctx,
        movie,
        resolver=lambda provider, model, kind: handler,
        options=RunOptions(mode="mock", up_to_layer=0),
        secrets=EnvSecretResolver({}),
        forced=["Producer:Script.ScriptWriter"],
    )
    assert [o.status for o in report.outcomes if o.attempts] == ["succeeded"]
    assert set(ManifestStore(ctx, movie).load_current().artefacts) == full


@pytest.mark.parametrize("backend", ["local"])
def test_ctrl_c_while_a_handler_swallows_its_cancellation_is_still_an_interruption(
    ctx: StorageContext, movie: str, tmp_path: Path
) -> None:
    # A job that returns although it was cancelled must not start its followers in a task group that
    # is shutting down (that made Ctrl-C an internal error instead of an interrupted build).
    define_movie(ctx, movie, blueprint="audio-only", values={"NumOfSegments": 2})
    first_waiting = asyncio.Event()

    class Stubborn(FileHandler):
        async def produce(self, context: JobContext) -> JobResult:
            if context.job_id.endswith("Narrator[0]"):
                first_waiting.set()
                with contextlib.suppress(asyncio.CancelledError):  # swallowed: returns a result anyway
                    await asyncio.sleep(60)
            elif context.job_id.endswith("Narrator[1]"):
                await asyncio.wait_for(first_waiting.wait(), timeout=60)
                os.kill(os.getpid(), signal.SIGINT)
                await asyncio.sleep(60)
            return await super().produce(context)

    report = run_build(
        ctx,
        movie,
        resolver=lambda provider, model, kind: Stubborn(tmp_path),
        options=RunOptions(mode="mock", concurrency=4),
        secrets=EnvSecretResolver({}),
    )
    assert report.interrupted
    records = list(Path(movie_paths(ctx, movie).root).glob("runs/*.json"))
    assert records and json.loads(records[-1].read_text())["status"] == "interrupted"
