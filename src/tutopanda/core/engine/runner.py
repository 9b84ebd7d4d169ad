"""The runner: executes a plan as a dataflow, concurrently, through provider handlers.

Guarantees (each tested):

* **Nothing paid for is lost.** Each artefact is stored (blob, then event) the moment its job finishes,
  so a crash or Ctrl-C loses at most the jobs in flight; a failed job records ``failed`` events and never
  a success.
* **Early cutoff at run time.** Just before a job would call its provider, its trace is recomputed from
  the upstream outputs as they are *now*; if stored outputs match it, the job is skipped (``cached``).
* **Limits.** A global concurrency cap, and per-provider caps declared by handlers (max in flight,
  requests per minute), shared by every job with the same limits key.
* **Retries** with exponential backoff and full jitter for errors a handler marks retryable
  (``retry_after`` is honoured as a minimum).
* **A deadline per call.** A call still running after the job's ``jobTimeoutSeconds`` (config; default
  :data:`DEFAULT_JOB_TIMEOUT`, or twice the handler's own ``timeoutSeconds`` when that is longer) is
  cancelled and the job fails (not retried); the other jobs go on. A hung handler thread is left behind
  rather than waited for (see :func:`stuck_threads`).
* Jobs downstream of a failed job are ``blocked`` (not attempted) and retried by the next build.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, Protocol, TypeVar

from tutopanda.core.blueprint import FanIn, Job, SelectedVariant
from tutopanda.core.engine.planner import BuildState, Plan, PlannedJob
from tutopanda.core.engine.provider_contract import (
    ArtefactInput,
    HandlerResolver,
    JobContext,
    JobResult,
    Mode,
    ProducedArtefact,
    ProviderHandler,
    SecretResolver,
)
from tutopanda.core.engine.store_queue import StoreQueue
from tutopanda.core.errors import (
    ProviderAccountError,
    ProviderConfigError,
    ProviderError,
    StorageError,
    TutopandaError,
)
from tutopanda.core.gc_control import paced_collections
from tutopanda.core.logger import Logger
from tutopanda.core.store.blob_ref import BlobRef
from tutopanda.core.store.blob_store import DeferredFolders
from tutopanda.core.store.events import ArtefactEvent, artefact_event, error_message
from tutopanda.core.store.movie_store import MovieStore
from tutopanda.core.store.run_record import JobOutcome, JobStatus

__all__ = [
    "DEFAULT_JOB_TIMEOUT",
    "JobOutcome",
    "ProgressSink",
    "RunOptions",
    "Runner",
    "call_deadline",
    "drain_then_close",
    "nearest_planned_ancestors",
    "stuck_threads",
]


VOICE_INPUT = "VoiceId"
"""The narration input holding a provider's voice id (``default``: each provider's own voice). A fallback
to another provider gets ``default`` instead of the first provider's id, which it would not know."""
DEFAULT_JOB_TIMEOUT = 3600.0
"""Seconds one call of a job may take when its config sets no ``jobTimeoutSeconds``: a backstop against
a provider that never answers, far above any real call (handlers enforce their own, shorter timeouts)."""


@dataclass(frozen=True)
class RunOptions:
    """How to run: concurrency, mode/environment for the handlers, retry policy, optional layer cut."""

    mode: Mode
    environment: str = "local"
    concurrency: int = 4
    up_to_layer: int | None = None
    max_attempts: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    seed: int | None = None
    job_timeout: float | None = DEFAULT_JOB_TIMEOUT
    """Default deadline of one call (seconds) for jobs whose config has no ``jobTimeoutSeconds``;
    None: no deadline."""


class ProgressSink(Protocol):
    """Receives run progress (the CLI draws it with Rich; tests record it)."""

    def layer_started(self, index: int, jobs: int) -> None: ...

    def job_started(self, job_id: str) -> None: ...

    def job_finished(self, outcome: JobOutcome) -> None: ...

    def job_progress(self, job_id: str, fraction: float) -> None:
        """A handler reported progress within a long job (called from worker threads too)."""
        ...


class _Limiter:
    """Per-key in-flight cap and minimum spacing between call starts (requests per minute)."""

    def __init__(self, max_in_flight: int | None, per_minute: float | None) -> None:
        self._slots = asyncio.Semaphore(max_in_flight) if max_in_flight else None
        self._interval = 60.0 / per_minute if per_minute else 0.0
        self._next_start = 0.0
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> None:
        if self._slots is not None:
            await self._slots.acquire()
        if self._interval:
            async with self._lock:
                now = time.monotonic()
                wait = self._next_start - now
                self._next_start = max(now, self._next_start) + self._interval
            if wait > 0:
                await asyncio.sleep(wait)

    async def __aexit__(self, *exc: object) -> None:
        if self._slots is not None:
            self._slots.release()


def _text_problem(kind: str, data: bytes) -> str | None:
    """Why ``data`` is not a valid ``text``/``json`` artefact, or None when it is."""
    try:
        text = data.decode("utf-8")
        if kind == "json":
            json.loads(text)
    except UnicodeDecodeError:
        return "invalid text: not UTF-8"
    except ValueError as exc:
        return f"invalid JSON: {exc}"
    return None


def _decode(kind: str, data: bytes) -> Any:
    if kind == "text":
        return data.decode("utf-8")
    if kind == "json":
        return json.loads(data)
    return data


