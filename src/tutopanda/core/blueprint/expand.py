"""Expansion: blueprint + input values (+ variant selection) -> :class:`JobGraph`.

Why this shape: a validated blueprint already knows each module's loops and each artefact's loops, so
expansion is a single pass over modules in dependency order, emitting one job per index tuple of the
module's loops. Everything is linear in the number of jobs plus bindings (fan-in member lists are built
once per distinct consumer index and sorted once); there is no pairwise matching of instances.

Sizes are checked *before* anything is built: absurd counts raise :class:`InputValidationError` instead
of exhausting memory. Multiple variants never make expansion fail: the first is the default and an
optional selection picks another.

A selection may also name a provider/model the module does not list, when an installed
:class:`UnlistedVariants` says a handler of the module's kind exists for it (the CLI installs one backed
by the provider registry; core cannot import providers). Any model of a provider then works without
forking the blueprint.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import Any, Protocol

from tutopanda.core.blueprint.input_values import ResolvedInputs, resolve_inputs
from tutopanda.core.blueprint.job_graph import (
    Binding,
    FanIn,
    FanInMember,
    Job,
    JobGraph,
    ProducedArtefact,
    SelectedVariant,
)
from tutopanda.core.blueprint.model import ArtefactRef, Blueprint, Collect, InputRef, ModuleSpec, Variant
from tutopanda.core.blueprint.suggest import did_you_mean
from tutopanda.core.errors import InputValidationError
from tutopanda.core.limits import MAX_BINDINGS, MAX_JOBS, MAX_LOOP_COUNT

__all__ = [
    "MAX_BINDINGS",
    "MAX_JOBS",
    "MAX_LOOP_COUNT",
    "UnlistedVariants",
    "accept_unlisted_variants",
    "expand",
    "module_order",
    "select_variants",
]


class UnlistedVariants(Protocol):
    """Which provider/model pairs a selection may name beyond a module's listed variants."""

    def accepts(self, provider: str, model: str, kind: str) -> bool:
        """True when a handler of ``kind`` is registered for ``provider``/``model``."""
        ...

    def registered(self, kind: str) -> Sequence[str]:
        """``provider/model`` patterns registered for ``kind`` (named in the error hint)."""
        ...


_unlisted: UnlistedVariants | None = None


def accept_unlisted_variants(policy: UnlistedVariants | None) -> None:
    """Install (or with None remove) the process-wide :class:`UnlistedVariants` policy."""
    global _unlisted
    _unlisted = policy


def _unlisted_variant(module: ModuleSpec, provider: str, model: str) -> Variant | None:
    """A variant for an unlisted ``provider/model`` the installed policy accepts, else None.

    It takes its prompt template and config from the module's first variant of the same provider (the
    same handler reads the same keys), else it has neither.
    """
    if _unlisted is None or not _unlisted.accepts(provider, model, module.kind):
        return None
    template = next((v for v in module.variants if v.provider == provider), None)
    if template is None:
        return Variant(
            provider=provider, model=model, file=module.variants[0].file if module.variants else ""
        )
    return dataclasses.replace(template, model=model)


def _suffix(indices: tuple[int, ...]) -> str:
    return "".join(f"[{index}]" for index in indices)


def module_order(blueprint: Blueprint) -> list[ModuleSpec]:
    """Modules in dependency order; ties broken by declaration order (stable, deterministic)."""
    position = {module.name: index for index, module in enumerate(blueprint.modules)}
    downstream: dict[str, set[str]] = {module.name: set() for module in blueprint.modules}
    pending: dict[str, int] = {}
    for module in blueprint.modules:
        upstream = {
            wire.source.module for wire in module.wires.values() if not isinstance(wire.source, InputRef)
        }
        pending[module.name] = len(upstream)
        for name in upstream:
            downstream[name].add(module.name)
    ready = [position[name] for name, count in pending.items() if count == 0]
    heapq.heapify(ready)
    ordered: list[ModuleSpec] = []
    while ready:
        module = blueprint.modules[heapq.heappop(ready)]
        ordered.append(module)
        for name in downstream[module.name]:
            pending[name] -= 1
            if pending[name] == 0:
                heapq.heappush(ready, position[name])
    return ordered  # validation guarantees there is no cycle, so every module is here


