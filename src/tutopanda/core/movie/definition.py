"""What a movie *is*: its blueprint, its model choices and its current input values.

``movie.json`` names the blueprint (a bundled name or an absolute file path); ``providers.json`` holds the
per-module provider selection (``Module -> provider/model``; modules not named run their blueprint's
first variant). They are separate files because they change at different rates: the blueprint never
changes after creation, the provider choice is what users switch (local -> live, one model for
another). The input values live in ``events/inputs.log`` (the latest event per input id wins), so every
value the movie ever had stays on record. :func:`load_movie` turns all three into the expanded job graph
the planner works on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from tutopanda.core.blueprint import Blueprint, JobGraph, expand, load_blueprint
from tutopanda.core.blueprint.loader import bundled_blueprint_names
from tutopanda.core.errors import UsageError
from tutopanda.core.store.atomic_file import write_atomic
from tutopanda.core.store.event_log import input_log
from tutopanda.core.store.events import InputEvent, input_event
from tutopanda.core.store.json_file import parse_json_model, pretty_json_bytes
from tutopanda.core.store.manifest_replay import latest_inputs
from tutopanda.core.store.movie_paths import MoviePaths, ensure_initialised
from tutopanda.core.store.movie_store import MovieStore
from tutopanda.core.store.pending_revision import pending_revision
from tutopanda.core.store.storage import StorageContext

__all__ = [
    "MOVIE_FILE",
    "PROVIDERS_FILE",
    "DefineResult",
    "LoadedMovie",
    "MovieDefinition",
    "check_new_values",
    "define_movie",
    "defined_graph",
    "load_movie",
    "load_opened_movie",
]

MOVIE_FILE = "movie.json"
PROVIDERS_FILE = "providers.json"


class ProviderSelection(BaseModel):
    """``providers.json``: ``{selection: {Module: "provider/model"}, config: {Module: {...}}, updatedAt}``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")

    selection: dict[str, str] = Field(default_factory=dict)
    config: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Module -> settings laid over its variant's config (from a provider config file)."""
    updated_at: str


class MovieDefinition(BaseModel):
    """Which blueprint the movie uses (``movie.json``) and its variant selection (``providers.json``)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")

    blueprint: str = Field(min_length=1)
    selection: dict[str, str] = Field(default_factory=dict, exclude=True)
    """Module name -> ``provider/model``; stored in ``providers.json``, not in ``movie.json``."""
    config: dict[str, dict[str, Any]] = Field(default_factory=dict, exclude=True)
    """Module name -> provider config over the variant's; stored in ``providers.json``."""
    created_at: str

    def selection_pairs(self) -> dict[str, tuple[str, str]]:
        """The selection as ``(provider, model)`` pairs, the form :func:`expand` takes."""
        pairs: dict[str, tuple[str, str]] = {}
        for module, choice in self.selection.items():
            provider, _, model = choice.partition("/")
            pairs[module] = (provider, model)
        return pairs


@dataclass(frozen=True)
class LoadedMovie:
    """A movie ready to plan: definition, blueprint, latest input events and the expanded graph."""

    movie_id: str
    definition: MovieDefinition
    blueprint: Blueprint
    inputs: Mapping[str, InputEvent]
    graph: JobGraph

    def input_values(self) -> dict[str, Any]:
        """Every input value the graph uses (typed as the blueprint declares), by canonical id."""
        return {key: item.value for key, item in self.graph.inputs.values.items()}


@dataclass(frozen=True)
class DefineResult:
    """What :func:`define_movie` did: whether it wrote ``movie.json`` and which input events it appended."""

    created_definition: bool
    appended: tuple[InputEvent, ...]
    graph: JobGraph


def _definition_path(ctx: StorageContext, movie_id: str, paths: MoviePaths | None = None) -> str:
    return ctx.join((paths or ensure_initialised(ctx, movie_id)).root, MOVIE_FILE)