_NOT_STARTED = "not started: the run is stopping"

_FRESH_TEXT_MAX = 1 << 20
"""Text/JSON results up to this size are kept in memory for the jobs that read them in the same run."""
_FRESH_TEXT_TOTAL = 64 << 20
"""...and at most this many bytes of them in all (a movie's texts are a few MB at 1,000 segments)."""

_PARALLEL_STORE_MIN = 8
"""A job with at least this many outputs stores its blobs on several threads (their fsyncs overlap)."""
_STORE_THREADS = 8


def _provisional(result: JobResult) -> bool:
    """Whether a handler marked its result provisional (a malformed result's diagnostics: no)."""
    return isinstance(result.diagnostics, Mapping) and result.diagnostics.get("provisional") is True


class _ToStore(NamedTuple):
    """A job's result waiting to be stored (see store_queue.py)."""

    job: Job
    handler: ProviderHandler
    trace: str
    result: JobResult


def _timeout_message(deadline: float | None) -> str:
    return (
        f"timed out: no result after {deadline:g} s (the job's deadline, config jobTimeoutSeconds); "
        "the call was cancelled"
    )


_N = TypeVar("_N", int, float)
_R = TypeVar("_R")


def _stricter(first: _N | None, second: _N | None) -> _N | None:
    """The smaller of two optional limits (None: no limit given)."""
    if first is None:
        return second
    return first if second is None else min(first, second)


def config_throttles(jobs: Iterable[Job]) -> dict[str, tuple[int | None, float | None]]:
    """Provider -> (``maxInFlight``, ``requestsPerMinute``) set in the configs of ``jobs``.

    Decided for the whole run before it starts — the strictest value wins when jobs disagree — so the
    throttle never depends on which job happens to call first. A value that is not a positive number
    is a :class:`ProviderConfigError` naming the job, before any call.
    """
    found: dict[str, tuple[int | None, float | None]] = {}
    for job in jobs:
        config = job.variant.config
        in_flight, per_minute = config.get("maxInFlight"), config.get("requestsPerMinute")
        if in_flight is None and per_minute is None:
            continue
        if in_flight is not None and (
            isinstance(in_flight, bool) or not isinstance(in_flight, int) or in_flight < 1
        ):
            raise ProviderConfigError(
                f"{job.id}: maxInFlight must be a whole number >= 1, not {in_flight!r}",
                "fix it in the module's provider config (providers.json or the settings' config file)",
            )
        if per_minute is not None and (
            isinstance(per_minute, bool) or not isinstance(per_minute, int | float) or per_minute <= 0
        ):
            raise ProviderConfigError(
                f"{job.id}: requestsPerMinute must be a number > 0, not {per_minute!r}",
                "fix it in the module's provider config (providers.json or the settings' config file)",
            )
        old_flight, old_rate = found.get(job.variant.provider, (None, None))
        found[job.variant.provider] = (_stricter(old_flight, in_flight), _stricter(old_rate, per_minute))
    return found