def select_variants(
    blueprint: Blueprint, selection: Mapping[str, tuple[str, str]] | None
) -> dict[str, Variant]:
    """Module name -> chosen variant. Selection keys are module names (or ``Module.Producer``).

    A variant whose model is a pattern (``openai-compatible`` with model ``*``: whatever the user's
    server serves) accepts any model it matches; the chosen variant then carries that model.
    """
    chosen = {module.name: module.variants[0] for module in blueprint.modules}
    for key, (provider, model) in (selection or {}).items():
        module_name = key.removeprefix("Producer:").split(".", 1)[0]
        module = blueprint.module(module_name)
        if module is None or (key.count(".") and key.split(".", 1)[1] != module.producer.name):
            names = [item.name for item in blueprint.modules]
            raise InputValidationError(
                f"model selection names unknown producer {key!r}", did_you_mean(key, names, "producers")
            )
        provider, model = provider.strip().lower(), model.strip()
        match = [v for v in module.variants if v.provider == provider and v.model == model] or [
            dataclasses.replace(v, model=model)
            for v in module.variants
            if v.provider == provider and "*" in v.model and fnmatchcase(model, v.model)
        ]
        if not match:
            unlisted = _unlisted_variant(module, provider, model)
            if unlisted is not None:
                match = [unlisted]
        if not match:
            offered = ", ".join(f"{v.provider}/{v.model}" for v in module.variants)
            hint = f"variants of {module.name}: {offered}"
            if _unlisted is not None:
                registered = ", ".join(_unlisted.registered(module.kind))
                hint += f"; handlers registered for {module.kind} jobs: {registered or '(none)'}"
            raise InputValidationError(f"{module.name} has no variant {provider}/{model}", hint)
        chosen[module.name] = match[0]
    return chosen


def _loop_sizes(blueprint: Blueprint, inputs: ResolvedInputs) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for loop in blueprint.loops:
        count = inputs.value(f"Input:{loop.count_input}")
        if not 0 <= count <= MAX_LOOP_COUNT:
            excess = f"more than the limit of {MAX_LOOP_COUNT:,}" if count > 0 else "a negative count"
            raise InputValidationError(
                f"loop {loop.name} would repeat {count} times ({loop.count_input}={count}): {excess}",
                f"give {loop.count_input} a value between 0 and {MAX_LOOP_COUNT}",
            )
        sizes[loop.name] = count
    return sizes


def _check_size(blueprint: Blueprint, sizes: Mapping[str, int]) -> None:
    by_name = {module.name: module for module in blueprint.modules}
    jobs = bindings = 0
    for module in blueprint.modules:
        count = math.prod(sizes[name] for name in module.loops)
        per_job = sum(
            math.prod(sizes[name] for name in loops[len(module.loops) :])
            for loops in module.artefact_loops.values()
        )
        for wire in module.wires.values():
            if isinstance(wire.source, Collect):
                loops = by_name[wire.source.module].artefact_loops[wire.source.artefact]
                per_job += math.prod(sizes[name] for name in loops if name not in module.loops)
            else:
                per_job += 1
        jobs += count
        bindings += count * per_job
    counts = ", ".join(f"{loop.count_input}={sizes[loop.name]}" for loop in blueprint.loops)
    if jobs > MAX_JOBS:
        raise InputValidationError(
            f"expansion would create {jobs} jobs ({counts}), more than the cap of {MAX_JOBS}",
            "lower the loop counts",
        )
    if bindings > MAX_BINDINGS:
        raise InputValidationError(
            f"expansion would create {bindings} artefact references ({counts}), "
            f"more than the cap of {MAX_BINDINGS}",
            "lower the loop counts",
        )