def _providers_path(ctx: StorageContext, movie_id: str, paths: MoviePaths | None = None) -> str:
    return ctx.join((paths or ensure_initialised(ctx, movie_id)).root, PROVIDERS_FILE)


class _StoredDefinition(BaseModel):
    """``movie.json`` as read; ``selection`` is accepted from movies made before ``providers.json``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")

    blueprint: str = Field(min_length=1)
    selection: dict[str, str] | None = None
    created_at: str


def _read_definition(
    ctx: StorageContext, movie_id: str, paths: MoviePaths | None = None
) -> MovieDefinition | None:
    paths = paths or ensure_initialised(ctx, movie_id)
    path = _definition_path(ctx, movie_id, paths)
    try:
        data = ctx.read_bytes(path)
    except FileNotFoundError:
        return None
    stored = parse_json_model(
        _StoredDefinition, data, path, "movie definition", "fix the file by hand or restore it from a backup"
    )
    selection = stored.selection or {}
    config: dict[str, dict[str, Any]] = {}
    providers = _providers_path(ctx, movie_id, paths)
    with contextlib.suppress(FileNotFoundError):
        chosen = parse_json_model(
            ProviderSelection,
            ctx.read_bytes(providers),
            providers,
            "provider selection",
            'fix the file by hand ({"selection": {"Module": "provider/model"}, "updatedAt": "..."})',
        )
        selection, config = chosen.selection, chosen.config
    return MovieDefinition(
        blueprint=stored.blueprint, selection=selection, config=config, created_at=stored.created_at
    )


def _write_definition(
    ctx: StorageContext, movie_id: str, definition: MovieDefinition, *, created: bool
) -> None:
    """Write ``providers.json`` (always) and ``movie.json`` (when ``created``), each atomically."""
    providers = ProviderSelection(
        selection=definition.selection, config=definition.config, updated_at=ctx.clock.timestamp()
    )
    write_atomic(ctx, _providers_path(ctx, movie_id), pretty_json_bytes(providers.model_dump(by_alias=True)))
    if created:
        write_atomic(
            ctx, _definition_path(ctx, movie_id), pretty_json_bytes(definition.model_dump(by_alias=True))
        )


def _blueprint_ref(name_or_path: str) -> str:
    if name_or_path in bundled_blueprint_names():
        return name_or_path
    path = Path(name_or_path).expanduser()
    return str(path.resolve()) if path.exists() else name_or_path


def define_movie(
    ctx: StorageContext,
    movie_id: str,
    *,
    blueprint: str | None,
    values: Mapping[str, object],
    selection: Mapping[str, tuple[str, str]] | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> DefineResult:
    """Give an initialised movie its blueprint and input values (or change values of a defined movie).

    ``selection`` picks variants per module; ``config`` replaces a module's provider config (both go to
    ``providers.json``, and both are in the jobs' traces).

    The blueprint is loaded and the movie expanded *before* anything is written, so invalid values never
    reach the logs. Only values that differ from the movie's latest ones are appended, as input events
    of the pending revision; defaults are recorded too, so a later change to a bundled blueprint's
    defaults never silently changes an existing movie.
    """
    existing = _read_definition(ctx, movie_id)
    if existing is None and blueprint is None:
        raise UsageError(
            f"movie '{movie_id}' has no blueprint yet",
            f"run 'tutopanda storage:init --movie {movie_id} --blueprint image-audio' (or another blueprint)",
        )
    ref = _blueprint_ref(blueprint) if blueprint is not None else None
    if existing is not None and ref is not None and ref != existing.blueprint:
        raise UsageError(
            f"movie '{movie_id}' already uses blueprint {existing.blueprint!r}",
            "start a new movie for another blueprint, or leave out --blueprint to change its inputs",
        )
    chosen = existing.selection_pairs() if existing else {}
    chosen.update(selection or {})
    configs = dict(existing.config) if existing else {}
    if existing is not None:  # a module that switches variant leaves the old variant's config behind
        before = existing.selection_pairs()
        for module in selection or {}:
            if before.get(module) != chosen.get(module):
                configs.pop(module, None)
    configs.update({module: dict(table) for module, table in (config or {}).items()})
    configs = {module: table for module, table in configs.items() if table}
    loaded = load_blueprint(ref or (existing.blueprint if existing else ""))
    latest = latest_inputs(input_log(ctx, movie_id))
    merged: dict[str, object] = {key: event.payload for key, event in latest.items()}
    given = {_canonical(name): value for name, value in values.items()}
    merged.update(given)
    graph = expand(loaded, merged, chosen or None, configs or None)

    revision = pending_revision(ctx, movie_id)
    events: list[InputEvent] = []
    for input_id, item in graph.inputs.values.items():
        # Only given values and inputs never recorded before can differ from the log: the latter are defaults.
        edited_by = "user" if input_id in given else "default"
        event = input_event(input_id, item.value, revision=revision, clock=ctx.clock, edited_by=edited_by)
        previous = latest.get(input_id)
        if previous is None or previous.hash != event.hash:
            events.append(event)
    created = existing is None
    definition = existing or MovieDefinition(blueprint=ref or "", created_at=ctx.clock.timestamp())
    if created or selection or config:
        definition = definition.model_copy(
            update={
                "selection": {module: f"{p}/{m}" for module, (p, m) in sorted(chosen.items())},
                "config": dict(sorted(configs.items())),
            }
        )
        _write_definition(ctx, movie_id, definition, created=created)
    input_log(ctx, movie_id).append_many(events)
    return DefineResult(created, tuple(events), graph)


def _canonical(name: str) -> str:
    """``Name``/``Module.Name``/``Input:Name`` -> the canonical input id (expansion rejects unknown ones)."""
    return name if name.startswith("Input:") else f"Input:{name}"


def load_movie(ctx: StorageContext, movie_id: str) -> LoadedMovie:
    """The movie's definition, blueprint, latest inputs and expanded job graph."""
    return load_opened_movie(MovieStore.open(ctx, movie_id))


