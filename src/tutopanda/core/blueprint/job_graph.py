"""The producer job graph: the output contract of blueprint expansion.

Why a contract of its own: the planner, runner, manifests and ``tutopanda blueprints expand`` all read
this graph, and later issues hash jobs to decide what is dirty. So every record here is immutable,
uses only canonical ids (``Input:Name``, ``Input:Module.Name``, ``Artifact:Module.Name[i][j]``,
``Producer:Module.Producer[i]``), and :meth:`JobGraph.to_dict` is deterministic: the same blueprint and
values always give byte-identical JSON.

A job's ``inputs`` lists *every* id it consumes, fan-in members included, so replacing one narration
clip dirties the timeline (the TypeScript version listed only the timeline's own inputs).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from tutopanda.core.blueprint.input_values import ResolvedInputs
from tutopanda.core.blueprint.model import thaw

__all__ = ["Binding", "FanIn", "FanInMember", "Job", "JobGraph", "ProducedArtefact", "SelectedVariant"]


@dataclass(frozen=True, slots=True)
class FanInMember:
    """One collected artefact with its group index (``group_by`` loop) and order index (or None)."""

    id: str
    group: int
    order: int | None


@dataclass(frozen=True, slots=True)
class FanIn:
    """A fan-in binding: members in order (by group, then order, then their remaining indices)."""

    group_by: str
    order_by: str | None
    members: tuple[FanInMember, ...]

    def groups(self) -> list[list[str]]:
        """Member ids grouped by ``group_by`` index, groups in index order (what a timeline lays out)."""
        grouped: dict[int, list[str]] = {}
        for member in self.members:
            grouped.setdefault(member.group, []).append(member.id)
        return [grouped[key] for key in sorted(grouped)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "groupBy": self.group_by,
            "orderBy": self.order_by,
            "members": [{"id": m.id, "group": m.group, "order": m.order} for m in self.members],
        }


Binding = str | FanIn
"""What a producer input alias is bound to: one canonical id, or a fan-in of many."""


@dataclass(frozen=True, slots=True)
class ProducedArtefact:
    """An artefact a job produces: canonical id and kind (text, json, image, audio, video)."""

    id: str
    kind: str


@dataclass(frozen=True, slots=True)
class SelectedVariant:
    """The variant a job runs with: provider, model, prompt template text (or None) and frozen config."""

    provider: str
    model: str
    prompt: str | None
    config: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "provider": self.provider,
            "model": self.model,
            "prompt": self.prompt,
            "config": thaw(self.config),
        }


@dataclass(frozen=True, slots=True)
class Job:
    """One producer instance: one provider call when it runs.

    ``loop_indices`` maps loop name -> index; ``indices`` is the same, outer loop first. ``inputs`` are
    every canonical id consumed (sorted, fan-in members included); ``bindings`` map each producer input
    alias to what it receives.
    """

    id: str
    module: str
    producer: str
    kind: str
    loop_indices: Mapping[str, int]
    indices: tuple[int, ...]
    inputs: tuple[str, ...]
    bindings: Mapping[str, Binding]
    produces: tuple[ProducedArtefact, ...]
    variant: SelectedVariant
    fallbacks: Mapping[str, tuple[SelectedVariant, ...]] = field(default_factory=lambda: MappingProxyType({}))
    """Environment -> variants to try, in order, when ``variant`` fails the job. Not part of the trace:
    the outputs count for the job whichever of them made them (each event records who did)."""

    def fallbacks_for(self, environment: str) -> tuple[SelectedVariant, ...]:
        """The fallback chain for ``environment`` (else the ``*`` one; empty when there is none)."""
        return self.fallbacks.get(environment) or self.fallbacks.get("*") or ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``blueprints expand`` prints for each job)."""
        data = self._dict()
        if self.fallbacks:
            data["fallbacks"] = {
                env: [f"{item.provider}/{item.model}" for item in chain]
                for env, chain in self.fallbacks.items()
            }
        return data

    def _dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "module": self.module,
            "producer": self.producer,
            "kind": self.kind,
            "loops": dict(self.loop_indices),
            "indices": list(self.indices),
            "inputs": list(self.inputs),
            "bindings": {
                alias: ({"fanIn": bound.to_dict()} if isinstance(bound, FanIn) else bound)
                for alias, bound in self.bindings.items()
            },
            "produces": [{"id": item.id, "kind": item.kind} for item in self.produces],
            "variant": self.variant.to_dict(),
        }


@dataclass(frozen=True)
class JobGraph:
    """Jobs in a deterministic topological order, job->job edges, and the input values used.

    Lookups (:meth:`job`, :meth:`producer_of`, :meth:`consumers_of`) are dictionary-backed: O(1).
    """

    blueprint_id: str
    blueprint_version: str
    loop_sizes: Mapping[str, int]
    inputs: ResolvedInputs
    jobs: tuple[Job, ...]
    edges: tuple[tuple[str, str], ...]
    _by_id: dict[str, Job] = field(init=False, repr=False, compare=False)
    _producer: dict[str, Job] = field(init=False, repr=False, compare=False)
    _consumers: dict[str, list[Job]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id = {job.id: job for job in self.jobs}
        producer = {item.id: job for job in self.jobs for item in job.produces}
        consumers: dict[str, list[Job]] = {}
        for job in self.jobs:
            for consumed in job.inputs:
                consumers.setdefault(consumed, []).append(job)
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_producer", producer)
        object.__setattr__(self, "_consumers", consumers)

    def with_inputs(self, inputs: ResolvedInputs) -> JobGraph:
        """This graph with ``inputs`` in place of its own: the same values from other sources (a
        default later recorded as the user's). Jobs, edges and every lookup are shared, not rebuilt."""
        twin = copy.copy(self)
        object.__setattr__(twin, "inputs", inputs)
        return twin

    def job(self, job_id: str) -> Job:
        """The job with id ``Producer:...`` (KeyError if there is none)."""
        return self._by_id[job_id]

    def producer_of(self, artefact_id: str) -> Job | None:
        """The job that produces ``Artifact:...``, or None if no job does."""
        return self._producer.get(artefact_id)

    def consumers_of(self, canonical_id: str) -> tuple[Job, ...]:
        """Jobs that consume an artefact or input id (fan-in members included), in job order."""
        return tuple(self._consumers.get(canonical_id, ()))

    @cached_property
    def parents(self) -> Mapping[str, frozenset[str]]:
        """Job id -> the ids of the jobs it reads from (made once per graph: a runner per batch of a
        durable build asked the whole graph again each time)."""
        parents: dict[str, set[str]] = {}
        for source, target in self.edges:
            parents.setdefault(target, set()).add(source)
        return {job_id: frozenset(found) for job_id, found in parents.items()}

    @cached_property
    def artefact_kinds(self) -> Mapping[str, str]:
        """Artefact id -> its kind (``text``, ``json``, ``image``...), for every artefact a job makes."""
        return {item.id: item.kind for job in self.jobs for item in job.produces}

    @property
    def order(self) -> tuple[str, ...]:
        """Job ids in execution order (dependencies first)."""
        return tuple(job.id for job in self.jobs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{blueprint, loops, inputs, jobs, edges}`` (see docs/blueprints.md)."""
        return {
            "blueprint": {"id": self.blueprint_id, "version": self.blueprint_version},
            "loops": dict(self.loop_sizes),
            "inputs": self.inputs.to_dict(),
            "jobs": [job.to_dict() for job in self.jobs],
            "edges": [[source, target] for source, target in self.edges],
        }
