"""The build verbs: ``plan_build`` (what would run and why) and ``run_build`` (plan, run, commit).

``run_build`` is the whole loop of the engine:

1. take the movie's build lock (one build per movie; a second one fails at once naming the holder);
2. load the movie (blueprint + latest inputs -> job graph), index the artefact log, plan;
3. nothing dirty -> return without a provider call and without a new revision;
4. save the plan, run it (every finished artefact stored at once);
5. commit: fold the inputs and every artefact that is current into a new manifest, saved with
   compare-and-swap against the pointer read at planning time — also after failures (what succeeded is
   kept) and after Ctrl-C; unchanged content makes no new revision;
6. write the run record (per-job durations, attempts, costs) and report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

from tutopanda.core.blueprint import Job, JobGraph
from tutopanda.core.engine.planner import BuildState, Plan, PlannedJob, compute_plan
from tutopanda.core.engine.provider_contract import HandlerResolver, Mode, SecretResolver
from tutopanda.core.engine.runner import JobOutcome, ProgressSink, Runner, RunOptions
from tutopanda.core.engine.trace import TraceIndex, input_value_hashes
from tutopanda.core.errors import ProviderConfigError, TutopandaError
from tutopanda.core.gc_control import paced_collections
from tutopanda.core.movie.definition import LoadedMovie, load_opened_movie
from tutopanda.core.store.hashing import hash_value
from tutopanda.core.store.manifest import Manifest, ManifestArtefact, ManifestInput
from tutopanda.core.store.movie_store import MovieStore
from tutopanda.core.store.run_record import run_record
from tutopanda.core.store.storage import StorageContext

__all__ = [
    "BuildReport",
    "PreparedBuild",
    "commit_build",
    "commit_current",
    "plan_build",
    "plan_jobs",
    "prepare_build",
    "run_build",
]


@dataclass
class PreparedBuild:
    """A planned build: the opened movie and its loaded definition, the shared trace state, the plan and
    the manifest it is based on."""

    movie: LoadedMovie
    state: BuildState
    plan: Plan
    base: Manifest
    store: MovieStore


@dataclass
class BuildReport:
    """What ``run_build`` did. ``revision`` is the committed revision (None when nothing changed)."""

    plan: Plan
    revision: str | None
    outcomes: list[JobOutcome]
    interrupted: bool
    duration: float
    stopped: str | None = None
    """Why the run stopped early: a provider refused the account (key, credit, quota)."""
    stopped_hint: str | None = None
    """What to check for that refusal (the key's variable, the account's credit)."""
    graph: JobGraph | None = None
    """The movie's job graph, as this build planned it."""
    manifest: Manifest | None = None
    """The movie's current manifest after this build (committed, or the unchanged base): what a
    publication copies, handed on so it is not read and expanded again."""

    @property
    def failed(self) -> list[JobOutcome]:
        """Jobs that failed or were blocked by a failed upstream."""
        return [outcome for outcome in self.outcomes if outcome.status in ("failed", "blocked")]

    @property
    def calls(self) -> int:
        """Provider calls made (attempts included)."""
        return sum(outcome.attempts for outcome in self.outcomes)


def _estimator(resolver: HandlerResolver | None) -> Callable[[Job], float | None] | None:
    if resolver is None:
        return None

    def estimate(job: Job) -> float | None:
        # A job without a handler has no estimate; the preflight, not the planner, reports it.
        try:
            handler = resolver(job.variant.provider, job.variant.model, job.kind)
        except ProviderConfigError:
            return None
        return handler.estimate_cost(job.kind, job.variant.config, len(job.produces))

    return estimate


def prepare_build(
    ctx: StorageContext,
    movie_id: str,
    *,
    resolver: HandlerResolver | None = None,
    forced: Collection[str] = (),
    mode: Mode = "live",
) -> PreparedBuild:
    """Load, index and plan (reads only) for a run in ``mode`` (part of every trace but live ones)."""
    return prepare(MovieStore.open(ctx, movie_id), resolver=resolver, forced=forced, mode=mode)


