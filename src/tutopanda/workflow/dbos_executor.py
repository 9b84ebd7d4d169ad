"""The ``dbos`` executor: a build as a durable DBOS workflow whose jobs run on worker processes.

The workflow is the engine's own loop, cut into durable steps (``docs/scale-out.md``):

1. **plan** — load the manifest and logs, compute the plan, save it; returns the planned jobs and,
   for each, the planned jobs it needs.
2. **batches** — as soon as a job's needs are done it is enqueued, with others of its provider, as a
   batch workflow on that provider's queue (``tutopanda-<provider>``), ranked so the inputs of the
   earliest consumer go first; every worker serving the queue may take it, and runs its jobs in its
   own job slots. The build waits for batches to end (one checkpoint per wake-up) and enqueues what
   became ready.
3. **commit** — fold the logs into a manifest and save it with compare-and-swap against the pointer
   the plan was made from; then the run record, and the movie's lock record is released.

DBOS checkpoints each finished step and child workflow, so a workflow resumed after a crash does not
redo them. A batch interrupted mid-way runs again (at least once); it therefore re-plans its jobs from
the logs first and finds those already stored under their trace fresh, without calling the provider
again. Submitting the same build twice is one workflow: its id is the movie plus the state it starts
from.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import sqlite3
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tutopanda.workflow.fleet_extra import fleet_extra_missing

try:
    from dbos import DBOS, DBOSConfig, SetEnqueueOptions, SetWorkflowID
except ModuleNotFoundError as missing:  # the base install has no DBOS: say which extra adds it
    raise fleet_extra_missing(missing.name or "dbos") from missing

from tutopanda.core.engine.build import commit_current, plan_jobs, prepare_build
from tutopanda.core.engine.provider_contract import EnvSecretResolver, Mode, ResolverFactory
from tutopanda.core.engine.runner import Runner, RunOptions
from tutopanda.core.engine.trace import TraceIndex, input_value_hashes
from tutopanda.core.errors import StorageError, UsageError
from tutopanda.core.movie.definition import LoadedMovie, load_movie
from tutopanda.core.store import durable_lock
from tutopanda.core.store.event_log import artefact_log, input_log
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.movie_paths import movie_paths
from tutopanda.core.store.movie_store import MovieStore
from tutopanda.core.store.plan_store import PlanStore
from tutopanda.core.store.run_record import save_run_record
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.workflow.code_version import application_version
from tutopanda.workflow.liveness import Liveness, is_postgres, sqlite_path
from tutopanda.workflow.queue_gate import QueueGates

__all__ = [
    "APP_NAME",
    "BUILD_QUEUE",
    "DEFAULT_QUEUE",
    "IDLE_QUEUE",
    "QUEUE_PREFIX",
    "build_state_hash",
    "build_workflow",
    "launch",
    "queue_name",
    "submit_build",
    "workflow_id",
]

APP_NAME = "tutopanda"
QUEUE_PREFIX = "tutopanda-"
DEFAULT_QUEUE = f"{QUEUE_PREFIX}default"
QUEUE_POLLING_SECONDS = 0.05
"""How often a worker's DBOS pollers wake up on SQLite (it was 0.2 s). A wake-up is free (memory only)
while the queue's gate is closed (``workflow/queue_gate.py``): a DBOS poll, a write transaction, happens
only while work is queued, so polling faster no longer makes idle workers contend for the file."""
QUEUE_POLLING_SECONDS_POSTGRES = 0.1
"""The same on PostgreSQL. 0.05 s measured no faster there and cost 1-4 ms more CPU per job: an open
gate's DBOS polls are four round trips each (``bench/dbos_limit_repro.py``)."""
RESULT_POLLING_SECONDS = 0.05
"""How often a build checks its running batches (one query for all of them)."""
IDLE_QUEUE = f"{QUEUE_PREFIX}none"
"""A queue nobody enqueues on: what a process that must not take work listens to."""
BATCH_JOBS = 8
"""At most this many jobs of one provider per queue entry (one batch workflow runs them together).
Measured with ``bench/scale.py`` (405 jobs): 8 beat 4 and 2 (each queue entry costs ~40 ms of CPU in
DBOS: 2 doubled the CPU of a 1-worker build) and 1 (one entry per job)."""
SPREAD_BATCHES = 1
"""Batches per known worker a build aims for when few jobs of a provider wait: the batch size shrinks
(down to one job) so that the last jobs of a build are spread over the fleet instead of queued behind
one another in one worker's batch. While many wait, batches stay at ``BATCH_JOBS``; a lone worker
gets whole batches (its job slots run them as wide as they are)."""
PREFETCHED_BATCHES = 1
"""Batches a worker holds beyond those that fill its job slots: the next one is already taken when a
batch ends, so the slots it frees are refilled at once rather than after the next poll."""
BUILD_QUEUE = f"{QUEUE_PREFIX}builds"
"""Where submitted builds wait for a worker (so a submitter may exit at once: ``--no-wait``)."""
KNOWN_PROVIDERS = ("local", "tutopanda", "openai", "replicate", "elevenlabs")
"""Providers with their own queue (throttled apart); any other provider uses the default queue."""