class _Expander:
    """State of one expansion: artefact id -> producing job id, and the jobs/edges built so far."""

    def __init__(self, blueprint: Blueprint, inputs: ResolvedInputs, sizes: dict[str, int]) -> None:
        self.blueprint = blueprint
        self.inputs = inputs
        self.sizes = sizes
        self.producer_of: dict[str, str] = {}
        self.jobs: list[Job] = []
        self.edges: set[tuple[str, str]] = set()
        self.modules = {module.name: module for module in blueprint.modules}
        self.fan_in_cache: dict[tuple[Collect, tuple[int, ...]], FanIn] = {}

    def fan_in(self, source: Collect, where: Mapping[str, int]) -> FanIn:
        """The members of a collect for a consumer at ``where`` (cached: per-loop consumers share them)."""
        loops = self.modules[source.module].artefact_loops[source.artefact]
        target = f"{source.module}.{source.artefact}"
        key = (source, tuple(where[name] for name in loops if name in where))
        cached = self.fan_in_cache.get(key)
        if cached is not None:
            return cached
        ranges = [
            range(where[name], where[name] + 1) if name in where else range(self.sizes[name])
            for name in loops
        ]
        group_at = loops.index(source.group_by)
        order_at = loops.index(source.order_by) if source.order_by is not None else None
        tuples = sorted(
            itertools.product(*ranges),
            key=lambda idx: (idx[group_at], -1 if order_at is None else idx[order_at], idx),
        )
        members = tuple(
            FanInMember(
                f"Artifact:{target}{_suffix(idx)}", idx[group_at], None if order_at is None else idx[order_at]
            )
            for idx in tuples
        )
        fan_in = FanIn(source.group_by, source.order_by, members)
        self.fan_in_cache[key] = fan_in
        return fan_in

    def module_jobs(
        self,
        module: ModuleSpec,
        variant: SelectedVariant,
        fallbacks: Mapping[str, tuple[SelectedVariant, ...]] = MappingProxyType({}),
    ) -> None:
        inputs_sorted = sorted(module.producer.inputs, key=lambda spec: spec.name)
        counted = [
            (spec.name, spec.kind, module.artefact_loops[spec.name][len(module.loops) :])
            for spec in module.producer.artefacts
        ]
        job_prefix = f"Producer:{module.name}.{module.producer.name}"
        for indices in itertools.product(*(range(self.sizes[name]) for name in module.loops)):
            where = dict(zip(module.loops, indices, strict=True))
            suffix = _suffix(indices)
            bindings: dict[str, Binding] = {}
            consumed: set[str] = set()
            for spec in inputs_sorted:
                wire = module.wires.get(spec.name)
                source = wire.source if wire is not None else None
                if source is None or isinstance(source, InputRef):
                    input_id = (
                        f"Input:{module.name}.{spec.name}" if source is None else f"Input:{source.name}"
                    )
                    if input_id in self.inputs:
                        bindings[spec.name] = input_id
                        consumed.add(input_id)
                elif isinstance(source, ArtefactRef):
                    picked = _suffix(tuple(where[name] for name in source.indices))
                    artefact_id = f"Artifact:{source.module}.{source.artefact}{picked}"
                    bindings[spec.name] = artefact_id
                    consumed.add(artefact_id)
                else:
                    fan_in = self.fan_in(source, where)
                    bindings[spec.name] = fan_in
                    consumed.update(member.id for member in fan_in.members)
            job_id = job_prefix + suffix
            produces: list[ProducedArtefact] = []
            for name, kind, extra in counted:
                base = f"Artifact:{module.name}.{name}{suffix}"
                if not extra:
                    produces.append(ProducedArtefact(base, kind))
                else:
                    produces.extend(
                        ProducedArtefact(f"{base}[{k}]", kind) for k in range(self.sizes[extra[0]])
                    )
            for item in produces:
                self.producer_of[item.id] = job_id
            for consumed_id in consumed:
                upstream = self.producer_of.get(consumed_id)
                if upstream is not None:
                    self.edges.add((upstream, job_id))
            self.jobs.append(
                Job(
                    id=job_id,
                    module=module.name,
                    producer=module.producer.name,
                    kind=module.kind,
                    loop_indices=MappingProxyType(where),
                    indices=indices,
                    inputs=tuple(sorted(consumed)),
                    bindings=MappingProxyType(bindings),
                    produces=tuple(produces),
                    variant=variant,
                    fallbacks=fallbacks,
                )
            )


def _fallbacks(module: ModuleSpec, chosen: Variant) -> Mapping[str, tuple[SelectedVariant, ...]]:
    """The chains that list the chosen variant, without it: what to try, in order, if it fails.

    A chain is a set of interchangeable variants; a variant outside it gets no fallback, so an offline
    variant that fails never silently turns into a paid call.
    """
    by_key = {(v.provider, v.model): v for v in module.producer.variants}
    chains: dict[str, tuple[SelectedVariant, ...]] = {}
    for environment, chain in module.producer.fallbacks.items():
        if (chosen.provider, chosen.model) not in chain:
            continue
        picked = [
            SelectedVariant(v.provider, v.model, v.prompt, v.config)
            for key in chain
            if (v := by_key[key]) is not chosen
        ]
        if picked:
            chains[environment] = tuple(picked)
    return MappingProxyType(chains)