def prepare(
    store: MovieStore,
    *,
    resolver: HandlerResolver | None = None,
    forced: Collection[str] = (),
    mode: Mode = "live",
) -> PreparedBuild:
    """:func:`prepare_build` for an opened movie."""
    movie = load_opened_movie(store)
    index = TraceIndex.from_events(store.artefacts)
    return _planned(store, movie, index, resolver=resolver, forced=forced, mode=mode)


def _planned(
    store: MovieStore,
    movie: LoadedMovie,
    index: TraceIndex,
    *,
    resolver: HandlerResolver | None,
    forced: Collection[str],
    mode: Mode,
) -> PreparedBuild:
    """The plan of a loaded movie and its replayed artefact log, against the pointer, the blobs and the
    revision numbers as they are now (what may change while the definition and the logs do not)."""
    snapshot = store.manifests.snapshot()
    values = input_value_hashes(movie.input_values())
    state = BuildState(movie.graph, index, values, blob_present=store.blob_presence(), mode=mode)
    plan = compute_plan(
        movie_id=store.movie_id,
        state=state,
        manifest=snapshot.manifest,
        revision=store.pending_revision(),
        base_pointer_hash=snapshot.pointer_hash,
        created_at=store.ctx.clock.timestamp(),
        forced=forced,
        estimate=_estimator(resolver),
    )
    return PreparedBuild(movie, state, plan, snapshot.manifest, store)


def plan_build(
    ctx: StorageContext,
    movie_id: str,
    *,
    resolver: HandlerResolver | None = None,
    forced: Collection[str] = (),
    save: bool = True,
    mode: Mode = "live",
) -> Plan:
    """Plan the next revision and (unless nothing is dirty or ``save`` is false) save it to ``runs/``."""
    store = MovieStore.open(ctx, movie_id)
    prepared = prepare(store, resolver=resolver, forced=forced, mode=mode)
    if save and not prepared.plan.is_empty:
        # Under the build lock: a running build owns runs/<rev>-plan.json of the same revision.
        with store.lock("build", command="tutopanda build plan"):
            store.plans.save(prepared.plan.revision, prepared.plan.to_dict())
    return prepared.plan


def current_manifest(prepared: PreparedBuild, *, revision: str, created_at: str) -> Manifest:
    """The manifest of the movie as it stands: current inputs and every artefact that is current."""
    movie, state = prepared.movie, prepared.state
    inputs: dict[str, ManifestInput] = {}
    for input_id, value in movie.input_values().items():
        hashed = hash_value(value)
        recorded = movie.inputs.get(input_id)
        inputs[input_id] = ManifestInput(
            hash=hashed.hash, digest=hashed.digest, created_at=recorded.created_at if recorded else created_at
        )
    artefacts: dict[str, ManifestArtefact] = {}
    for job in movie.graph.jobs:
        trace = state.traces.get(job.id)
        for produced in job.produces:
            event = state.index.resolve(produced.id, trace)
            if event is None or event.blob is None:
                continue
            # Built without validation: every field comes from a validated event (the blob's hash was
            # checked when its reference was made), and validating 5,000 of them again took ~0.2 s of
            # a 1,000-segment build's critical path, after the last job.
            artefacts[produced.id] = ManifestArtefact.model_construct(
                hash=event.blob.hash,
                blob=event.blob,
                produced_by=event.produced_by,
                inputs_hash=event.inputs_hash,
                provider=event.provider,
                model=event.model,
                diagnostics=event.diagnostics,
                created_at=event.created_at,
            )
    base = prepared.base
    return Manifest(
        revision=revision,
        base_revision=None if base.is_empty_revision else base.revision,
        created_at=created_at,
        inputs=inputs,
        artefacts=artefacts,
    )