_state: dict[str, Any] = {"launched": False, "resolver": None}


def queue_name(provider: str) -> str:
    """The queue a job of ``provider`` waits on."""
    return f"{QUEUE_PREFIX}{provider}" if provider in KNOWN_PROVIDERS else DEFAULT_QUEUE


def served_queues(queues: list[str] | None) -> list[str]:
    """The queues a process takes work from: ``None`` means every queue of ours, ``[]`` none."""
    if queues is None:
        return [*sorted({queue_name(p) for p in KNOWN_PROVIDERS} | {DEFAULT_QUEUE}), BUILD_QUEUE]
    return list(dict.fromkeys(queues))


def queue_limits(name: str, concurrency: int) -> int:
    """How many workflows of queue ``name`` this process holds at once for ``--concurrency``: builds
    count one each; on a job queue, enough batches to fill ``concurrency`` job slots, plus
    ``PREFETCHED_BATCHES`` waiting for slots (:class:`JobSlots` keeps the jobs in flight at
    ``concurrency``)."""
    if name == BUILD_QUEUE:
        return concurrency
    return -(-concurrency // BATCH_JOBS) + PREFETCHED_BATCHES


class JobSlots:
    """The jobs one process runs at once from one queue (its ``--concurrency``), shared by its batches.

    A batch takes as many slots as it has jobs ready at once (all the slots at most), waiting until
    that many are free, and gives them back when it ends: a batch running alone uses every slot (the
    last batch of a build no longer runs two jobs at a time while the worker idles), and a prefetched
    batch starts the moment slots free up. Whole, not whatever is free: a batch started on the one
    slot another left free ran its 7 jobs one after the other (1.4 s where 0.4 s would do). Taken
    before the batch's jobs start, so no provider call's deadline counts the wait.
    """

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._free = self.size
        self._changed = threading.Condition()

    def take(self, wanted: int) -> int:
        """Wait for ``wanted`` slots (1 to all of them) and take them; how many."""
        taken = min(max(1, wanted), self.size)
        with self._changed:
            self._changed.wait_for(lambda: self._free >= taken)
            self._free -= taken
            return taken

    def give(self, count: int) -> None:
        with self._changed:
            self._free += count
            self._changed.notify_all()


_slots: dict[str, JobSlots] = {}
_slots_lock = threading.Lock()


def job_slots(queue: str) -> JobSlots:
    """This process's slots for ``queue`` (declared at launch; a process that serves no such queue,
    such as a test calling a step directly, gets ``BATCH_JOBS`` of its own)."""
    with _slots_lock:
        return _slots.setdefault(queue, JobSlots(BATCH_JOBS))


def _declare_local_queues(dbos: DBOS, names: list[str], concurrency: int, polling: float) -> None:
    """Give this process its own pollers for ``names``, limited by *its* ``--concurrency``.

    DBOS 3.4 keeps a registered queue's settings in one row of the system database
    (``DBOS.register_queue`` upserts it) and every process's poller re-reads that row before each
    poll, so its ``worker_concurrency`` is one number for the whole fleet: whichever process
    registered last — a ``--no-wait`` submitter with ``-c 1`` included — set every worker's limit.
    Enqueuing needs no row (``DBOS.enqueue_workflow`` writes only the workflow's status with the
    queue's name), so nothing here writes one. Instead each worker declares process-local queues of
    the same names (DBOS's in-memory queues, which its queue thread polls with their own settings and
    prefers over a database row of the same name) holding this worker's limits; a submitter that
    takes no work declares none and so can change nobody's limits.
    """
    registry = dbos._registry
    for name in names:
        registry.internal_queue_map.pop(name, None)  # a relaunch in this process takes the new limits
        registry._register_internal_queue(
            name, worker_concurrency=queue_limits(name, concurrency), polling_interval_sec=polling
        )
        if name != BUILD_QUEUE:
            with _slots_lock:
                _slots[name] = JobSlots(concurrency)


def launch(
    database_url: str,
    *,
    resolver_factory: ResolverFactory,
    concurrency: int = 4,
    executor_id: str | None = None,
    queues: list[str] | None = None,
    notify: Any = None,
) -> None:
    """Start DBOS in this process (once) and declare the queues it works on.

    ``resolver_factory(mode)`` gives the handler resolver for a mode (the CLI passes the registry's,
    from ``providers/wiring.py``: the workflow never imports the providers itself).
    Every worker needs its own ``executor_id`` (default host and pid) and the application version of
    its code (``code_version``), so a restarted worker recovers only its own workflows, and workers
    only run workflows enqueued by the same code. ``queues`` limits the queues this process takes
    work from (``None``: all; ``[]``: none, for a submitter that only enqueues); ``concurrency`` is
    this process's own limit and never changes another's. Every process joins peer recovery
    (``liveness``).
    """
    if _state["launched"]:
        return
    executor = executor_id or f"{socket.gethostname()}-{os.getpid()}"
    version = application_version()
    config: DBOSConfig = {
        "name": APP_NAME,
        "system_database_url": database_url,
        "executor_id": executor,
        "application_version": version,
        "log_level": "CRITICAL",
        "console_log_level": "CRITICAL",
    }
    if not is_postgres(database_url) and sqlite_path(database_url) is None:
        raise UsageError(
            f"--database-url {database_url.split('@')[-1]!r} is not a SQLite or PostgreSQL URL",
            "use sqlite:///path/to/dbos.sqlite (one machine) or postgresql://user@host/db (many)",
        )
    for name in ("dbos", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.CRITICAL)  # errors reach the user as one line, below
    database_file = sqlite_path(database_url)
    liveness = Liveness(
        database_url, executor, DBOS._recover_pending_workflows, application_version=version, notify=notify
    )
    serving = served_queues(queues)
    polling = QUEUE_POLLING_SECONDS_POSTGRES if is_postgres(database_url) else QUEUE_POLLING_SECONDS
    try:
        liveness.acquire()  # before launch: launch resumes this id's pending work, which must be ours
        if database_file is not None:
            write_ahead_log(database_file)
        dbos = DBOS(config=config)
        # Only our queues, never a stale database row of another name (or of an older version).
        DBOS.listen_queues(serving or [IDLE_QUEUE])
        _declare_local_queues(dbos, serving, concurrency, polling)
        DBOS.launch()
    except UsageError:
        raise
    except Exception as exc:
        liveness.stop()
        with contextlib.suppress(Exception):
            DBOS.destroy()
        shown = database_url.split("@")[-1]
        reason = without_credentials(str(exc).splitlines()[0][:200] if str(exc) else "", database_url)
        raise StorageError(
            f"cannot open the DBOS database {shown}: {type(exc).__name__}: {reason}",
            "check --database-url (is the server running? does the folder exist?)",
        ) from None
    _state["launched"] = True
    _state["resolver"] = resolver_factory
    # The first batch of a build pays for loading the provider registry (~80 ms, on the critical path):
    # load it while the worker waits for work.
    threading.Thread(target=_warm_up, args=(resolver_factory,), name="tutopanda-warm-up", daemon=True).start()
    _state["version"] = version
    liveness.start()
    _state["liveness"] = liveness
    if serving:  # DBOS polls a queue only while the gates see work queued on it (workflow/queue_gate.py)
        gates = QueueGates(database_url, version, {n: dbos._registry.internal_queue_map[n] for n in serving})
        gates.start()
        _state["gates"] = gates


def _warm_up(resolver_factory: ResolverFactory) -> None:
    with contextlib.suppress(Exception):  # only ever a head start: the batch loads what failed here
        resolver_factory("mock")


def write_ahead_log(database: Path) -> None:
    """Put a SQLite system database in write-ahead-log mode (the mode is stored in the file, so once).

    DBOS 3.4 leaves SQLite in its default rollback-journal mode and starts every transaction with
    ``BEGIN IMMEDIATE``: each checkpoint then writes a journal, the database and fsyncs both, and any
    reader (a peer's poll, ``build status``) holds writers off. With the log, a commit is one append
    and one fsync, and readers never block the writer; a killed process loses nothing it committed.
    Measured with ``bench/scale.py`` (docs/scale-out.md): 4 workers went from 22 s to 8 s.
    """
    database.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(database, timeout=30.0)) as connection:
        if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            connection.execute("PRAGMA journal_mode=WAL")


