"""The planner: which jobs must run, why, in which layer, and at what expected cost.

A pure computation over the expanded job graph, the current input values, the artefact event log (as a
:class:`~tutopanda.core.engine.trace.TraceIndex`) and the current manifest. It writes nothing; the build verb
saves the plan to ``runs/<rev>-plan.json``.

Jobs are visited in dependency order. A job whose upstream producers are all fresh has a known trace
hash; it is fresh when every output resolves (a manual override, or a succeeded event with that trace).
A job downstream of a dirty one cannot know its trace yet: it is planned as *pending* ("upstream is being
rebuilt") and the runner decides at run time — if the upstream comes back with identical bytes, the trace
matches the stored one and the job is skipped without a call (early cutoff).

Every dirty job carries reasons a user can act on: an input changed, an upstream artefact changed, the
output was never built, the last attempt failed, the producer settings changed, or it was forced.

A succeeded event whose diagnostics say ``provisional: true`` is an output a handler wrote with a stand-in
because the producer it was asked for could not run (the writer chain's offline draft). It is kept and
used downstream, but it does not make its job fresh: the job is planned again with the reason
"last output was a fallback", so the real producer is asked on the next build. Core knows only the flag,
not who sets it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from tutopanda.core.blueprint import Job, JobGraph
from tutopanda.core.engine.trace import TraceIndex, job_trace, variant_trace_json
from tutopanda.core.store.events import ArtefactEvent, error_message
from tutopanda.core.store.manifest import Manifest

__all__ = [
    "BuildState",
    "DirtyReason",
    "Plan",
    "PlannedJob",
    "compute_layers",
    "compute_plan",
    "is_provisional",
]

CostEstimator = Callable[[Job], float | None]


@dataclass(frozen=True)
class DirtyReason:
    """Why a job must run. ``code`` is stable for scripts; ``detail`` names the input/artefact/error."""

    code: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class PlannedJob:
    """A dirty job in the plan. ``trace`` is None while an upstream job still has to run."""

    job: Job
    layer: int
    reasons: tuple[DirtyReason, ...]
    estimated_cost: float | None
    trace: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "jobId": self.job.id,
            "producer": f"{self.job.module}.{self.job.producer}",
            "kind": self.job.kind,
            "provider": self.job.variant.provider,
            "model": self.job.variant.model,
            "layer": self.layer,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "estimatedCost": self.estimated_cost,
            "produces": [artefact.id for artefact in self.job.produces],
        }


@dataclass
class BuildState:
    """The trace of every job as far as it is known, shared by the planner, the runner and the commit.

    ``traces[job_id]`` is the job's trace hash (None while an upstream is dirty); the artefact hash of an
    id is what :meth:`TraceIndex.resolve` finds for its producer's trace.

    ``blob_present(hash)``, when given, says whether a blob is still stored: an output whose event names
    a blob that is gone (deleted by hand, removed by ``verify --repair`` as corrupt, or by
    ``gc --prune-trace``) counts as missing, so the job runs again instead of its consumers failing on
    the absent bytes. Without it every recorded blob is assumed present.
    """

    graph: JobGraph
    index: TraceIndex
    input_hashes: Mapping[str, str]
    traces: dict[str, str | None] = field(default_factory=dict)
    _variants: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    blob_present: Callable[[str], bool] | None = None
    mode: str = "live"
    """The run mode the traces are for (``mock`` outputs never stand for ``live`` ones: see
    :func:`~tutopanda.core.engine.trace.variant_trace_json`)."""

    def artefact_event_hash(self, artefact_id: str) -> str | None:
        """The blob hash standing for ``artefact_id`` now, or None if unknown/missing."""
        producer = self.graph.producer_of(artefact_id)
        trace = self.traces.get(producer.id) if producer else None
        event = self.index.resolve(artefact_id, trace)
        if event is None and producer is None:
            event = self.index.latest_success(artefact_id)
        blob = event.blob if event else None
        return blob.hash if blob else None

    def value_hash(self, canonical_id: str) -> str | None:
        """Hash of an input value or upstream artefact, None when not known yet."""
        if canonical_id.startswith("Input:"):
            return self.input_hashes.get(canonical_id)
        return self.artefact_event_hash(canonical_id)

    def trace_of(self, job: Job) -> str | None:
        """``job``'s trace if every value it consumes is known now, else None."""
        hashes: dict[str, str] = {}
        for consumed in job.inputs:
            value = self.value_hash(consumed)
            if value is None:
                return None
            hashes[consumed] = value
        key = (job.module, job.producer)
        if key not in self._variants:  # one variant per module: serialise it once, not once per job
            self._variants[key] = variant_trace_json(job, self.mode)
        return job_trace(job, hashes.__getitem__, variant_json=self._variants[key])

    def missing_outputs(self, job: Job, trace: str) -> list[str]:
        """Outputs of ``job`` with no override and no succeeded event for ``trace``, or whose blob is gone."""
        return [a.id for a in job.produces if not self._stored(self.index.resolve(a.id, trace))]

    def _stored(self, event: ArtefactEvent | None) -> bool:
        if event is None or is_provisional(event):
            return False
        if self.blob_present is None or event.blob is None:
            return True
        return self.blob_present(event.blob.hash)