def _seconds(value: object) -> float | None:
    """``value`` as a positive number of seconds, or None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return None
    return float(value)


def call_deadline(config: Mapping[str, Any], default: float | None, where: str) -> float | None:
    """Seconds one call of a job with ``config`` may run before the runner cancels it (None: no limit).

    ``jobTimeoutSeconds`` when the config sets it (a number > 0, else :class:`ProviderConfigError`
    naming ``where``); otherwise ``default``, raised to twice the handler's own ``timeoutSeconds`` when
    that is longer (a handler's timeout covers one request or one prediction, not the downloads after
    it, and it should fire first: its error says more and is retried).
    """
    if "jobTimeoutSeconds" in config:
        seconds = _seconds(config["jobTimeoutSeconds"])
        if seconds is None:
            raise ProviderConfigError(
                f"{where}: jobTimeoutSeconds must be a number of seconds > 0, "
                f"not {config['jobTimeoutSeconds']!r}",
                "fix it in the module's provider config (providers.json or the settings' config file)",
            )
        return seconds
    if default is None:
        return None
    own = _seconds(config.get("timeoutSeconds"))
    return max(default, 2 * own) if own is not None else default


_abandoned: list[str] = []
"""Name prefixes of handler thread pools left running: a call cancelled at its deadline or by Ctrl-C
may still block one of their threads."""


def stuck_threads(wait: float = 0.0) -> list[threading.Thread]:
    """Threads still running a handler call that was cancelled (Python cannot stop a thread).

    Waits up to ``wait`` seconds in all for them to end first. The CLI exits without joining the ones
    left, so a provider that hangs in blocking code cannot keep the process alive after the build
    reported and committed.
    """
    prefixes = tuple(_abandoned)
    if not prefixes:
        return []
    deadline = time.monotonic() + wait
    alive = [
        thread for thread in threading.enumerate() if thread.name.startswith(prefixes) and thread.is_alive()
    ]
    for thread in alive:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [thread for thread in alive if thread.is_alive()]


def nearest_planned_ancestors(
    upstream: Mapping[str, Iterable[str]], in_plan: set[str]
) -> dict[str, set[str]]:
    """Planned job id -> its nearest planned ancestors, looking through jobs that are not planned.

    ``upstream`` maps a job to the jobs it reads from. Only the planned jobs' ancestors are visited (a
    durable build's batch of 8 jobs does not walk the whole movie), depth first without recursion, so
    any depth of graph is fine.
    """
    through: dict[str, frozenset[str]] = {}  # unplanned job -> the planned jobs seen through it

    def nearest(job_id: str) -> set[str]:  # once every unplanned parent's set is known
        found: set[str] = set()
        for parent in upstream.get(job_id, ()):
            found |= {parent} if parent in in_plan else through[parent]
        return found

    for planned in in_plan:
        stack = [parent for parent in upstream.get(planned, ()) if parent not in in_plan]
        while stack:
            job_id = stack[-1]
            if job_id in through:
                stack.pop()
                continue
            unknown = [
                parent
                for parent in upstream.get(job_id, ())
                if parent not in in_plan and parent not in through
            ]
            if unknown:
                stack.extend(unknown)
            else:
                stack.pop()
                through[job_id] = frozenset(nearest(job_id))
    return {job_id: nearest(job_id) for job_id in in_plan}


def _chain_lengths(job_ids: Iterable[str], followers: Mapping[str, list[PlannedJob]]) -> dict[str, int]:
    """Job id -> the number of jobs in the longest chain of its followers (0 for a job nobody waits
    for): how much of the run waits behind it. Any order of ``job_ids`` (a durable batch's plan is one
    layer in the caller's order)."""
    behind: dict[str, int] = {}
    for first in job_ids:
        stack = [first]
        while stack:
            job_id = stack[-1]
            if job_id in behind:
                stack.pop()
                continue
            after = [follower.job.id for follower in followers.get(job_id, ())]
            unknown = [follower for follower in after if follower not in behind]
            if unknown:
                stack.extend(unknown)
                continue
            stack.pop()
            behind[job_id] = 1 + max(behind[follower] for follower in after) if after else 0
    return behind


def drain_then_close(pool: ThreadPoolExecutor, stack: contextlib.ExitStack) -> threading.Event:
    """Wait for every task of ``pool`` (the run's stores), then close ``stack`` (the held blob folders
    they write through), in a thread of its own; the event returned is set when both are done.

    Why a thread: on CPython 3.11 and 3.12, a Ctrl-C that interrupts ``join`` marks the joined thread as
    stopped while it still runs, so the pool's ``shutdown(wait=True)`` — and the interpreter's own wait
    at exit — would return at once and the folders be closed under a put (its descriptor number then
    reused by the next file opened). Here the caller waits on the event, which a Ctrl-C interrupts
    harmlessly, and the thread (not a daemon: the process waits for it at exit) finishes the stores.
    """
    done = threading.Event()

    def drain() -> None:
        try:
            pool.shutdown(wait=True)
        finally:
            try:
                stack.close()
            finally:
                done.set()

    threading.Thread(target=drain, name="tutopanda-store-drain").start()
    return done


class Runner:
    """Runs one plan against one movie: construct, then ``await runner.run()``; ``outcomes`` fill in."""

    def __init__(
        self,
        *,
        store: MovieStore,
        plan: Plan,
        state: BuildState,
        values: Mapping[str, Any],
        resolver: HandlerResolver,
        options: RunOptions,
        secrets: SecretResolver,
        progress: ProgressSink | None = None,
        logger: Logger | None = None,
    ) -> None:
        self._ctx = store.ctx
        self.movie_id = store.movie_id
        self.plan = plan
        self.state = state
        self._values = values
        self._resolver = resolver
        self.options = options
        self._secrets = secrets
        self._log = store.artefacts
        # Upstream bytes are re-hashed as they are read: a corrupt blob fails the job that reads it
        # with a clear message instead of feeding it garbage (text/JSON when read; streams at their end).
        self._blobs = store.checked_blobs()
        # Text/JSON results this run stored, by blob hash: the jobs downstream read them from here, not
        # from disk. Reading them back on the event loop (thousands of small files, each read waiting
        # for the GIL behind the store threads) stalled every other job of a 1,000-segment build for
        # seconds. The bytes were hashed as they were stored, so they are the blob's bytes.
        self._fresh_text: dict[str, bytes] = {}
        self._fresh_text_size = 0
        self._fresh_text_lock = threading.Lock()
        self._progress = progress
        self._logger = logger or store.ctx.logger
        self._limiters: dict[str, _Limiter] = {}
        self._global = asyncio.Semaphore(max(1, options.concurrency))
        self._t0 = time.monotonic()
        self._random = random.Random(options.seed)
        self._failed_jobs: set[str] = set()
        self._throttles = config_throttles(planned.job for planned in plan.jobs)
        for planned in plan.jobs:  # a bad jobTimeoutSeconds is refused before any call
            call_deadline(planned.job.variant.config, options.job_timeout, planned.job.id)
        self._timed_out = False
        self._store_pool: ThreadPoolExecutor | None = None
        """Where results are stored (created by :meth:`run`)."""
        self._behind: dict[str, int] = {}
        """Job id -> the longest chain of planned jobs waiting behind it: its result's store priority."""
        self._recorded: dict[str, tuple[list[ArtefactEvent], bool, BaseException | None]] = {}
        """Each stored job's recorded events, whether provisional and the error that stopped its store
        (set by the store threads; what the run record says of a job no task was left to settle)."""
        self._stores: StoreQueue[_ToStore, list[ArtefactEvent]] | None = None
        """Results waiting for the store pool (created by :meth:`run`: see store_queue.py)."""
        self.stopped: str | None = None
        """Why the run stopped starting jobs (a provider refused the account), or None."""
        self.stopped_hint: str | None = None
        """The provider's advice for that refusal (which key or account to check)."""
        self.outcomes: dict[str, JobOutcome] = {
            planned.job.id: JobOutcome(
                planned.job.id,
                f"{planned.job.module}.{planned.job.producer}",
                planned.job.kind,
                planned.layer,
                planned.job.variant.provider,
                planned.job.variant.model,
            )
            for planned in plan.jobs
        }
        self._kinds = state.graph.artefact_kinds
        self._upstream = state.graph.parents

    # -- scheduling ----------------------------------------------------------------------------

    async def run(self) -> dict[str, JobOutcome]:
        """Execute the plan (up to ``options.up_to_layer``), each job once its inputs are stored."""
        self._t0 = time.monotonic()
        # Storing results is fsync-bound I/O done in threads: one thread per job in flight lets the
        # durable writes overlap instead of queueing behind the default pool's few workers.
        workers = max(4, self.options.concurrency + 2)
        loop = asyncio.get_running_loop()
        prefix = f"tutopanda-run-{id(self):x}"
        # Two pools: the runner's own (storing results) and the loop's default one, where handlers'
        # asyncio.to_thread work runs. A store is always finished before the build commits; a handler
        # thread whose call was cancelled (deadline, Ctrl-C) is never waited for.
        self._store_pool = ThreadPoolExecutor(workers, f"{prefix}-store")
        self._stores = StoreQueue(self._store_many, self._store_pool, drains=workers)
        calls_pool = ThreadPoolExecutor(workers, f"{prefix}-call")
        loop.set_default_executor(calls_pool)
        finished = False
        # The blob folders are opened once for the run's thousands of puts (held_folder.py). Results
        # already handed to the store are written (and indexed) before the block ends and anything
        # commits; each takes milliseconds. Waiting blocks the loop, which has nothing left to run.
        try:
            with contextlib.ExitStack() as stack:
                stack.enter_context(paced_collections())
                stack.enter_context(self._blobs.held_folders())
                try:
                    await self._run_dataflow()
                    finished = True
                finally:
                    # A second Ctrl-C interrupts only this wait: the stores still finish, and only
                    # then are the folders they write through let go (drain_then_close).
                    drain_then_close(self._store_pool, stack.pop_all()).wait()
                    self._settle_unawaited()
        finally:
            if self._timed_out or not finished:
                # asyncio.run would wait for a thread blocked in a cancelled call before the build could
                # commit: hand the loop an empty pool instead and leave those threads behind.
                loop.set_default_executor(ThreadPoolExecutor(1, f"{prefix}-idle"))
                calls_pool.shutdown(wait=False)
                _abandoned.append(f"{prefix}-call")
        return self.outcomes

    def _settle_unawaited(self) -> None:
        """Outcomes of jobs no task settled: stored after the job was cancelled (Ctrl-C, a failed store
        elsewhere), or stopped by a storage error after some of their events were recorded. Those
        events are committed, so the run record says so too."""
        for job_id, (stored, provisional, error) in self._recorded.items():
            outcome = self.outcomes[job_id]
            if outcome.status == "not-run":
                self._settle(outcome, stored, provisional, error=error, report=False)

    def _waits_for(self, planned: list[PlannedJob]) -> dict[str, set[str]]:
        """Job id -> the planned jobs it must wait for: its nearest planned ancestors.

        A job upstream that is not in the plan (fresh) is looked through, so a planned job behind it still
        waits for the planned jobs that feed it: the trace a job computes just before its call must see
        every output this run may rewrite above it, exactly as the layer order guaranteed.
        """
        return nearest_planned_ancestors(self._upstream, {item.job.id for item in planned})

    async def _run_dataflow(self) -> None:
        """Start each job as soon as the planned jobs it reads from are done, not when a layer ends.

        The layers still bound the run (``up_to_layer``) and still name where a job sits for progress,
        but no job waits for unrelated jobs of its layer: a slow image does not hold back every narration
        of the next layer. Limits, retries and early cutoff are unchanged (they live in ``_run_job``);
        the task group cancels every job on Ctrl-C or when a store fails.

        A job's task is created when its last planned parent finishes, not up front: a 10,000-job build
        used to hold 10,000 waiting coroutines (with their events and contexts) for its whole length,
        and every full garbage collection walked them all.
        """
        cut = self.options.up_to_layer
        planned = [
            item
            for index, layer in enumerate(self.plan.layers)
            if cut is None or index <= cut
            for item in layer
        ]
        if not planned:
            return
        waits = self._waits_for(planned)
        pending = {item.job.id: len(waits[item.job.id]) for item in planned}
        followers: dict[str, list[PlannedJob]] = {}
        for item in planned:  # in plan order, so ready jobs start in plan order
            for parent in waits[item.job.id]:
                followers.setdefault(parent, []).append(item)
        self._behind = _chain_lengths([item.job.id for item in planned], followers)
        layer_sizes: dict[int, int] = {}
        for item in planned:
            layer_sizes[item.layer] = layer_sizes.get(item.layer, 0) + 1
        announced: set[int] = set()

        async with asyncio.TaskGroup() as group:

            def start(item: PlannedJob) -> None:
                group.create_task(run(item))

            async def run(item: PlannedJob) -> None:
                if self._progress and item.layer not in announced:
                    announced.add(item.layer)
                    self._progress.layer_started(item.layer, layer_sizes[item.layer])
                await self._run_job(item)  # an exception cancels the whole group: no follower starts
                task = asyncio.current_task()
                if task is not None and task.cancelling():  # a handler swallowed its cancellation:
                    raise asyncio.CancelledError  # the group is shutting down and takes no new task
                for follower in followers.pop(item.job.id, ()):
                    pending[follower.job.id] -= 1
                    if not pending[follower.job.id]:
                        start(follower)

            for item in planned:
                if not pending[item.job.id]:
                    start(item)

    async def _stored(self, function: Callable[..., _R], *args: Any) -> _R:
        """``function(*args)`` in the runner's store pool (blocking, fsync-bound I/O)."""
        if self._store_pool is None:
            raise RuntimeError("the runner stores results only while run() runs")
        return await asyncio.get_running_loop().run_in_executor(self._store_pool, function, *args)

    def _store_queue(self) -> StoreQueue[_ToStore, list[ArtefactEvent]]:
        if self._stores is None:
            raise RuntimeError("the runner stores results only while run() runs")
        return self._stores

    def _limiter(self, handler: ProviderHandler) -> _Limiter:
        """The throttle shared by every job on ``handler.limits.key``.

        Jobs' configs may override the handler's defaults with ``maxInFlight`` and ``requestsPerMinute``
        (e.g. the concurrency your provider plan allows): see :func:`config_throttles`.
        """
        limits = handler.limits
        if limits.key not in self._limiters:
            in_flight, per_minute = self._throttles.get(handler.provider, (None, None))
            self._limiters[limits.key] = _Limiter(
                in_flight if in_flight is not None else limits.max_in_flight,
                per_minute if per_minute is not None else limits.requests_per_minute,
            )
        return self._limiters[limits.key]

    async def _run_job(self, planned: PlannedJob) -> None:
        job = planned.job
        outcome = self.outcomes[job.id]
        failed_upstream = sorted(self._upstream.get(job.id, frozenset()) & self._failed_jobs)
        if failed_upstream:
            self._finish(outcome, "blocked", error=f"upstream {failed_upstream[0]} failed", failed=True)
            return
        trace = self.state.trace_of(job)
        self.state.traces[job.id] = trace
        if trace is None:
            self._finish(outcome, "blocked", error="an upstream artefact has no stored output", failed=True)
            return
        forced = job.id in self.plan.forced
        if not forced and not self.state.missing_outputs(job, trace):
            self._finish(outcome, "cached")
            return
        if self.stopped is not None:
            self._finish(outcome, "blocked", error=f"not run: {self.stopped}", failed=True)
            return
        handler = self._resolver(job.variant.provider, job.variant.model, job.kind)
        try:
            context = self._context(job, handler)
        except (TutopandaError, ValueError) as exc:  # e.g. an upstream artefact that cannot be read
            message = exc.message if isinstance(exc, TutopandaError) else f"cannot read an input: {exc}"
            await self._stored(self._record_failure, job, handler, trace, message)
            self._finish(outcome, "failed", error=message, failed=True)
            return
        result, error, attempts = await self._call_with_retries(job, handler, context, outcome)
        outcome.attempts = attempts
        if result is None and error == _NOT_STARTED:
            self._finish(outcome, "blocked", error=f"not run: {self.stopped}", failed=True)
            return
        if result is None:
            await self._stored(self._record_failure, job, handler, trace, error or "unknown error")
            handler, result, error = await self._try_fallbacks(job, handler, trace, error, outcome)
        if result is None:
            self._finish(outcome, "failed", error=error, failed=True)
            return
        outcome.cost = result.cost
        stored = await self._store_queue().store(
            _ToStore(job, handler, trace, result), priority=self._behind.get(job.id, 0)
        )
        self._settle(outcome, stored, _provisional(result))

    def _settle(
        self,
        outcome: JobOutcome,
        stored: list[ArtefactEvent],
        provisional: bool,
        *,
        error: BaseException | None = None,
        report: bool = True,
    ) -> None:
        """A stored job's outcome from its recorded events and the error that stopped its store, if any
        (``report``: tell the progress display)."""
        outcome.artefacts = [event.artefact_id for event in stored if event.status == "succeeded"]
        outcome.provisional = provisional
        failures = [event for event in stored if event.status != "succeeded"]
        message = None
        if error is not None:
            message = (
                error.message if isinstance(error, TutopandaError) else f"{type(error).__name__}: {error}"
            )
        elif failures:
            message = f"{failures[0].artefact_id}: {error_message(failures[0].diagnostics, 'failed')}"
        status: JobStatus = "failed" if message is not None else "succeeded"
        if report:
            self._finish(outcome, status, error=message, failed=message is not None)
            return
        outcome.status, outcome.error = status, message
        if message is not None:
            self._failed_jobs.add(outcome.job_id)

    def _finish(
        self, outcome: JobOutcome, status: JobStatus, *, error: str | None = None, failed: bool = False
    ) -> None:
        outcome.status = status
        outcome.error = error
        if failed:
            self._failed_jobs.add(outcome.job_id)
        if self._progress:
            self._progress.job_finished(outcome)

    # -- calling -------------------------------------------------------------------------------

    async def _call_with_retries(
        self, job: Job, handler: ProviderHandler, context: JobContext, outcome: JobOutcome
    ) -> tuple[JobResult | None, str | None, int]:
        """Call the handler, retrying retryable errors; a slot is held only while a call is in flight.

        ``outcome`` gets the time spent in calls (not waiting for a slot) and when the first call started
        and the last one ended, relative to the start of the run.
        """
        attempt = 0
        while True:
            attempt += 1
            if self.stopped is not None and attempt > 1:
                return None, f"not retried: {self.stopped}", attempt - 1
            try:
                # The provider's own limit first: a job waiting on its provider holds no global slot.
                async with self._limiter(handler), self._global:
                    if self.stopped is not None:  # refused while this job waited for a slot
                        return None, _NOT_STARTED, attempt - 1
                    if attempt == 1 and self._progress:
                        self._progress.job_started(job.id)
                    began = time.monotonic()
                    if outcome.started is None:
                        outcome.started = began - self._t0
                    deadline = call_deadline(context.config, self.options.job_timeout, job.id)
                    scope = asyncio.timeout(deadline)
                    try:
                        async with scope:
                            return await handler.produce(replace(context, attempt=attempt)), None, attempt
                    except TimeoutError:
                        if not scope.expired():
                            raise  # the handler's own TimeoutError: handled below like any error
                        # Cancelled at the deadline. Not retried: a call that hung once would most
                        # likely hang again; the next build runs the job again.
                        self._timed_out = True
                        return None, _timeout_message(deadline), attempt
                    finally:
                        ended = time.monotonic()
                        outcome.duration += ended - began
                        outcome.ended = ended - self._t0
            except ProviderAccountError as exc:
                if self.stopped is None:
                    self.stopped = f"{handler.provider} refused the account ({exc.message})"
                    self.stopped_hint = exc.hint
                return None, exc.message, attempt
            except ProviderError as exc:
                if not exc.retryable or attempt >= self.options.max_attempts:
                    return None, exc.message, attempt
                delay = self._backoff(attempt, exc.retry_after)
                self._logger.warning(
                    f"{job.id}: attempt {attempt} failed ({exc.message}); retrying in {delay:.2f}s",
                    job=job.id,
                )
                await asyncio.sleep(delay)
            except TutopandaError as exc:  # e.g. ProviderConfigError: retrying cannot help
                return None, exc.message, attempt
            except Exception as exc:  # a handler bug must not take the other jobs down
                return None, f"{type(exc).__name__}: {exc}", attempt

    async def _try_fallbacks(
        self, job: Job, failed: ProviderHandler, trace: str, error: str | None, outcome: JobOutcome
    ) -> tuple[ProviderHandler, JobResult | None, str | None]:
        """After the selected variant failed: each fallback of the run's environment, in order.

        A fallback without a handler or a secret here is skipped; one that fails is recorded like the
        primary's failure. The first success is returned with the handler that made it (its events say
        so, plus ``fallbackFrom``). Nothing is tried once the run is stopping.
        """
        handler: ProviderHandler = failed
        primary = f"{job.variant.provider}/{job.variant.model}"
        for variant in job.fallbacks_for(self.options.environment):
            if self.stopped is not None:
                break
            try:
                candidate = self._resolver(variant.provider, variant.model, job.kind)
            except TutopandaError:
                continue
            needed = getattr(candidate, "needs_secrets", ())
            if any(not self._secrets.get(name) for name in needed):
                continue
            try:
                context = self._context(job, candidate, variant)
            except (TutopandaError, ValueError):
                continue
            voice = context.inputs.get(VOICE_INPUT)
            if variant.provider != job.variant.provider and voice not in (None, "default"):
                # A voice id belongs to one provider: the fallback reads with its own (its config's) voice.
                context = replace(context, inputs={**context.inputs, VOICE_INPUT: "default"})
            self._logger.warning(
                f"{job.id}: {primary} failed ({error}); trying fallback {variant.provider}/{variant.model}",
                job=job.id,
            )
            result, fallback_error, attempts = await self._call_with_retries(job, candidate, context, outcome)
            outcome.attempts += attempts
            if result is not None:
                outcome.provider, outcome.model = candidate.provider, candidate.model
                result.diagnostics = {**result.diagnostics, "fallbackFrom": primary}
                return candidate, result, None
            await self._stored(self._record_failure, job, candidate, trace, fallback_error or "unknown error")
            handler, error = (
                candidate,
                f"{error}; fallback {variant.provider}/{variant.model}: {fallback_error}",
            )
        return handler, None, error

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        ceiling = min(self.options.backoff_max, self.options.backoff_base * (2 ** (attempt - 1)))
        delay = self._random.uniform(0, ceiling)
        return max(delay, retry_after or 0.0)

    def _input_value(self, canonical_id: str, kind_of: Mapping[str, str]) -> Any:
        if canonical_id.startswith("Input:"):
            return self._values[canonical_id]
        producer = self.state.graph.producer_of(canonical_id)
        trace = self.state.traces.get(producer.id) if producer else None
        event = self.state.index.resolve(canonical_id, trace)
        if event is None and producer is None:
            event = self.state.index.latest_success(canonical_id)
        if event is None or event.blob is None:
            raise ProviderError(f"upstream artefact {canonical_id} has no stored output")
        kind = kind_of.get(canonical_id, "binary")
        blob = event.blob
        if kind in ("text", "json"):
            data = self._fresh_text.get(blob.hash)
            return _decode(kind, data if data is not None else self._blobs.get_bytes(blob))
        path = self._blobs.path_of(blob)
        return ArtefactInput(
            canonical_id,
            kind,
            blob,
            opener=lambda: self._blobs.open(blob),
            local_path=self._ctx.backend.os_path(path),
        )

    def _context(
        self, job: Job, handler: ProviderHandler, variant: SelectedVariant | None = None
    ) -> JobContext:
        """The job's context for attempt 1 (text/JSON upstreams read now; binary ones as lazy handles)."""
        kinds = self._kinds
        inputs: dict[str, Any] = {}
        for alias, binding in job.bindings.items():
            if isinstance(binding, FanIn):
                inputs[alias] = [
                    [self._input_value(member, kinds) for member in group] for group in binding.groups()
                ]
            else:
                inputs[alias] = self._input_value(binding, kinds)
        return JobContext(
            job_id=job.id,
            kind=job.kind,
            provider=(variant or job.variant).provider,
            model=(variant or job.variant).model,
            mode=self.options.mode,
            environment=self.options.environment,
            revision=self.plan.revision,
            attempt=1,
            inputs=inputs,
            produces=tuple((artefact.id, artefact.kind) for artefact in job.produces),
            config=(variant or job.variant).config,
            prompt=(variant or job.variant).prompt,
            secrets=self._secrets,
            logger=self._logger,
            loop_indices=dict(job.loop_indices),
            progress=self._progress_reporter(job.id),
        )

    def _progress_reporter(self, job_id: str) -> Callable[[float], None]:
        sink = self._progress
        if sink is None:
            return lambda fraction: None
        return lambda fraction: sink.job_progress(job_id, min(1.0, max(0.0, fraction)))

    # -- storing -------------------------------------------------------------------------------

    def _event(
        self,
        job: Job,
        handler: ProviderHandler,
        trace: str,
        artefact_id: str,
        *,
        blob: Any = None,
        error: str | None = None,
        diagnostics: dict[str, Any] | None = None,
    ) -> ArtefactEvent:
        details = {"mode": handler.mode, "environment": handler.environment, **(diagnostics or {})}
        return artefact_event(
            artefact_id,
            status="succeeded" if error is None else "failed",
            revision=self.plan.revision,
            inputs_hash=trace,
            produced_by=job.id,
            provider=handler.provider,
            model=handler.model,
            clock=self._ctx.clock,
            blob=blob,
            diagnostics=details,
            error=error,
        )

    def _record_failure(self, job: Job, handler: ProviderHandler, trace: str, error: str) -> None:
        events = [self._event(job, handler, trace, artefact.id, error=error) for artefact in job.produces]
        self._log.append_many(events)
        for event in events:
            self.state.index.add(event)

    def _store_one(
        self,
        job: Job,
        handler: ProviderHandler,
        trace: str,
        item: ProducedArtefact,
        job_diagnostics: dict[str, Any],
        sync_later: set[str] | None = None,
    ) -> ArtefactEvent:
        diagnostics = {**job_diagnostics, **item.diagnostics}
        if item.status != "succeeded":
            return self._event(
                job, handler, trace, item.artefact_id, error=item.error or "failed", diagnostics=diagnostics
            )
        forms = sum(form is not None for form in (item.data, item.chunks, item.file))
        if forms != 1:
            return self._event(
                job,
                handler,
                trace,
                item.artefact_id,
                error=f"handler returned {forms} payload forms (expected exactly one)",
                diagnostics=diagnostics,
            )
        kind = self._kinds.get(item.artefact_id, "binary")
        try:
            if kind in ("text", "json"):  # small, and downstream jobs parse them: check before storing
                data = b"".join(item.payload_chunks())
                problem = _text_problem(kind, data)
                if problem is not None:
                    return self._event(
                        job, handler, trace, item.artefact_id, error=problem, diagnostics=diagnostics
                    )
                ref = self._blobs.put_bytes(data, item.mime_type, sync_later=sync_later)
                self._remember_text(ref.hash, data)
            else:
                ref = self._blobs.put_stream(item.payload_chunks(), item.mime_type, sync_later=sync_later)
        finally:
            if item.file is not None:  # the runner owns handler temp files (see ProducedArtefact)
                item.file.unlink(missing_ok=True)
        if ref.size == 0:
            return self._event(
                job, handler, trace, item.artefact_id, error="empty result", diagnostics=diagnostics
            )
        return self._event(job, handler, trace, item.artefact_id, blob=ref, diagnostics=diagnostics)

    def _remember_text(self, blob_hash: str, data: bytes) -> None:
        """Keep a stored text/JSON result in memory for downstream jobs (bounded: see _FRESH_TEXT_*)."""
        if len(data) > _FRESH_TEXT_MAX:
            return
        with self._fresh_text_lock:
            if blob_hash in self._fresh_text or self._fresh_text_size + len(data) > _FRESH_TEXT_TOTAL:
                return
            self._fresh_text[blob_hash] = data
            self._fresh_text_size += len(data)

    def _store_many(self, results: list[_ToStore]) -> list[list[ArtefactEvent] | BaseException]:
        """Store the artefacts of several jobs' results, then record all their events in one append.

        The blobs are durable before any event naming them is written: their folders are fsynced once
        each when the block of puts ends, then the events of every job go in one append (one fsync,
        shared with other appenders by the log's group commit). Returns each job's events (missing
        artefacts become failures), or the error that stopped its store. When the store itself fails
        (disk full), the events of the blobs already stored are still appended and the job gets the
        error: nothing paid for and stored is forgotten.
        """
        stored: list[list[ArtefactEvent]] = [[] for _ in results]
        errors: list[BaseException | None] = [None] * len(results)
        later: DeferredFolders | None = None
        try:
            with self._blobs.deferred_folder_sync() as later:
                for index, (job, handler, trace, result) in enumerate(results):
                    try:
                        self._store_artefacts(job, handler, trace, result, stored[index], later)
                    except StorageError as exc:  # disk full...: the other jobs may still store
                        errors[index] = exc
                    except Exception as exc:  # a malformed result (a handler bug): its job fails
                        message = f"{type(exc).__name__}: {exc}"
                        have = {event.artefact_id for event in stored[index]}
                        stored[index].extend(
                            self._event(job, handler, trace, artefact.id, error=message)
                            for artefact in job.produces
                            if artefact.id not in have
                        )
                    except BaseException as exc:
                        errors[index] = exc
        except BaseException as exc:  # a blob folder not made durable: its blobs are not recorded
            told = False
            for index, job_events in enumerate(stored):
                kept = [e for e in job_events if e.blob is None or not self._lost(e.blob, later)]
                if len(kept) < len(job_events):
                    job_events[:] = kept
                    errors[index], told = errors[index] or exc, True
            if not told:  # the build must stop all the same: every job of the batch is told
                errors = [error or exc for error in errors]
        events = [event for job_events in stored for event in job_events]
        if events:
            try:
                self._log.append_many(events)
            except BaseException as exc:
                return [exc] * len(results)
            for event in events:
                self.state.index.add(event)
        for (job, _, _, result), job_events, error in zip(results, stored, errors, strict=True):
            if job_events or error is None:  # what the run record says if the job is not awaited: run()
                provisional = _provisional(result)
                self._recorded[job.id] = (job_events, provisional, error)
        return [
            error if error is not None else job_events
            for job_events, error in zip(stored, errors, strict=True)
        ]

    def _lost(self, blob: BlobRef, folders: DeferredFolders | None) -> bool:
        return folders is None or self._blobs.lost_in(blob, folders)

    def _store_artefacts(
        self,
        job: Job,
        handler: ProviderHandler,
        trace: str,
        result: JobResult,
        events: list[ArtefactEvent],
        sync_later: set[str],
    ) -> None:
        """Store every artefact of ``result``, adding its event to ``events`` (in ``job.produces``
        order), also those stored before a storage error stops it.

        A producer with many outputs (the script writer's thousand texts) stores its blobs on a few
        threads at once, so their fsyncs overlap. The blob folders are fsynced when the caller's
        ``deferred_folder_sync`` block ends.
        """
        wanted = [artefact.id for artefact in job.produces]
        slots: list[ArtefactEvent | None] = [None] * len(wanted)
        try:  # (a malformed result fails here too: its files are still deleted below)
            by_id = {item.artefact_id: item for item in result.artefacts}
            job_diagnostics = dict(result.diagnostics)
            if result.cost is not None:
                job_diagnostics["cost"] = result.cost

            def store(artefact_id: str) -> ArtefactEvent:
                item = by_id.get(artefact_id)
                if item is None:
                    return self._event(
                        job, handler, trace, artefact_id, error="the handler returned no result for it"
                    )
                try:
                    return self._store_one(job, handler, trace, item, job_diagnostics, sync_later)
                except StorageError:
                    raise  # the store itself failed (disk full...): stop the build, do not blame the job
                except Exception as exc:  # a broken payload stream fails this artefact only
                    message = (
                        exc.message if isinstance(exc, ProviderError) else f"{type(exc).__name__}: {exc}"
                    )
                    return self._event(job, handler, trace, artefact_id, error=message)

            if len(wanted) < _PARALLEL_STORE_MIN:
                for index, artefact_id in enumerate(wanted):
                    slots[index] = store(artefact_id)
            else:
                self._store_parallel(wanted, store, slots)
        finally:
            events.extend(event for event in slots if event is not None)
            for item in result.artefacts:  # the runner owns handler files: stored ones are copies now
                if item.file is not None:
                    item.file.unlink(missing_ok=True)

    @staticmethod
    def _store_parallel(
        wanted: list[str], store: Callable[[str], ArtefactEvent], events: list[ArtefactEvent | None]
    ) -> None:
        """``events[i] = store(wanted[i])`` on a few threads; the first storage error is re-raised once
        every store already started has finished (their events are kept)."""
        with ThreadPoolExecutor(_STORE_THREADS, "tutopanda-store-many") as pool:
            futures = [pool.submit(store, artefact_id) for artefact_id in wanted]
            first_error: BaseException | None = None
            for index, future in enumerate(futures):
                try:
                    events[index] = future.result()
                except BaseException as exc:  # a StorageError: stop submitting, keep what is stored
                    if first_error is None:
                        first_error = exc
                        for pending in futures[index + 1 :]:
                            pending.cancel()
        if first_error is not None:
            raise first_error