def without_credentials(text: str, database_url: str) -> str:
    """``text`` with the URL's user name and password (as written and decoded) blanked out: drivers
    quote parts of the URL in their errors."""
    from urllib.parse import unquote

    userinfo = database_url.split("://", 1)[-1].rpartition("@")[0]
    secrets = {part for piece in userinfo.split(":", 1) for part in (piece, unquote(piece)) if len(part) > 1}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _context(root: str) -> StorageContext:
    return StorageContext.open(StorageConfig(root=root))


def _run_mode(mode: str) -> Mode:
    """The handlers' mode of a durable build (workflow arguments are plain strings)."""
    return "mock" if mode == "mock" else "live"


@DBOS.step()
def plan_step(
    root: str, movie_id: str, workflow: str, holder: dict[str, Any], mode: str = "live"
) -> dict[str, Any]:
    """Plan the build and save the plan; the layers as ``[[job id, provider], ...]``.

    The movie's durable lock record names this workflow from here until ``release_step``: claimed
    again (the submitter wrote it; a record cleared as stale meanwhile is written back, and another
    live durable build's refuses this one). A local build in progress owns the movie (and
    ``runs/<rev>-plan.json``): the build lock refuses rather than run twice.
    """
    ctx = _context(root)
    with (
        durable_lock.acting_for(workflow),
        movie_lock(ctx, movie_id, "build", timeout=0.0, command="tutopanda build run --executor dbos"),
    ):
        durable_lock.claim(ctx, movie_id, durable_lock.DurableHolder(**holder))
        prepared = prepare_build(ctx, movie_id, mode=_run_mode(mode))  # the mode is part of the traces
        plan = prepared.plan
        if not plan.is_empty:
            PlanStore(ctx, movie_id).save(plan.revision, plan.to_dict())
    return {
        "startedAt": ctx.clock.timestamp(),
        "started": time.time(),
        "revision": plan.revision,
        "basePointerHash": plan.base_pointer_hash,
        "layers": [[[p.job.id, p.job.variant.provider] for p in layer] for layer in plan.layers if layer],
        "needs": planned_needs(prepared.movie.graph.edges, {p.job.id for p in plan.jobs}),
    }