def is_provisional(event: ArtefactEvent) -> bool:
    """Whether a succeeded event was written by a stand-in and must not count as fresh (module docstring)."""
    return event.status == "succeeded" and event.diagnostics.get("provisional") is True


def compute_layers(graph: JobGraph) -> dict[str, int]:
    """Each job's layer: the length of the longest dependency path leading to it (0 for sources)."""
    upstream: dict[str, list[str]] = {}
    for source, target in graph.edges:
        upstream.setdefault(target, []).append(source)
    layers: dict[str, int] = {}
    for job in graph.jobs:  # graph.jobs is topologically ordered
        layers[job.id] = max((layers[parent] + 1 for parent in upstream.get(job.id, ())), default=0)
    return layers


@dataclass(frozen=True)
class Plan:
    """Dirty jobs by layer, with reasons and costs, for one revision of one movie."""

    movie_id: str
    revision: str
    base_revision: str | None
    base_pointer_hash: str | None
    blueprint_id: str
    created_at: str
    total_jobs: int
    layers: tuple[tuple[PlannedJob, ...], ...]
    """``layers[i]`` holds the dirty jobs of global layer ``i`` (possibly empty)."""
    forced: tuple[str, ...] = ()

    @property
    def jobs(self) -> list[PlannedJob]:
        """Every dirty job, layer by layer."""
        return [planned for layer in self.layers for planned in layer]

    @property
    def is_empty(self) -> bool:
        """True when nothing needs to run."""
        return not any(self.layers)

    @property
    def estimated_cost(self) -> float | None:
        """Sum of the known job estimates (None when no job could estimate)."""
        known = [p.estimated_cost for p in self.jobs if p.estimated_cost is not None]
        return round(sum(known), 6) if known else None

    @property
    def unpriced_jobs(self) -> int:
        """Dirty jobs whose handler gave no estimate: the estimate is a lower bound when this is > 0."""
        return sum(1 for p in self.jobs if p.estimated_cost is None)

    def to_dict(self) -> dict[str, Any]:
        by_producer: dict[str, int] = {}
        by_reason: dict[str, int] = {}
        for planned in self.jobs:
            name = f"{planned.job.module}.{planned.job.producer}"
            by_producer[name] = by_producer.get(name, 0) + 1
            for code in {reason.code for reason in planned.reasons}:
                by_reason[code] = by_reason.get(code, 0) + 1
        return {
            "movie": self.movie_id,
            "revision": self.revision,
            "baseRevision": self.base_revision,
            "basePointerHash": self.base_pointer_hash,
            "blueprint": self.blueprint_id,
            "createdAt": self.created_at,
            "summary": {
                "totalJobs": self.total_jobs,
                "dirtyJobs": len(self.jobs),
                "byProducer": by_producer,
                "byReason": by_reason,
                "estimatedCost": self.estimated_cost,
                "unpricedJobs": self.unpriced_jobs,
            },
            "forced": list(self.forced),
            "layers": [
                {"index": index, "jobs": [planned.to_dict() for planned in layer]}
                for index, layer in enumerate(self.layers)
            ],
        }