_MEMO_SIZE = 4
_memo: OrderedDict[tuple[object, ...], JobGraph] = OrderedDict()
_memo_lock = threading.Lock()


class _UnkeyableError(Exception):
    """A value the memo cannot key exactly (it is expanded without the memo)."""


def _memo_key(value: object) -> object:
    """An exact, hashable stand-in for plain data: equal keys only for equal values of equal types."""
    kind = type(value)
    if value is None or kind in (str, int, float, bool):
        return (kind.__name__, value)
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if type(key) is not str:
                raise _UnkeyableError
            items.append((key, _memo_key(item)))
        return ("map", tuple(sorted(items)))
    if isinstance(value, list | tuple) and kind in (list, tuple):
        return (kind.__name__, tuple(_memo_key(item) for item in value))
    raise _UnkeyableError


def expand(
    blueprint: Blueprint,
    values: Mapping[str, object],
    selection: Mapping[str, tuple[str, str]] | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> JobGraph:
    """Expand ``blueprint`` with user ``values`` into a job graph.

    ``values`` are raw (``--set`` text) or typed (inputs file) values keyed by input name; ``selection``
    maps a module name to ``(provider, model)`` to run a variant other than the first; ``config`` maps a
    module name to settings laid over its chosen variant's config (the movie's provider config). Config
    is part of every job's trace, so changing it re-runs exactly that module's jobs and what follows.

    The last few graphs are remembered: one command checks its values, records them, plans a preview
    and then the build, each needing the same graph — on a 1,000-segment movie each expansion is about
    0.1 s. The key is the blueprint's full ``repr`` (every field), the resolved values, the exact
    selection and config, and the installed unlisted-variant policy; the graph is immutable, so sharing
    it is safe. Where each value came from is not in the key: the jobs do not depend on it, and a new
    movie's values are defaults when they are checked but "user" once recorded, so keying on it
    expanded every new movie twice (and kept both graphs alive through its build). A hit with other
    sources gets the same jobs under its own inputs.
    """
    resolved = resolve_inputs(blueprint, values)  # "3" and 3 resolve alike: one key for both
    try:
        typed = {key: item.value for key, item in resolved.values.items()}
        key = (repr(blueprint), _memo_key(typed), _memo_key(selection), _memo_key(config), id(_unlisted))
    except _UnkeyableError:
        return _expand(blueprint, resolved, selection, config)
    with _memo_lock:
        graph = _memo.get(key)
        if graph is not None:
            _memo.move_to_end(key)
            return graph if graph.inputs == resolved else graph.with_inputs(resolved)
    graph = _expand(blueprint, resolved, selection, config)
    with _memo_lock:
        _memo[key] = graph
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return graph


def _expand(
    blueprint: Blueprint,
    resolved: ResolvedInputs,
    selection: Mapping[str, tuple[str, str]] | None,
    config: Mapping[str, Mapping[str, Any]] | None,
) -> JobGraph:
    """:func:`expand` of resolved inputs, always computed."""
    chosen = select_variants(blueprint, selection)
    sizes = _loop_sizes(blueprint, resolved)
    _check_size(blueprint, sizes)
    expander = _Expander(blueprint, resolved, sizes)
    for module in module_order(blueprint):
        variant = chosen[module.name]
        overrides = (config or {}).get(module.name)
        merged = MappingProxyType({**variant.config, **overrides}) if overrides else variant.config
        expander.module_jobs(
            module,
            SelectedVariant(variant.provider, variant.model, variant.prompt, merged),
            _fallbacks(module, variant),
        )
    position = {job.id: index for index, job in enumerate(expander.jobs)}
    edges = tuple(sorted(expander.edges, key=lambda edge: (position[edge[0]], position[edge[1]])))
    return JobGraph(
        blueprint_id=blueprint.meta.id,
        blueprint_version=blueprint.meta.version,
        loop_sizes=MappingProxyType(sizes),
        inputs=resolved,
        jobs=tuple(expander.jobs),
        edges=edges,
    )