def _same_content(left: Manifest, right: Manifest) -> bool:
    def key(manifest: Manifest) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
        return (
            {key: entry.hash for key, entry in manifest.inputs.items()},
            {key: (entry.hash, entry.inputs_hash) for key, entry in manifest.artefacts.items()},
        )

    return key(left) == key(right)


def run_build(
    ctx: StorageContext,
    movie_id: str,
    *,
    resolver: HandlerResolver,
    options: RunOptions,
    secrets: SecretResolver,
    forced: Collection[str] = (),
    progress: ProgressSink | None = None,
    command: str = "tutopanda build run",
    on_plan: Callable[[Plan], None] | None = None,
    prepared: PreparedBuild | None = None,
) -> BuildReport:
    """Plan, run and commit one build of ``movie_id`` (see the module docstring).

    ``prepared``: a build prepared by :func:`prepare` of this same movie whose loaded definition and
    replayed log are reused — only valid while nothing was recorded since (the caller checked the
    movie's state under this same build lock, as :func:`~tutopanda.core.engine.change.apply` does). It
    is planned again all the same: a blob removed meanwhile (``verify --repair``, ``gc``) must be made
    again, and a run interrupted meanwhile used up a revision number.
    """
    store = prepared.store if prepared is not None else MovieStore.open(ctx, movie_id)
    with store.lock("build", command=command), paced_collections():  # gc_control.py: planning too
        started = time.monotonic()
        if prepared is None:
            prepared = prepare(store, resolver=resolver, forced=forced, mode=options.mode)
        else:
            loaded, index = prepared.movie, prepared.state.index
            prepared = _planned(store, loaded, index, resolver=resolver, forced=forced, mode=options.mode)
        plan = prepared.plan
        if on_plan is not None:
            on_plan(plan)
        if plan.is_empty:
            # No job to run, but the inputs may still differ from the current manifest (an undone edit
            # whose old outputs were found by their traces): commit that state without a provider call.
            revision, manifest = _commit(prepared)
            duration = time.monotonic() - started
            return BuildReport(
                plan, revision, [], False, duration, graph=prepared.movie.graph, manifest=manifest
            )
        store.plans.save(plan.revision, plan.to_dict())
        runner = Runner(
            store=store,
            plan=plan,
            state=prepared.state,
            values=prepared.movie.input_values(),
            resolver=resolver,
            options=options,
            secrets=secrets,
            progress=progress,
        )
        return _run_and_commit(prepared, runner, options, started)


def _run_and_commit(
    prepared: PreparedBuild, runner: Runner, options: RunOptions, started: float
) -> BuildReport:
    """Run the plan, then commit whatever is stored and write the run record — also when the run was
    interrupted or the store failed (what was paid for is kept and recorded before the error is raised)."""
    store, plan = prepared.store, prepared.plan
    started_at = store.ctx.clock.timestamp()
    interrupted = False
    crash: BaseException | None = None
    try:
        asyncio.run(runner.run())
    except KeyboardInterrupt:
        interrupted = True
    except BaseExceptionGroup as group:  # e.g. the store failed (disk full): keep what is done
        crash = _first_error(group)
    committed: str | None = None
    current: Manifest | None = None
    try:
        committed, current = _commit(prepared)
    finally:
        outcomes = list(runner.outcomes.values())
        duration = time.monotonic() - started
        failed = crash is not None or any(o.status in ("failed", "blocked") for o in outcomes)
        status = "interrupted" if interrupted else ("failed" if failed else "succeeded")
        record = run_record(
            revision=plan.revision,
            committed_revision=committed,
            status=status,
            mode=options.mode,
            concurrency=options.concurrency,
            started_at=started_at,
            finished_at=store.ctx.clock.timestamp(),
            duration=duration,
            outcomes=outcomes,
        )
        store.save_run_record(record)
    if crash is not None:
        raise crash
    return BuildReport(
        plan,
        committed,
        outcomes,
        interrupted,
        duration,
        runner.stopped,
        runner.stopped_hint,
        graph=prepared.movie.graph,
        manifest=current,
    )


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to show for a run that stopped: the first Tutopanda error in the group, else the group."""
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            error = _first_error(error)
        if isinstance(error, TutopandaError):
            return error
    return group


def commit_build(prepared: PreparedBuild) -> str | None:
    """Save the movie's current state as the plan's revision, unless it equals the base manifest.

    Compare-and-swap against the pointer the plan was made from, so a commit never silently replaces
    a revision another writer committed meanwhile.
    """
    return _commit(prepared)[0]


def _commit(prepared: PreparedBuild) -> tuple[str | None, Manifest]:
    """:func:`commit_build`, and the movie's manifest after it (the new one, or the unchanged base)."""
    ctx = prepared.store.ctx
    state = prepared.state
    for job in state.graph.jobs:  # jobs the run never reached (Ctrl-C, --up-to-layer) may still be fresh
        if state.traces.get(job.id) is None:
            state.traces[job.id] = state.trace_of(job)
    manifest = current_manifest(prepared, revision=prepared.plan.revision, created_at=ctx.clock.timestamp())
    if not prepared.base.is_empty_revision and _same_content(manifest, prepared.base):
        return None, prepared.base
    pointer = prepared.store.manifests.save(manifest, prepared.plan.base_pointer_hash)
    return pointer.revision, manifest


