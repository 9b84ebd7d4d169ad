"""One engine verb for every change of a movie: preview it, then apply it (record, build, publish).

``query`` (new values, a new movie, the user's script), ``edit`` (a document's edits, replacement
files) and ``build run`` (nothing to record) are the same sequence with a different :class:`Change`:

1. :func:`preview` — the plan the change would run, computed on a throw-away copy of the movie that
   reads the real movie's blob names, never its blobs (the real store is not touched; a plain build
   plans the real movie read-only);
2. :func:`apply` — the preview, then the caller's offline checks (``preflight``) and question
   (``confirm``), both *before* anything is recorded; then, under the movie's build lock held to the
   end: the movie must still be in the state the change was prepared against (else nothing is
   recorded), the change is recorded, built and committed, and the movie is published only when the
   build succeeded.

The rules "refuse before recording", "re-check under the lock" and "publish only on success" live
here, once. Prompts and printing stay with the caller, passed in as callables, so this module knows
nothing of terminals or of the provider registry (a resolver and a preflight are handed in).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tutopanda.core.engine.build import BuildReport, PreparedBuild, plan_build, prepare, run_build
from tutopanda.core.engine.planner import Plan
from tutopanda.core.engine.provider_contract import HandlerResolver, Mode, SecretResolver
from tutopanda.core.engine.runner import ProgressSink, RunOptions
from tutopanda.core.engine.scratch import planning_copy
from tutopanda.core.errors import ManifestConflictError, UsageError
from tutopanda.core.movie.definition import PROVIDERS_FILE
from tutopanda.core.movie.document import MovieSnapshot, take_snapshot
from tutopanda.core.movie.edit import EditSet, apply_edits
from tutopanda.core.movie.publish import PublishedMovie, publish_built
from tutopanda.core.store.event_log import artefact_log, input_log
from tutopanda.core.store.locks import holding_movie_lock
from tutopanda.core.store.movie_paths import (
    begin_creation,
    end_creation,
    init_movie,
    is_initialised,
    movie_paths,
)
from tutopanda.core.store.movie_store import MovieStore
from tutopanda.core.store.storage import StorageConfig, StorageContext

__all__ = [
    "Change",
    "MovieState",
    "Outcome",
    "ScriptText",
    "apply",
    "check_overrides_survive",
    "movie_state",
    "preview",
]

MovieState = tuple[object, ...]
"""What a change is checked against: see :func:`movie_state`."""


@dataclass(frozen=True)
class ScriptText:
    """The user's own script: a title, a summary and one narration per segment."""

    title: str
    summary: str
    segments: Sequence[str]


@dataclass(frozen=True)
class Change:
    """What one command records in a movie before building it; the empty change is a plain build.

    ``create`` starts a new movie (or continues one whose creation was interrupted): its folder, the
    creation marker, then the definition. ``define`` records ``blueprint``, ``values``, ``selection``
    and ``configs`` (only what differs is appended). ``script`` stands in for the script job's outputs;
    ``edits`` (texts, inputs, providers and replacement files, from ``source``) is an ``edit``.
    ``based_on`` is the :func:`movie_state` the change was prepared against (taken by :func:`apply`
    itself when None). ``command`` names the command in lock records and in the conflict message.
    """

    command: str
    create: bool = False
    define: bool = False
    blueprint: str | None = None
    values: Mapping[str, object] = field(default_factory=dict)
    selection: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    configs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    script: ScriptText | None = None
    edits: EditSet | None = None
    source: str = ""
    based_on: MovieState | None = None
    snapshot: MovieSnapshot | None = None
    """The snapshot ``edits`` were collected against, taken after ``based_on``: the edits are recorded
    against it instead of a new one (valid whenever the movie is still in ``based_on``, which
    :func:`apply` checks under the lock before recording)."""

    @property
    def records(self) -> bool:
        """Whether anything is recorded before the build (False: a plain build)."""
        return self.create or self.define or self.script is not None or self.edits is not None


@dataclass(frozen=True)
class Outcome:
    """What :func:`apply` did: the previewed plan, and the build's report (None when not confirmed)."""

    plan: Plan
    report: BuildReport | None
    published: PublishedMovie | None = None

    @property
    def confirmed(self) -> bool:
        return self.report is not None


