"""The stable place a user opens their movie: ``<root>/movies/<movie-id>/<title>.mp4``.

Blobs are content-addressed and change name with every edit, so after each successful build the final
video (and its subtitle files) are copied to a fixed, human-named path. Each file is replaced atomically
(written beside the target, then renamed), so a player holding the old file never sees a half-written
one, and a failed build leaves the previous movie in place. Locally the temp file is created with
``O_EXCL|O_NOFOLLOW`` and the folder must resolve inside the storage root, so a ``movies/<id>`` folder or
``.mp4`` replaced by a link never carries the copy out of the store.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass

from tutopanda.core.blueprint import JobGraph
from tutopanda.core.errors import StorageError
from tutopanda.core.store.atomic_file import temp_path_for
from tutopanda.core.store.blob_ref import BlobRef
from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.hashing import CHUNK_SIZE
from tutopanda.core.store.manifest import Manifest
from tutopanda.core.store.movie_store import MovieStore
from tutopanda.core.store.storage import StorageContext, storage_error

__all__ = [
    "PublishedMovie",
    "movie_file_stem",
    "movie_title",
    "publish_built",
    "publish_current",
    "publish_movie",
]

MOVIES_DIR = "movies"
_SUFFIXES = {"video/mp4": ".mp4", "application/x-subrip": ".srt", "text/vtt": ".vtt"}


@dataclass(frozen=True)
class PublishedMovie:
    """Where the published files are (paths in the storage filesystem)."""

    video: str
    extras: tuple[str, ...]


def movie_file_stem(title: str, fallback: str) -> str:
    """A safe file name from a movie title: ASCII letters, digits, spaces and ``-``, at most 80 chars."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^A-Za-z0-9 -]+", " ", ascii_title)
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" -")[:80].strip()
    return cleaned or fallback


def _copy_atomic(ctx: StorageContext, blobs: BlobStore, ref: BlobRef, target: str) -> None:
    """Stream a blob to ``target`` through a temp file beside it, then rename over the old file."""
    temp = temp_path_for(ctx, target)
    try:
        with blobs.open(ref) as source, ctx.backend.create_new(temp) as write:
            for chunk in iter(lambda: source.read(CHUNK_SIZE), b""):
                write(chunk)
        ctx.backend.commit(temp, target)
    except OSError as exc:
        with contextlib.suppress(OSError, StorageError):
            ctx.remove(temp)
        raise storage_error(exc, "publishing", target) from exc
    except (Exception, KeyboardInterrupt):  # a refused link, a corrupt blob, Ctrl-C: leave no temp file
        with contextlib.suppress(OSError, StorageError):
            ctx.remove(temp)
        raise


def publish_movie(
    ctx: StorageContext,
    movie_id: str,
    graph: JobGraph,
    manifest: Manifest,
    *,
    title: str | None = None,
    blobs: BlobStore | None = None,
) -> PublishedMovie | None:
    """Copy the export job's outputs in ``manifest`` to ``movies/<movie-id>/``; None without a video."""
    exports = [job for job in graph.jobs if job.kind == "export"]
    if not exports:
        return None
    blobs = blobs or BlobStore(ctx, movie_id)
    stem = movie_file_stem(title or "", movie_id)
    folder = ctx.join(ctx.root, MOVIES_DIR, movie_id)
    video: str | None = None
    extras: list[str] = []
    for produced in exports[-1].produces:
        entry = manifest.artefacts.get(produced.id)
        if entry is None:
            continue
        suffix = _SUFFIXES.get(entry.blob.mime_type)
        if suffix is None:
            continue
        target = ctx.join(folder, stem + suffix)
        ctx.makedirs(folder)
        _copy_atomic(ctx, blobs, entry.blob, target)
        if suffix == ".mp4":
            video = target
        else:
            extras.append(target)
    return PublishedMovie(video, tuple(extras)) if video else None


def movie_title(blobs: BlobStore, manifest: Manifest) -> str | None:
    """The movie's title: its script's ``*.MovieTitle`` text artefact, whitespace collapsed (None if none)."""
    for artefact_id, entry in sorted(manifest.artefacts.items()):
        if artefact_id.endswith(".MovieTitle") and entry.blob.mime_type.startswith("text/"):
            title = blobs.get_bytes(entry.blob).decode("utf-8", "replace").strip()
            return " ".join(title.split()) or None
    return None


def publish_current(ctx: StorageContext, movie_id: str) -> PublishedMovie | None:
    """Publish the movie's current manifest (named after its title artefact, when it has one)."""
    from tutopanda.core.movie.definition import load_opened_movie

    store = MovieStore.open(ctx, movie_id)
    return publish_built(store, load_opened_movie(store).graph, store.manifests.load_current())


def publish_built(store: MovieStore, graph: JobGraph, manifest: Manifest) -> PublishedMovie | None:
    """Publish ``manifest``, the movie's current one that a build just left (nothing read again)."""
    title = movie_title(store.blobs, manifest)
    return publish_movie(store.ctx, store.movie_id, graph, manifest, title=title, blobs=store.blobs)