def _reasons_for_known_trace(
    job: Job, trace: str, state: BuildState, manifest: Manifest, missing: list[str]
) -> list[DirtyReason]:
    reasons: list[DirtyReason] = []
    never_built: list[str] = []
    provisional: list[str] = []
    for artefact_id in missing:
        stored = state.index.resolve(artefact_id, trace)
        if stored is not None and is_provisional(stored):
            provisional.append(artefact_id)
            continue
        if stored is not None and stored.blob is not None:  # recorded, but its blob is gone
            gone = f"{artefact_id}: its stored blob {stored.blob.hash[:12]}… is gone"
            reasons.append(DirtyReason("blob-missing", gone))
            continue
        latest = state.index.latest(artefact_id)
        if latest is None:
            never_built.append(artefact_id)
        elif latest.status == "failed" and latest.inputs_hash == trace:
            message = error_message(latest.diagnostics)
            reasons.append(DirtyReason("last-attempt-failed", f"{artefact_id}: {message}"))
    if never_built:
        more = f" and {len(never_built) - 1} more" if len(never_built) > 1 else ""
        reasons.insert(0, DirtyReason("output-missing", f"{never_built[0]}{more} never built"))
    if provisional:
        more = f" and {len(provisional) - 1} more" if len(provisional) > 1 else ""
        reasons.append(DirtyReason("provisional", f"last output was a fallback: {provisional[0]}{more}"))
    for consumed in job.inputs:
        current = state.value_hash(consumed)
        if consumed.startswith("Input:"):
            previous_input = manifest.inputs.get(consumed)
            if previous_input is not None and previous_input.hash != current:
                reasons.append(DirtyReason("input-changed", consumed))
        else:
            previous_artefact = manifest.artefacts.get(consumed)
            if previous_artefact is not None and previous_artefact.hash != current:
                reasons.append(DirtyReason("upstream-changed", consumed))
    if not reasons:
        in_manifest = all(a.id in manifest.artefacts for a in job.produces)
        reasons.append(
            DirtyReason(
                "settings-changed", "provider, model, mode, config or prompt differ from the last build"
            )
            if in_manifest
            else DirtyReason("output-missing", ", ".join(missing) + " not built with these inputs")
        )
    return reasons


def compute_plan(
    *,
    movie_id: str,
    state: BuildState,
    manifest: Manifest,
    revision: str,
    base_pointer_hash: str | None,
    created_at: str,
    forced: Collection[str] = (),
    estimate: CostEstimator | None = None,
) -> Plan:
    """Plan the next revision; fills ``state.traces`` for every job as far as it is known."""
    graph = state.graph
    layers = compute_layers(graph)
    forced_set = set(forced)
    unknown = forced_set - {job.id for job in graph.jobs}
    if unknown:
        from tutopanda.core.errors import UsageError

        raise UsageError(
            f"cannot force {sorted(unknown)[0]}: no such job in this movie",
            "use a job id from 'tutopanda build plan --json' (Producer:Module.Producer[i])",
        )
    dirty: set[str] = set()
    planned_by_layer: dict[int, list[PlannedJob]] = {}
    upstream_jobs: dict[str, set[str]] = {}
    for source, target in graph.edges:
        upstream_jobs.setdefault(target, set()).add(source)

    for job in graph.jobs:
        rebuilding = sorted(upstream_jobs.get(job.id, set()) & dirty)
        reasons: list[DirtyReason] = []
        trace: str | None = None
        if rebuilding:
            state.traces[job.id] = None
            shown = ", ".join(rebuilding[:3]) + (
                f" and {len(rebuilding) - 3} more" if len(rebuilding) > 3 else ""
            )
            reasons.append(DirtyReason("upstream-rebuilding", shown))
        else:
            trace = state.trace_of(job)
            state.traces[job.id] = trace
            if trace is None:
                reasons.append(DirtyReason("upstream-missing", "an upstream artefact has no stored output"))
            else:
                missing = state.missing_outputs(job, trace)
                if missing:
                    reasons.extend(_reasons_for_known_trace(job, trace, state, manifest, missing))
        if job.id in forced_set:
            reasons.insert(0, DirtyReason("forced", "requested with --force"))
        if reasons:
            dirty.add(job.id)
            cost = estimate(job) if estimate else None
            planned = PlannedJob(job, layers[job.id], tuple(reasons), cost, trace)
            planned_by_layer.setdefault(layers[job.id], []).append(planned)

    depth = max(layers.values(), default=-1) + 1
    return Plan(
        movie_id=movie_id,
        revision=revision,
        base_revision=None if manifest.is_empty_revision else manifest.revision,
        base_pointer_hash=base_pointer_hash,
        blueprint_id=graph.blueprint_id,
        created_at=created_at,
        total_jobs=len(graph.jobs),
        layers=tuple(tuple(planned_by_layer.get(index, ())) for index in range(depth)),
        forced=tuple(sorted(forced_set)),
    )