def planned_needs(edges: Any, planned: set[str]) -> dict[str, list[str]]:
    """For each planned job, the planned jobs it must wait for: its nearest planned ancestors (a job
    that is not planned is fresh, so its stored outputs stand in for whatever is upstream of it)."""
    upstream: dict[str, set[str]] = {}
    for source, target in edges:
        upstream.setdefault(target, set()).add(source)
    needs: dict[str, list[str]] = {}
    for job_id in planned:
        found: set[str] = set()
        seen: set[str] = set()
        frontier = list(upstream.get(job_id, ()))
        while frontier:
            parent = frontier.pop()
            if parent in seen:
                continue
            seen.add(parent)
            if parent in planned:
                found.add(parent)
            else:
                frontier.extend(upstream.get(parent, ()))
        needs[job_id] = sorted(found)
    return needs


_movies: dict[tuple[str, str], tuple[tuple[str, ...], LoadedMovie, TraceIndex, int]] = {}
_movies_lock = threading.Lock()


def _cached_movie(ctx: StorageContext, movie_id: str) -> tuple[LoadedMovie, TraceIndex]:
    """The movie and its trace index, kept per worker process and brought up to date incrementally.

    A worker runs many jobs of the same build: expanding the blueprint and re-reading the whole
    artefact log for each would make every job cost O(movie). The movie is reloaded only when its
    definition or input log changed; the index reads only the artefact log's new lines (``tail``).
    """
    signature = _signature(ctx, movie_id)
    log = artefact_log(ctx, movie_id)
    with _movies_lock:
        cached = _movies.get((ctx.root, movie_id))
        if cached is None or cached[0] != signature:
            movie, index, offset = load_movie(ctx, movie_id), TraceIndex(), 0
        else:
            _, movie, index, offset = cached
        tail = log.tail(offset)
        for event in tail.events:
            index.add(event)
        _movies[(ctx.root, movie_id)] = (signature, movie, index, tail.offset)
        return movie, index.copy()


def movie_layout_paths(ctx: StorageContext, movie_id: str) -> tuple[str, ...]:
    """The definition files whose change means the movie must be loaded again (``movie.json`` first)."""
    folder = ctx.movie_dir(movie_id)
    return (ctx.join(folder, "movie.json"), ctx.join(folder, "providers.json"))


