"""Building small real movies with the mock providers, and reaching into their files, for store tests."""

from __future__ import annotations

from collections.abc import Mapping

from tutopanda.core.engine.build import BuildReport, run_build
from tutopanda.core.engine.provider_contract import EnvSecretResolver
from tutopanda.core.engine.runner import RunOptions
from tutopanda.core.movie.definition import define_movie
from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.movie_paths import MoviePaths, movie_paths
from tutopanda.core.store.storage import StorageContext
from tutopanda.providers.plugins import default_registry

SCRIPT_TEXT = "Artifact:Script.NarrationScript[0]"
NARRATOR = "Producer:Narration.Narrator[0]"


def define(ctx: StorageContext, movie: str, **values: object) -> None:
    """``movie`` (initialised) as image-audio with one segment and one image, plus ``values``."""
    define_movie(
        ctx,
        movie,
        blueprint="image-audio",
        values={"NumOfSegments": 1, "NumOfImagesPerSegment": 1, **values},
    )


def set_inputs(ctx: StorageContext, movie: str, values: Mapping[str, object]) -> None:
    define_movie(ctx, movie, blueprint=None, values=values)


def build(ctx: StorageContext, movie: str, *, forced: tuple[str, ...] = ()) -> BuildReport:
    """One build with the deterministic mock providers."""
    return run_build(
        ctx,
        movie,
        resolver=default_registry().handler_resolver("mock", "local"),
        options=RunOptions(mode="mock", concurrency=4, backoff_base=0.001),
        secrets=EnvSecretResolver({}),
        forced=forced,
    )


def paths(ctx: StorageContext, movie: str) -> MoviePaths:
    return movie_paths(ctx, movie)


def blob_path(ctx: StorageContext, movie: str, artefact_id: str) -> str:
    """Where the current manifest's blob of ``artefact_id`` lives."""
    entry = ManifestStore(ctx, movie).load_current().artefacts[artefact_id]
    return BlobStore(ctx, movie).path_of(entry.blob)


def write(ctx: StorageContext, path: str, data: bytes) -> None:
    """Overwrite a file in place (by hand, as damage would), on any backend."""
    with ctx.fs.open(path, "wb") as stream:
        stream.write(data)


def append(ctx: StorageContext, path: str, data: bytes) -> None:
    try:
        existing = ctx.read_bytes(path)
    except FileNotFoundError:
        existing = b""
    write(ctx, path, existing + data)
