"""The directory layout of one movie, and creating it (``storage init``).

::

    <root>/<base_path>/<movie-id>/
      current.json                 pointer to the current manifest (all fields null before the first)
      movie.json                   the blueprint the movie uses (written once, when it is defined)
      providers.json               the provider/model chosen per module (query --provider, edit)
      manifests/rev-NNNN.json      immutable manifests
      events/inputs.log            JSON Lines, append-only
      events/artefacts.log         JSON Lines, append-only
      runs/rev-NNNN-plan.json      the plan of each attempted revision
      blobs/<h[0:2]>/<sha256>.<ext> content-addressed payloads
      prompts/                     plain-text prompt files the user edits
      .locks/                      lock files (not data; see locks.py)

Every path a component needs comes from :class:`MoviePaths`, so the layout is written down once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tutopanda.core.errors import MovieNotInitialisedError
from tutopanda.core.store.atomic_file import create_exclusive
from tutopanda.core.store.blob_ref import validate_blob_hash
from tutopanda.core.store.conditional_write import put_if_absent
from tutopanda.core.store.revisions import parse_revision
from tutopanda.core.store.storage import StorageContext, validate_relative_path

__all__ = [
    "CURRENT_STUB",
    "LOCKS_DIR",
    "InitResult",
    "MoviePaths",
    "ensure_initialised",
    "init_movie",
    "is_initialised",
    "movie_paths",
]

LOCKS_DIR = ".locks"
"""Directory inside a movie holding lock files (not part of the data contract; safe to delete when idle)."""

CURRENT_STUB = b'{\n  "hash": null,\n  "manifestPath": null,\n  "revision": null,\n  "updatedAt": null\n}\n'
"""``current.json`` of a movie with no manifest yet (same formatting as a written pointer)."""


@dataclass(frozen=True)
class MoviePaths:
    """Absolute (filesystem-namespace) paths of one movie's files."""

    ctx: StorageContext = field(repr=False)
    movie_id: str
    root: str

    @property
    def current(self) -> str:
        return self.ctx.join(self.root, "current.json")

    @property
    def manifests_dir(self) -> str:
        return self.ctx.join(self.root, "manifests")

    def manifest(self, revision: str) -> str:
        parse_revision(revision)
        return self.ctx.join(self.manifests_dir, f"{revision}.json")

    @staticmethod
    def manifest_relative(revision: str) -> str:
        """The ``manifestPath`` recorded in ``current.json`` (relative to the movie directory)."""
        parse_revision(revision)
        return f"manifests/{revision}.json"

    @property
    def events_dir(self) -> str:
        return self.ctx.join(self.root, "events")

    @property
    def inputs_log(self) -> str:
        return self.ctx.join(self.events_dir, "inputs.log")

    @property
    def artefacts_log(self) -> str:
        return self.ctx.join(self.events_dir, "artefacts.log")

    @property
    def runs_dir(self) -> str:
        return self.ctx.join(self.root, "runs")

    def plan(self, revision: str) -> str:
        parse_revision(revision)
        return self.ctx.join(self.runs_dir, f"{revision}-plan.json")

    @property
    def blobs_dir(self) -> str:
        return self.ctx.join(self.root, "blobs")

    @property
    def blob_temp_dir(self) -> str:
        """Where streaming puts write before renaming into place (same filesystem as the blobs)."""
        return self.ctx.join(self.blobs_dir, ".tmp")

    def blob(self, blob_hash: str, extension: str) -> str:
        validate_blob_hash(blob_hash)
        validate_relative_path(extension, what="blob extension")
        return self.ctx.join(self.blobs_dir, blob_hash[:2], f"{blob_hash}.{extension}")

    @property
    def creating(self) -> str:
        """Marker of a movie whose creation (``query``) has not finished recording its definition."""
        return self.ctx.join(self.root, "creating.json")

    @property
    def definition(self) -> str:
        """``movie.json``: the blueprint the movie uses (written once its creation records it)."""
        return self.ctx.join(self.root, "movie.json")

    @property
    def prompts_dir(self) -> str:
        return self.ctx.join(self.root, "prompts")

    def prompt(self, relative: str) -> str:
        """A prompt file path; ``relative`` is validated so it cannot leave ``prompts/``."""
        return self.ctx.join(self.prompts_dir, validate_relative_path(relative, what="prompt path"))