def movie_state(ctx: StorageContext, movie_id: str) -> MovieState:
    """The pointer, both event logs' lengths, the provider choices and the prompt index.

    Every command that changes the movie changes one of them, so two equal states mean a plan made
    from the first still holds for the second. A movie that does not exist yet has the empty state.
    """
    paths = movie_paths(ctx, movie_id)

    def read(path: str) -> bytes | None:
        try:
            return ctx.read_bytes(path)
        except FileNotFoundError:
            return None

    if not is_initialised(ctx, movie_id):
        return (read(paths.creating), read(paths.definition))
    return (
        read(paths.current),
        read(paths.definition),
        read(paths.creating),
        input_log(ctx, movie_id, paths=paths).size(),
        artefact_log(ctx, movie_id, paths=paths).size(),
        read(ctx.join(paths.root, PROVIDERS_FILE)),
        read(ctx.join(paths.prompts_dir, "index.json")),
    )


def _record(ctx: StorageContext, movie_id: str, change: Change) -> None:
    """Record ``change`` in ``ctx`` (the real store, or a throw-away preview copy).

    A new movie is marked as being created until everything is recorded, so an interruption anywhere
    in between leaves a movie the same command continues (``is_defined``).
    """
    # Looked up when called, so a test can interrupt the recording at each step.
    from tutopanda.core.movie.definition import define_movie
    from tutopanda.core.movie.script_overrides import replace_script

    if change.create:
        init_movie(ctx, movie_id)
        begin_creation(ctx, movie_id, change.command)
    if change.define:
        defined = define_movie(
            ctx,
            movie_id,
            blueprint=change.blueprint,
            values=change.values,
            selection=dict(change.selection) or None,
            config=dict(change.configs) or None,
        )
        if change.script is not None:
            script = change.script
            replace_script(
                ctx,
                movie_id,
                defined.graph,
                title=script.title,
                summary=script.summary,
                segments=script.segments,
            )
    if change.edits is not None:
        snapshot = change.snapshot if change.snapshot is not None else take_snapshot(ctx, movie_id)
        apply_edits(ctx, snapshot, change.edits, source=change.source)
    if change.create:
        end_creation(ctx, movie_id)


def preview(
    ctx: StorageContext,
    movie_id: str,
    change: Change,
    *,
    resolver: HandlerResolver | None,
    forced: Collection[str] = (),
    mode: Mode = "live",
) -> Plan:
    """The plan ``change`` would run, with reasons and costs; the real movie is left unchanged.

    A change that records something is recorded in a private copy (an empty store for a new movie)
    and planned there; a plain build plans the real movie read-only. An edit whose own text would be
    replaced at once by a job it re-runs is refused here (:func:`check_overrides_survive`).
    """
    return _preview(ctx, movie_id, change, resolver=resolver, forced=forced, mode=mode)[0]


def _preview(
    ctx: StorageContext,
    movie_id: str,
    change: Change,
    *,
    resolver: HandlerResolver | None,
    forced: Collection[str],
    mode: Mode,
) -> tuple[Plan, PreparedBuild | None]:
    """:func:`preview`, and for a plain build the prepared build itself (planned on the real movie, so
    :func:`apply` runs it as it is when nothing changed meanwhile, instead of loading and planning again)."""
    if not change.records:
        prepared = prepare(MovieStore.open(ctx, movie_id), resolver=resolver, forced=forced, mode=mode)
        return prepared.plan, prepared
    return _preview_recorded(ctx, movie_id, change, resolver=resolver, forced=forced, mode=mode), None


def _preview_recorded(
    ctx: StorageContext,
    movie_id: str,
    change: Change,
    *,
    resolver: HandlerResolver | None,
    forced: Collection[str],
    mode: Mode,
) -> Plan:
    """The plan of a change that records something: recorded and planned in a throw-away copy.

    The copy leaves the blobs out (:func:`~tutopanda.core.engine.scratch.planning_copy`): planning only
    asks which blobs exist, and linking thousands of them was most of an edit's dry run."""
    if change.create:
        with tempfile.TemporaryDirectory(prefix="tutopanda-preview-") as temp:
            scratch = StorageContext.open(
                StorageConfig(root=temp, base_path=ctx.base_path), clock=ctx.clock, logger=ctx.logger
            )
            _record(scratch, movie_id, change)
            return plan_build(scratch, movie_id, resolver=resolver, forced=forced, save=False, mode=mode)
    if change.edits is not None and change.snapshot is None:
        # The copy has no blobs to read the movie's texts from: the snapshot comes from the real movie
        # (read-only), as :func:`apply` takes it when it records.
        change = replace(change, snapshot=take_snapshot(ctx, movie_id))
    with planning_copy(ctx, movie_id) as copy:
        _record(copy.ctx, movie_id, change)
        plan = prepare(copy.open(), resolver=resolver, forced=forced, mode=mode).plan
    if change.edits is not None:
        check_overrides_survive(change.edits, plan)
    return plan