def _signature(ctx: StorageContext, movie_id: str) -> tuple[str, ...]:
    """Content hashes of the definition files, plus the blueprint file's when it is not a bundled one.

    Content, not sizes or times: a config edited to a value of the same length must reload the movie
    (a stale graph would plan nothing and commit a manifest missing the jobs' new outputs).
    """
    from tutopanda.core.store.hashing import sha256_hex

    parts: list[str] = []
    contents: list[bytes] = []
    for path in movie_layout_paths(ctx, movie_id):
        try:
            contents.append(ctx.read_bytes(path))
            parts.append(sha256_hex(contents[-1]))
        except (FileNotFoundError, StorageError):
            contents.append(b"")
            parts.append("-")
    parts.append(input_log(ctx, movie_id).fingerprint())  # a file locally, segments on object stores
    try:
        blueprint = json.loads(contents[0]).get("blueprint", "")  # movie.json, read once above
    except (ValueError, AttributeError):
        blueprint = ""
    if isinstance(blueprint, str) and Path(blueprint).is_absolute():
        folder = Path(blueprint).parent  # the blueprint, its sibling module files, modules/ and prompts/
        files = [*folder.glob("*.y*ml"), *folder.glob("modules/**/*"), *folder.glob("prompts/**/*")]
        for file in sorted(files)[:500]:
            if file.is_file():
                parts.append(f"{file}:{sha256_hex(file.read_bytes())}")
    return tuple(parts)


def run_batch(
    root: str, movie_id: str, job_ids: list[str], mode: str, queue: str, width: int
) -> dict[str, Any]:
    """Run a batch of jobs of one provider, skipping those already stored under their trace, in as many
    of this process's job slots for ``queue`` as it gets (:class:`JobSlots`), at most ``width`` (the
    jobs ready at once; the others wait for jobs of the batch: :func:`followers`).

    One queue entry per batch rather than per job: the queue's per-entry costs (the poll, the workflow
    rows) are paid once for the whole batch. A batch run again pays nothing twice. Returns the job
    records and the executor that ran them (the build counts its workers by them).
    """
    ctx = _context(root)
    movie, index = _cached_movie(ctx, movie_id)
    run_mode = _run_mode(mode)
    state, plan = plan_jobs(ctx, movie, index, job_ids, mode=run_mode)
    cached = {"status": "cached", "attempts": 0}
    if plan is None:
        return {"executor": DBOS.executor_id, "jobs": [{"jobId": job_id, **cached} for job_id in job_ids]}
    slots = job_slots(queue)
    taken = slots.take(min(len(plan.jobs), max(1, width)))
    try:
        runner = Runner(
            store=MovieStore(ctx, movie_id, movie_paths(ctx, movie_id)),  # checked by the batch's load
            plan=plan,
            state=state,
            values=movie.input_values(),
            resolver=_state["resolver"](run_mode),
            options=RunOptions(mode=run_mode, concurrency=taken),
            secrets=EnvSecretResolver(),
        )
        asyncio.run(runner.run())
    finally:
        slots.give(taken)
    jobs = [  # the same job records a local run writes
        runner.outcomes[job_id].to_dict() if job_id in runner.outcomes else {"jobId": job_id, **cached}
        for job_id in job_ids
    ]
    return {"executor": DBOS.executor_id, "jobs": jobs}


@DBOS.workflow()
def batch_workflow(
    root: str, movie_id: str, job_ids: list[str], mode: str, queue: str, width: int
) -> dict[str, Any]:
    """A batch of jobs, as an entry of ``queue`` any worker serving it may take.

    The work is the workflow's body, not a step of it: a step would checkpoint the very result the
    workflow's output then holds again (one more write per batch, ``bench/dbos_limit_repro.py``), and
    it would save nothing on a crash — a batch interrupted mid-way runs again either way, and finds
    its stored jobs (``run_batch``).
    """
    return run_batch(root, movie_id, job_ids, mode, queue, width)