def commit_current(
    ctx: StorageContext, movie_id: str, *, base_pointer_hash: str | None, mode: Mode = "live"
) -> str | None:
    """Commit what the logs hold now as the pending revision, compare-and-swap on ``base_pointer_hash``.

    For a build whose jobs ran elsewhere (durable workers): the plan was made in another step, maybe in
    another process, so only the pointer it was made from is known; the state is read again here.
    """
    prepared = prepare_build(ctx, movie_id, mode=mode)
    pinned = replace(prepared.plan, base_pointer_hash=base_pointer_hash)
    return commit_build(replace(prepared, plan=pinned))


def plan_jobs(
    ctx: StorageContext, movie: LoadedMovie, index: TraceIndex, job_ids: Sequence[str], *, mode: Mode = "live"
) -> tuple[BuildState, Plan | None]:
    """The state ``job_ids`` need (the traces of their ancestors only) and a plan of those not fresh.

    For a worker running a few jobs of a larger build: computing every trace of the movie for each
    batch would make every batch cost O(movie). The plan is None when all are fresh (their outputs are
    stored under their traces: a replayed step after a crash finds them and pays nothing).
    """
    graph = movie.graph
    store = MovieStore.open(ctx, movie.movie_id)
    blobs = store.blobs  # a stored success whose blob is gone must run again
    values = input_value_hashes(movie.input_values())
    state = BuildState(graph, index, values, blob_present=blobs.exists, mode=mode)
    upstream: dict[str, set[str]] = {}
    for source, target in graph.edges:
        upstream.setdefault(target, set()).add(source)
    needed, frontier = set(job_ids), list(job_ids)
    while frontier:
        for parent in upstream.get(frontier.pop(), ()):
            if parent not in needed:
                needed.add(parent)
                frontier.append(parent)
    for job in graph.jobs:  # topological order: every ancestor's trace before its consumers'
        if job.id in needed:
            state.traces[job.id] = state.trace_of(job)
    planned: list[PlannedJob] = []
    for job_id in job_ids:
        job = graph.job(job_id)
        trace = state.traces[job_id]
        if trace is None or state.missing_outputs(job, trace):
            planned.append(PlannedJob(job, 0, (), None, trace))
    if not planned:
        return state, None
    plan = Plan(
        movie_id=movie.movie_id,
        revision=store.pending_revision(),
        base_revision=None,
        base_pointer_hash=None,
        blueprint_id=graph.blueprint_id,
        created_at=ctx.clock.timestamp(),
        total_jobs=len(planned),
        layers=(tuple(planned),),
    )
    return state, plan