def check_overrides_survive(edits: EditSet, plan: Plan) -> None:
    """Refuse a text or file whose producer this same edit re-runs: the new output would replace it.

    (E.g. a new narration for segment 2 together with a new Duration: the script is written again and
    the user's text would be lost.) Making the two edits one after the other does what the user means.
    """
    rerun = {planned.job.id: planned for planned in plan.jobs}
    mine = [(e.artefact_id, e.producer_id) for e in edits.texts]
    mine += [(r.artefact_id, r.producer_id) for r in edits.replacements]
    covered = {artefact_id for artefact_id, _ in mine}
    for artefact_id, producer_id in mine:
        planned = rerun.get(producer_id)
        # A dirty producer whose every output this edit supplies is not called (the user's files stand
        # in for all of them); one with any other output to make runs and replaces them all.
        if planned is None or all(a.id in covered for a in planned.job.produces):
            continue
        why = "; ".join(reason.detail for reason in planned.reasons) or "it is dirty"
        raise UsageError(
            f"your new {artefact_id} would be replaced at once: this edit also re-runs {producer_id} ({why})",
            "make the other change first (edit, or query with the flag), then edit this text again",
        )


def _conflict(movie_id: str, change: Change) -> ManifestConflictError:
    verb = change.command.split()[1] if len(change.command.split()) > 1 else "command"
    return ManifestConflictError(
        f"movie '{movie_id}' changed while this {verb} was being prepared (another command "
        "recorded or built something); nothing was recorded",
        f"run '{change.command}' again: it is checked against the movie as it is now",
    )


def apply(
    ctx: StorageContext,
    movie_id: str,
    change: Change,
    *,
    confirm: Callable[[Plan], bool],
    resolver: HandlerResolver,
    preflight: Callable[[Plan], None],
    options: RunOptions,
    secrets: SecretResolver,
    forced: Collection[str] = (),
    progress: ProgressSink | None = None,
    on_start: Callable[[Plan], None] | None = None,
    on_built: Callable[[BuildReport], None] | None = None,
    publish: bool = True,
) -> Outcome:
    """Preview, check, ask, then record, build, commit and publish ``change`` under the build lock.

    ``preflight(plan)`` raises to refuse (a missing key, an online job under ``--providers local``)
    and ``confirm(plan)`` returns False to decline: either way nothing is recorded. Under the lock the
    movie must still be in ``change.based_on`` (:class:`ManifestConflictError` otherwise, nothing
    recorded); a plan that turns out to hold jobs the preview did not is preflighted again before any
    call. ``on_start`` sees the plan the build runs, just before its first job; ``on_built`` runs
    still under the lock after the build (and the publication, when the build succeeded).
    """
    based_on = change.based_on if change.based_on is not None else movie_state(ctx, movie_id)
    plan, prepared = _preview(ctx, movie_id, change, resolver=resolver, forced=forced, mode=options.mode)
    preflight(plan)
    if not confirm(plan):
        return Outcome(plan, None)
    previewed = {planned.job.id for planned in plan.jobs}

    def on_plan(actual: Plan) -> None:
        if {planned.job.id for planned in actual.jobs} - previewed:
            preflight(actual)
        if on_start is not None:
            on_start(actual)

    with holding_movie_lock(ctx, movie_id, "build", command=change.command):
        if movie_state(ctx, movie_id) != based_on:
            raise _conflict(movie_id, change)
        if change.records:
            _record(ctx, movie_id, change)
        report = run_build(
            ctx,
            movie_id,
            resolver=resolver,
            options=options,
            secrets=secrets,
            forced=forced,
            progress=progress,
            command=change.command,
            on_plan=on_plan,
            prepared=prepared,  # None when something was recorded: the build plans the movie again
        )
        published = None
        if publish and not report.failed and not report.interrupted and report.manifest is not None:
            assert report.graph is not None  # a report with a manifest always has its graph
            store = prepared.store if prepared is not None else MovieStore.open(ctx, movie_id)
            published = publish_built(store, report.graph, report.manifest)
        if on_built is not None:
            on_built(report)
    return Outcome(plan, report, published)