@DBOS.step()
def finished_batches(workflow_ids: list[str]) -> list[dict[str, Any]]:
    """Wait until at least one of the batches ``workflow_ids`` has ended; every ended one's
    ``{"id", "status", "result", "error"}``.

    One checkpoint per wake-up, for all the batches that ended meanwhile, where ``DBOS.wait_first``
    and ``get_result`` made two per batch.
    """
    ended: list[str] = []
    while not ended:
        statuses = DBOS.list_workflows(workflow_ids=workflow_ids, load_input=False, load_output=False)
        ended = [s.workflow_id for s in statuses if s.status not in ("PENDING", "ENQUEUED", "DELAYED")]
        if not ended:
            time.sleep(RESULT_POLLING_SECONDS)
    statuses = DBOS.list_workflows(workflow_ids=ended, load_input=False, load_output=True)
    return [
        {
            "id": s.workflow_id,
            "status": s.status,
            "result": s.output if s.status == "SUCCESS" else None,
            "error": None if s.status == "SUCCESS" else str(s.error),
        }
        for s in sorted(statuses, key=lambda s: ended.index(s.workflow_id))
    ]


def batch_size(waiting: int, workers: int) -> int:
    """Jobs per batch when ``waiting`` jobs of one provider are queued or running and ``workers`` have
    run batches of this build so far: ``BATCH_JOBS`` while there is plenty, fewer when it would leave
    workers idle (``SPREAD_BATCHES`` batches per worker)."""
    return max(1, min(BATCH_JOBS, -(-waiting // (SPREAD_BATCHES * max(1, workers)))))


def by_provider(job_ids: list[str], provider_of: dict[str, str]) -> dict[str, list[str]]:
    """``job_ids`` grouped by provider, in their order."""
    groups: dict[str, list[str]] = {}
    for job_id in job_ids:
        groups.setdefault(provider_of[job_id], []).append(job_id)
    return groups


@DBOS.step()
def commit_step(root: str, movie_id: str, base_pointer_hash: str | None, mode: str = "live") -> str | None:
    """Commit what the logs hold as the planned revision, compare-and-swap on the planned pointer."""
    return commit_current(_context(root), movie_id, base_pointer_hash=base_pointer_hash, mode=_run_mode(mode))


@DBOS.step()
def record_step(
    root: str,
    movie_id: str,
    planned: dict[str, Any],
    outcomes: list[dict[str, Any]],
    revision: str | None,
    mode: str,
) -> None:
    """The run record (``runs/<rev>-run.json``), as a local build writes it: status, times, costs, jobs."""
    ctx = _context(root)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome["status"]] = counts.get(outcome["status"], 0) + 1
    costs = [o["cost"] for o in outcomes if isinstance(o.get("cost"), int | float)]
    failed = any(o["status"] in ("failed", "blocked") for o in outcomes)
    save_run_record(
        ctx,
        movie_id,
        {
            "revision": planned["revision"],
            "committedRevision": revision,
            "status": "failed" if failed else "succeeded",
            "mode": mode,
            "executor": "dbos",
            "concurrency": None,
            "startedAt": planned["startedAt"],
            "finishedAt": ctx.clock.timestamp(),
            "durationSeconds": round(time.time() - planned["started"], 6),
            "totals": {
                "jobs": len(outcomes),
                "calls": sum(int(o.get("attempts") or 0) for o in outcomes),
                "cost": round(sum(costs), 6) if costs else 0.0,
                **{
                    name: counts.get(name, 0)
                    for name in ("succeeded", "failed", "cached", "blocked", "not-run")
                },
            },
            "jobs": outcomes,
        },
    )


@DBOS.step()
def release_step(root: str, movie_id: str, workflow: str) -> None:
    """Drop this build's hold on the movie (its lock record), whatever the build's outcome."""
    durable_lock.release(_context(root), movie_id, workflow)


@DBOS.workflow()
def build_workflow(root: str, movie_id: str, mode: str, holder: dict[str, Any]) -> dict[str, Any]:
    """Plan, run the jobs on the provider queues as their inputs become ready, commit; hold the movie
    throughout (``core/store/durable_lock.py``) and let it go at the end, success or failure.

    Dataflow rather than layer by layer: a batch is enqueued as soon as every planned job it needs has
    finished, so one slow job holds up only what consumes it, not the whole next layer. The order of
    everything this function does is a function of the checkpointed results (``DBOS.wait_first`` is
    recorded), so a resumed workflow replays the same enqueues.
    """
    workflow = str(DBOS.workflow_id)
    try:
        return _build(root, movie_id, mode, workflow, holder)
    finally:
        # A cancelled workflow cannot run this step: its record is then stale, and the probe
        # (workflow/durable_probe.py) clears it when a command next meets it.
        release_step(root, movie_id, workflow)


def _build(root: str, movie_id: str, mode: str, workflow: str, holder: dict[str, Any]) -> dict[str, Any]:
    planned = plan_step(root, movie_id, workflow, holder, mode)
    order = [job_id for layer in planned["layers"] for job_id, _ in layer]
    provider_of = {job_id: provider for layer in planned["layers"] for job_id, provider in layer}
    waiting = {job_id: set(planned["needs"].get(job_id, ())) for job_id in order}
    consumers: dict[str, list[str]] = {}
    for job_id in order:
        for need in planned["needs"].get(job_id, ()):
            consumers.setdefault(need, []).append(job_id)
    rank = consumer_ranks(order, consumers)
    ready = [job_id for job_id in order if not waiting[job_id]]
    taken: set[str] = set()  # jobs in a batch (running or finished)
    outstanding: dict[str, tuple[str, int]] = {}  # batch workflow id -> (provider, jobs)
    pending: dict[str, int] = {}  # provider -> jobs in batches not finished
    workers: set[str] = set()  # executors that ran batches of this build
    outcomes: list[dict[str, Any]] = []
    stopped = False
    while ready or outstanding:
        if ready and not stopped:
            ready.sort(key=lambda job_id: rank[job_id])
            for provider, ids in by_provider(ready, provider_of).items():
                size = batch_size(len(ids) + pending.get(provider, 0), len(workers))
                for start in range(0, len(ids), size):
                    chunk = ids[start : start + size]
                    taken.update(chunk)
                    chained = followers(
                        chunk, waiting, consumers, provider_of, taken, BATCH_JOBS - len(chunk)
                    )
                    taken.update(chained)
                    priority = 1 + rank[chunk[0]][0]
                    handle = _enqueue_batch(root, movie_id, mode, provider, chunk, chained, priority)
                    outstanding[handle.workflow_id] = (provider, len(chunk) + len(chained))
                    pending[provider] = pending.get(provider, 0) + len(chunk) + len(chained)
        ready = []
        if not outstanding:
            break
        for batch in finished_batches(list(outstanding)):
            provider, count = outstanding.pop(batch["id"])
            pending[provider] -= count
            if batch["status"] != "SUCCESS":
                raise RuntimeError(f"batch {batch['id']} ended {batch['status']}: {batch['error']}")
            workers.add(batch["result"]["executor"])
            outcomes.extend(batch["result"]["jobs"])
            for result in batch["result"]["jobs"]:
                if result["status"] in ("failed", "blocked"):
                    stopped = True  # start nothing new; what is running finishes and is committed
                    continue
                for consumer in consumers.get(result["jobId"], ()):
                    waiting[consumer].discard(result["jobId"])
                    if not waiting[consumer] and consumer not in taken:
                        ready.append(consumer)
    revision = commit_step(root, movie_id, planned["basePointerHash"], mode)
    if planned["layers"]:
        record_step(root, movie_id, planned, outcomes, revision, mode)
    return {"plannedRevision": planned["revision"], "revision": revision, "jobs": outcomes}


def _enqueue_batch(
    root: str, movie_id: str, mode: str, provider: str, ready: list[str], chained: list[str], priority: int
) -> Any:
    """Put a batch on its provider's queue (lower ``priority`` first): the ``ready`` jobs, then those
    ``chained`` behind them; its handle."""
    queue = queue_name(provider)
    job_ids = [*ready, *chained]
    with SetEnqueueOptions(priority=priority):
        return DBOS.enqueue_workflow(queue, batch_workflow, root, movie_id, job_ids, mode, queue, len(ready))


def followers(
    batch: list[str],
    waiting: dict[str, set[str]],
    consumers: dict[str, list[str]],
    provider_of: dict[str, str],
    taken: set[str],
    room: int,
) -> list[str]:
    """Jobs to run in ``batch`` right after its jobs, saving them a round trip through the queue: of the
    batch's provider, every unfinished need of theirs in the batch (up to ``room`` of them).

    Only when nothing else would be held up: a batch reports its jobs when all of them are done, so a
    job outside it that could start as soon as the batch's own jobs end must not wait for followers
    too (the last clip takes the timeline and the export along; the script takes none of the 201 jobs
    that wait for it, as there is no room for them all).
    """
    provider = provider_of[batch[0]]
    inside, frontier = set(batch), list(batch)
    added: list[str] = []
    while frontier and len(added) < room:
        for consumer in consumers.get(frontier.pop(0), ()):
            if consumer in inside or consumer in taken or provider_of[consumer] != provider:
                continue
            if waiting[consumer] <= inside and len(added) < room:
                inside.add(consumer)
                added.append(consumer)
                frontier.append(consumer)
    own = set(batch)
    for job_id in batch:
        for consumer in consumers.get(job_id, ()):
            if consumer not in inside and consumer not in taken and waiting[consumer] <= own:
                return []  # it would be ready when the batch's own jobs end: keep the batch short
    return added


def consumer_ranks(order: list[str], consumers: dict[str, list[str]]) -> dict[str, tuple[int, int]]:
    """Each planned job's place in the queues: the plan position of the first planned job that waits for
    it (then its own), lowest first. Batches are enqueued with it as their priority.

    First come, first served ran a whole producer before the next one could start: on 100 segments,
    every narration before the image they are shown with, so the clips (another provider's queue)
    waited 13 s of a 22 s build for a segment with both. Ranked, the inputs of the earliest consumer
    go first (a segment's narration and image together), and every queue is fed from the start.
    """
    position = {job_id: index for index, job_id in enumerate(order)}
    return {
        job_id: (min((position[c] for c in consumers.get(job_id, ())), default=len(order)), position[job_id])
        for job_id in order
    }


def workflow_id(movie_id: str, state: str) -> str:
    """The id of the build of ``movie_id`` from ``state`` (idempotent submission)."""
    return f"build-{movie_id}-{state[:16]}"


def build_state_hash(root: str, movie_id: str) -> str:
    """A hash of what a build starts from: the current pointer, the input values and the selection,
    and the manual overrides on record. The same state twice is the same build (one workflow)."""
    from tutopanda.core.movie.definition import load_movie
    from tutopanda.core.store.events import MANUAL
    from tutopanda.core.store.hashing import hash_value
    from tutopanda.core.store.manifest_store import ManifestStore

    ctx = _context(root)
    movie = load_movie(ctx, movie_id)
    manual = sum(1 for event in artefact_log(ctx, movie_id) if event.inputs_hash == MANUAL)
    return hash_value(
        {
            "pointer": ManifestStore(ctx, movie_id).snapshot().pointer_hash,
            "inputs": input_value_hashes(movie.input_values()),
            "selection": movie.definition.selection,
            "config": movie.definition.config,
            "manual": manual,
        }
    ).hash


def submit_build(root: str, movie_id: str, mode: str, *, database: str, command: str) -> Any:
    """Start (or find) the build workflow of ``movie_id`` from its current state; a workflow handle.

    The movie is locked for the durable build before it is enqueued: under the movie's ``build`` lock
    (so no local command is midway), the lock record naming the workflow is created. A local command
    started later is refused until the workflow ends; another durable build of a different state is
    refused now (``LockHeldError``) rather than left to fail its compare-and-swap later. ``database``
    is the DBOS database's URL without credentials (recorded so a command can check the workflow).
    """
    base = workflow_id(movie_id, build_state_hash(root, movie_id))
    chosen = base
    for attempt in range(1, 1000):
        status = DBOS.get_workflow_status(chosen)
        if status is None or not _finished_badly(chosen, status.status):
            break
        chosen = f"{base}-r{attempt}"  # the same state after a failed build: a new attempt
    if status is not None and status.status == "SUCCESS":
        with SetWorkflowID(chosen):  # this state was built already: its handle, and no lock to take
            return DBOS.enqueue_workflow(BUILD_QUEUE, build_workflow, root, movie_id, mode, {})
    ctx = _context(root)
    holder = durable_lock.DurableHolder.here(ctx, chosen, command, database)
    with durable_lock.acting_for(chosen), movie_lock(ctx, movie_id, "build", timeout=0.0, command=command):
        durable_lock.claim(ctx, movie_id, holder)
        try:
            with SetWorkflowID(chosen):
                args = (root, movie_id, mode, asdict(holder))
                return DBOS.enqueue_workflow(BUILD_QUEUE, build_workflow, *args)
        except BaseException:
            if DBOS.get_workflow_status(chosen) is None:
                durable_lock.release(ctx, movie_id, chosen)
            raise


def _finished_badly(workflow: str, status: str) -> bool:
    """Whether a finished build should not stand for its state: it errored, was cancelled or had
    failed jobs (fixing the cause and running again must run again)."""
    if status in ("ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"):
        return True
    if status != "SUCCESS":
        return False  # still pending or enqueued: the same build, join it
    result: dict[str, Any] = DBOS.retrieve_workflow(workflow).get_result()
    return any(job["status"] in ("failed", "blocked") for job in result.get("jobs", []))
