"""Builds on an S3 object store (moto on loopback): the engine end to end without appends or renames."""

from __future__ import annotations

import pytest

from tutopanda.core.engine.build import run_build
from tutopanda.core.engine.provider_contract import EnvSecretResolver
from tutopanda.core.engine.runner import RunOptions
from tutopanda.core.movie.definition import define_movie
from tutopanda.core.store.event_log import artefact_log
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.storage import StorageContext

from .engine.conftest import RecordingHandler


def _build(ctx: StorageContext, movie: str, handler: RecordingHandler) -> None:
    handler.calls.clear()
    run_build(
        ctx,
        movie,
        resolver=lambda provider, model, kind: handler,  # type: ignore[arg-type,return-value]
        options=RunOptions(mode="mock", backoff_base=0.001, concurrency=4),
        secrets=EnvSecretResolver({}),
    )


@pytest.mark.slow  # three builds against moto: ~28 s on 2 busy cores
def test_a_build_an_edit_and_a_no_op_on_s3(ctx: StorageContext, movie: str) -> None:
    if not ctx.is_object_store:
        return  # the same scenarios run on local and memory:// in tests/core/engine
    handler = RecordingHandler()
    define_movie(ctx, movie, blueprint="image-audio", values={"NumOfSegments": 2})
    _build(ctx, movie, handler)
    first_calls = len(handler.calls)
    assert first_calls > 0
    store = ManifestStore(ctx, movie)
    first = store.snapshot()
    assert first.pointer.revision == "rev-0001"
    segments = ctx.fs.ls(artefact_log(ctx, movie).path)
    assert segments, "the artefact log is kept as segment objects"

    _build(ctx, movie, handler)  # nothing changed: no call, no revision
    assert handler.calls == []
    assert store.snapshot().pointer.revision == "rev-0001"

    define_movie(ctx, movie, blueprint="image-audio", values={"NumOfSegments": 3})
    _build(ctx, movie, handler)
    assert 0 < len(handler.calls) < first_calls * 2
    second = store.snapshot()
    assert second.pointer.revision == "rev-0002"
    assert set(first.manifest.artefacts) < set(second.manifest.artefacts)