def movie_paths(ctx: StorageContext, movie_id: str) -> MoviePaths:
    """The :class:`MoviePaths` of ``movie_id`` (validates the id; touches nothing)."""
    return MoviePaths(ctx, movie_id, ctx.movie_dir(movie_id))


@dataclass(frozen=True)
class InitResult:
    """What :func:`init_movie` did: the movie directory and the relative paths it created."""

    movie_dir: str
    created: tuple[str, ...]

    @property
    def already_initialised(self) -> bool:
        return not self.created


def is_initialised(ctx: StorageContext, movie_id: str) -> bool:
    """Whether ``movie_id`` has been initialised (its ``current.json`` exists)."""
    return ctx.exists(movie_paths(ctx, movie_id).current)


def is_defined(ctx: StorageContext, movie_id: str) -> bool:
    """Whether the movie exists *and* its creation finished recording what it is (blueprint, values).

    A ``query`` interrupted between creating the folder and recording the definition leaves an
    initialised movie with a ``creating.json`` marker (or no ``movie.json``): that movie is not defined,
    so running the same command again creates it again over what is there, instead of failing on it.
    """
    paths = movie_paths(ctx, movie_id)
    return ctx.exists(paths.current) and ctx.exists(paths.definition) and not ctx.exists(paths.creating)


def creation_interrupted(ctx: StorageContext, movie_id: str) -> bool:
    """Whether a ``query`` creating this movie stopped before recording its whole definition."""
    paths = movie_paths(ctx, movie_id)
    return ctx.exists(paths.creating) or (ctx.exists(paths.current) and not ctx.exists(paths.definition))


def begin_creation(ctx: StorageContext, movie_id: str, command: str) -> None:
    """Mark a movie as being created (written before its definition, removed by :func:`end_creation`)."""
    from tutopanda.core.store.atomic_file import write_atomic

    marker = {"command": command, "since": ctx.clock.timestamp()}
    write_atomic(ctx, movie_paths(ctx, movie_id).creating, json.dumps(marker).encode("utf-8"))


def end_creation(ctx: StorageContext, movie_id: str) -> None:
    """The movie's definition is complete: drop the creation marker."""
    ctx.remove(movie_paths(ctx, movie_id).creating)


def ensure_initialised(ctx: StorageContext, movie_id: str) -> MoviePaths:
    """The movie's paths, or :class:`MovieNotInitialisedError` if it has not been initialised."""
    paths = movie_paths(ctx, movie_id)
    if not ctx.exists(paths.current):
        raise MovieNotInitialisedError(
            f"movie '{movie_id}' is not initialised (no {paths.current})",
            f"create it with 'tutopanda query \"...\" --movie {movie_id}' or "
            f"'tutopanda storage init --movie {movie_id} --blueprint image-audio', or check the root and id",
        )
    return paths


def init_movie(ctx: StorageContext, movie_id: str) -> InitResult:
    """Create the movie's directories, empty event logs and a null ``current.json``.

    Idempotent and non-destructive: anything that already exists is left exactly as it is, so running
    it on a movie with history changes nothing. Returns the relative paths it created.
    """
    paths = movie_paths(ctx, movie_id)
    created: list[str] = []
    if ctx.backend.immutable_objects:  # no folders there; an event log is a (possibly empty) set of segments
        if put_if_absent(ctx, paths.current, CURRENT_STUB):
            created.append("current.json")
        return InitResult(paths.root, tuple(created))
    for relative in ("", "manifests", "events", "runs", "blobs", "prompts"):
        directory = ctx.join(paths.root, relative) if relative else paths.root
        if not ctx.exists(directory):
            ctx.makedirs(directory)
            created.append(f"{relative}/" if relative else "./")
    files = (("events/inputs.log", b""), ("events/artefacts.log", b""), ("current.json", CURRENT_STUB))
    for relative, content in files:
        if create_exclusive(ctx, ctx.join(paths.root, relative), content):
            created.append(relative)
    return InitResult(paths.root, tuple(created))