def load_opened_movie(store: MovieStore) -> LoadedMovie:
    """:func:`load_movie` for a movie already opened."""
    movie_id = store.movie_id
    definition = _read_definition(store.ctx, movie_id, store.paths)
    if definition is None:
        raise UsageError(
            f"movie '{movie_id}' has no blueprint",
            f"run 'tutopanda storage:init --movie {movie_id} --blueprint image-audio [--set Name=value]'",
        )
    blueprint = load_blueprint(definition.blueprint)
    latest = latest_inputs(store.inputs)
    values: dict[str, Any] = {key: event.payload for key, event in latest.items()}
    graph = expand(blueprint, values, definition.selection_pairs() or None, definition.config or None)
    return LoadedMovie(movie_id, definition, blueprint, latest, graph)


def check_new_values(ctx: StorageContext, movie_id: str, values: Mapping[str, object]) -> None:
    """Refuse input values a defined movie could not build with (unknown names, wrong types).

    Checked *before* they are appended: the input log is append-only, so a bad value recorded there
    would break every later build of the movie. Movies without a blueprint yet accept anything.
    """
    definition = _read_definition(ctx, movie_id)
    if definition is None:
        return
    blueprint = load_blueprint(definition.blueprint)
    latest = latest_inputs(input_log(ctx, movie_id))
    merged: dict[str, object] = {key: event.payload for key, event in latest.items()}
    merged.update({_canonical(name): value for name, value in values.items()})
    expand(blueprint, merged, definition.selection_pairs() or None, definition.config or None)


def defined_graph(ctx: StorageContext, movie_id: str) -> JobGraph | None:
    """The movie's job graph, or None while it has no blueprint."""
    if _read_definition(ctx, movie_id) is None:
        return None
    return load_movie(ctx, movie_id).graph
