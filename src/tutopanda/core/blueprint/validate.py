"""Whole-blueprint checks: every reference resolves, types agree, loops nest, modules form no cycle.

Why: the TypeScript version silently dropped a connection that named something missing, so a typo
produced a movie without, say, its style. Here every wire is checked against what it names, and every
problem is a :class:`BlueprintError` at the line of the wire, loop or module at fault, with a hint.

:func:`check` also derives what expansion needs: each module's loop chain (outer-first) and each
artefact's loops (the module's chain, plus the loop that counts a counted artefact).
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from tutopanda.core.blueprint.model import (
    ArtefactRef,
    Blueprint,
    Collect,
    InputRef,
    InputSpec,
    LoopSpec,
    ModuleSpec,
    Wire,
)
from tutopanda.core.blueprint.suggest import did_you_mean
from tutopanda.core.errors import BlueprintError

__all__ = ["check", "validate_blueprint"]


def _error(message: str, hint: str, file: str, line: int | None) -> BlueprintError:
    return BlueprintError(message, hint, file=file, line=line)


def _unique_names(items: list[tuple[str, str, int | None]], what: str) -> None:
    seen: dict[str, int | None] = {}
    for name, file, line in items:
        if name in seen:
            raise _error(
                f"duplicate {what} {name!r} (first at line {seen[name]})",
                f"rename one of the two {what}s",
                file,
                line,
            )
        seen[name] = line


def _loop_chains(blueprint: Blueprint) -> dict[str, tuple[str, ...]]:
    """Loop name -> its chain of loops outer-first (ending with itself); checks counts and parents."""
    loops = {loop.name: loop for loop in blueprint.loops}
    for loop in blueprint.loops:
        count = blueprint.input(loop.count_input)
        if count is None or count.type != "int":
            problem = "is not a top-level input" if count is None else f"has type {count.type}, not int"
            ints = [spec.name for spec in blueprint.inputs if spec.type == "int"]
            raise _error(
                f"loop {loop.name}: countInput {loop.count_input!r} {problem}",
                did_you_mean(loop.count_input, ints, "int inputs"),
                loop.file,
                loop.line,
            )
        if loop.parent is not None and loop.parent not in loops:
            raise _error(
                f"loop {loop.name}: unknown parent loop {loop.parent!r}",
                did_you_mean(loop.parent, loops, "loops"),
                loop.file,
                loop.line,
            )
    chains: dict[str, tuple[str, ...]] = {}
    for loop in blueprint.loops:
        chain: list[str] = []
        current: LoopSpec | None = loop
        while current is not None:
            if current.name in chain:
                raise _error(
                    f"loop {loop.name}: parents form a cycle ({' -> '.join([*chain, current.name])})",
                    "a loop cannot be inside itself; remove one parent",
                    loop.file,
                    loop.line,
                )
            chain.append(current.name)
            current = loops[current.parent] if current.parent is not None else None
        chains[loop.name] = tuple(reversed(chain))
    return chains


def _module_chain(module: ModuleSpec, chains: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    if module.loop is None:
        return ()
    if module.loop not in chains:
        raise _error(
            f"module {module.name}: unknown loop {module.loop!r}",
            did_you_mean(module.loop, chains, "loops"),
            module.file,
            module.line,
        )
    return chains[module.loop]


def _count_loop(
    blueprint: Blueprint, module: ModuleSpec, artefact: str, count: str, chain: tuple[str, ...]
) -> str:
    """The loop counting ``module``'s artefact: same count input, directly inside the module's loop."""
    wire = module.wires.get(count)
    parent = chain[-1] if chain else None
    where = f"inside loop {parent}" if parent else "at the top level"
    if wire is None or not isinstance(wire.source, InputRef):
        raise _error(
            f"module {module.name}: artefact {artefact} is counted by input {count}, "
            "which must be wired to a top-level int input",
            f"add `{count}: <an int input that counts a loop {where}>` under the module's inputs:",
            module.file,
            wire.line if wire else module.line,
        )
    top = wire.source.name
    matches = [loop.name for loop in blueprint.loops if loop.count_input == top and loop.parent == parent]
    if len(matches) != 1:
        problem = "no loop" if not matches else f"several loops ({', '.join(matches)})"
        raise _error(
            f"module {module.name}: artefact {artefact} is counted by {top}, "
            f"but {problem} counted by {top} sits {where}",
            f"declare exactly one loop with countInput: {top}"
            + (f" and parent: {parent}" if parent else " and no parent"),
            module.file,
            wire.line,
        )
    return matches[0]


def _types_fit(source: InputSpec, target: InputSpec) -> bool:
    if target.type == source.type:
        return target.type != "list" or target.item_type == source.item_type
    return (target.type, source.type) in {("string", "enum"), ("number", "int")}


def _words_outside(source: InputSpec, target: InputSpec) -> list[str]:
    """Values ``source`` allows that ``target`` refuses (both must be closed lists to compare).

    A string target with a vocabulary wired from a plain string cannot be checked here (any text may
    come); its value is checked where the user gives it, against the source's own rules.
    """
    wanted, offered = target.allowed_values, source.allowed_values
    if wanted is None or (offered is None and target.type != "enum"):
        return []
    return [value for value in offered or () if value not in wanted]


def _check_wire(
    blueprint: Blueprint,
    module: ModuleSpec,
    wire: Wire,
    chain: tuple[str, ...],
    artefact_loops: dict[str, dict[str, tuple[str, ...]]],
) -> str | None:
    """Check one wire; return the upstream module name (for the cycle check) or None.

    The target must be an input of the module's producer; the rest depends on the source: a top-level
    input (:func:`_check_input_wire`), one artefact (:func:`_check_artefact_wire`) or a collection of
    them (:func:`_check_collect_wire`), each in its own function because each fails in its own ways.
    """
    target = module.producer.input(wire.target)
    if target is None:
        names = [spec.name for spec in module.producer.inputs]
        raise _error(
            f"module {module.name}: producer {module.producer.name} has no input {wire.target!r}",
            did_you_mean(wire.target, names, "inputs"),
            wire.file,
            wire.line,
        )
    source = wire.source
    what = f"module {module.name}: input {wire.target}"
    if isinstance(source, InputRef):
        _check_input_wire(blueprint, wire, source, target, what)
        return None
    upstream = _wired_artefact(blueprint, wire, source, target, what)
    loops = artefact_loops[upstream.name][source.artefact]
    if isinstance(source, ArtefactRef):
        _check_artefact_wire(module, wire, source, target, what, loops, chain)
    else:
        _check_collect_wire(wire, source, target, what, loops)
    return upstream.name


def _check_input_wire(
    blueprint: Blueprint, wire: Wire, source: InputRef, target: InputSpec, what: str
) -> None:
    """A wire from a top-level input: it exists, its type and values fit the target, it has a value.

    An optional input without a default may be left empty by the user, so it cannot feed a required
    producer input: the job would have nothing to read.
    """
    spec = blueprint.input(source.name)
    if spec is None:
        hint = did_you_mean(source.name, [item.name for item in blueprint.inputs], "inputs")
        if blueprint.module(source.name) is not None:
            hint = f"{source.name} is a module; name one of its artefacts, e.g. {source.name}.<Artefact>"
        raise _error(
            f"{what} is wired to {source.name!r}, which is not a top-level input",
            hint,
            wire.file,
            wire.line,
        )
    if target.is_artefact or not _types_fit(spec, target):
        raise _error(
            f"{what} has type {target.type} but input {spec.name} has type {spec.type}",
            "wire it to a source of the same type (or change one of the types)",
            wire.file,
            wire.line,
        )
    outside = _words_outside(spec, target)
    if outside:
        accepted = f"vocabulary {target.vocabulary}" if target.vocabulary else "its values"
        raise _error(
            f"{what} accepts only {accepted}, but input {spec.name} allows "
            + ", ".join(repr(value) for value in outside[:5])
            + (f" and {len(outside) - 5} more" if len(outside) > 5 else ""),
            f"give input {spec.name} vocabulary: {target.vocabulary}"
            if target.vocabulary
            else f"limit input {spec.name} to the values {wire.target} accepts",
            wire.file,
            wire.line,
        )
    if not spec.required and not spec.has_default and target.required:
        raise _error(
            f"{what} needs a value, but input {spec.name} is optional and has no default",
            f"give {spec.name} a default, or declare {wire.target} required: false in the producer",
            wire.file,
            wire.line,
        )


def _wired_artefact(
    blueprint: Blueprint, wire: Wire, source: ArtefactRef | Collect, target: InputSpec, what: str
) -> ModuleSpec:
    """The upstream module of an artefact wire, checked to make the artefact, of a kind the target takes.

    A ``string`` input also takes a ``text`` artefact (the text is its value).
    """
    upstream = blueprint.module(source.module)
    if upstream is None:
        raise _error(
            f"{what} refers to module {source.module!r}, which does not exist",
            did_you_mean(source.module, [item.name for item in blueprint.modules], "modules"),
            wire.file,
            wire.line,
        )
    produced = upstream.producer.artefact(source.artefact)
    if produced is None:
        raise _error(
            f"{what} refers to {source.module}.{source.artefact}, but {source.module} has no such artefact",
            did_you_mean(source.artefact, [item.name for item in upstream.producer.artefacts], "artefacts"),
            wire.file,
            wire.line,
        )
    kind_fits = target.type == produced.kind or (target.type == "string" and produced.kind == "text")
    if not kind_fits:
        raise _error(
            f"{what} has type {target.type} but {source.module}.{source.artefact} is {produced.kind}",
            f"declare the input with type: {produced.kind}",
            wire.file,
            wire.line,
        )
    return upstream


def _check_artefact_wire(
    module: ModuleSpec,
    wire: Wire,
    source: ArtefactRef,
    target: InputSpec,
    what: str,
    loops: tuple[str, ...],
    chain: tuple[str, ...],
) -> None:
    """A wire to one artefact: not a fan-in input, indexed by exactly the artefact's ``loops``, and
    picked inside them (the consuming module's ``chain`` runs in every loop the index names)."""
    if target.fan_in:
        raise _error(
            f"{what} is a fan-in input and needs collect:",
            f"write {wire.target}: {{collect: {source.module}.{source.artefact}, groupBy: <loop>}}",
            wire.file,
            wire.line,
        )
    if source.indices != loops:
        expected = "".join(f"[{name}]" for name in loops) or " (no index)"
        raise _error(
            f"{what}: {wire.text} must be indexed as {source.module}.{source.artefact}{expected}",
            "index an artefact by exactly its loops, outer first",
            wire.file,
            wire.line,
        )
    outside = [name for name in loops if name not in chain]
    if outside:
        raise _error(
            f"{what}: module {module.name} does not run in loop {outside[0]}, "
            f"so it cannot pick one {source.artefact}",
            f"run the module in loop {loops[-1]} or use collect: to take them all",
            wire.file,
            wire.line,
        )


def _check_collect_wire(
    wire: Wire, source: Collect, target: InputSpec, what: str, loops: tuple[str, ...]
) -> None:
    """A ``collect:`` wire: into a fan-in input, of an artefact repeated in ``loops``, grouped and
    ordered by two different loops among them."""
    if not target.fan_in:
        raise _error(
            f"{what} collects many artefacts but is not declared fanIn: true",
            "add fanIn: true to the producer input, or wire a single artefact",
            wire.file,
            wire.line,
        )
    if not loops:
        raise _error(
            f"{what}: {wire.text} is not repeated in any loop, so there is nothing to collect",
            f"wire it directly: {wire.target}: {wire.text}",
            wire.file,
            wire.line,
        )
    for key, name in (("groupBy", source.group_by), ("orderBy", source.order_by)):
        if name is not None and name not in loops:
            raise _error(
                f"{what}: {key} {name!r} is not a loop of {wire.text} (its loops: {', '.join(loops)})",
                did_you_mean(name, loops, "loops"),
                wire.file,
                wire.line,
            )
    if source.order_by == source.group_by:
        raise _error(
            f"{what}: orderBy equals groupBy", "order by an inner loop, or drop orderBy", wire.file, wire.line
        )


def _check_unwired(module: ModuleSpec) -> None:
    for spec in module.producer.inputs:
        if spec.name in module.wires or not spec.required or spec.has_default:
            continue
        source = "an artefact" if spec.is_artefact else "an input"
        raise _error(
            f"module {module.name}: required input {spec.name} of producer {module.producer.name} "
            "is not wired",
            f"add `{spec.name}: <{source}>` under the module's inputs: (or declare it required: false)",
            module.file,
            module.line,
        )


def _check_cycles(blueprint: Blueprint, upstreams: dict[str, dict[str, Wire]]) -> None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for upstream, wire in sorted(upstreams[name].items()):
            if state.get(upstream) == 1:
                cycle = [*path[path.index(upstream) :], upstream]
                raise _error(
                    f"modules form a cycle: {' -> '.join(reversed(cycle))}",
                    "a module cannot depend (even indirectly) on its own artefacts; "
                    "remove one of these wires",
                    wire.file,
                    wire.line,
                )
            if state.get(upstream) is None:
                visit(upstream)
        path.pop()
        state[name] = 2

    for module in blueprint.modules:
        if module.name not in state:
            visit(module.name)


def check(blueprint: Blueprint) -> Blueprint:
    """Validate ``blueprint`` and return it with loop chains and artefact loops filled in."""
    _unique_names([(spec.name, spec.file, spec.line) for spec in blueprint.inputs], "input")
    _unique_names([(loop.name, loop.file, loop.line) for loop in blueprint.loops], "loop")
    _unique_names([(module.name, module.file, module.line) for module in blueprint.modules], "module")
    if not blueprint.modules:
        raise _error(
            "the blueprint has no modules", "add modules: with at least one producer", blueprint.file, 1
        )
    chains = _loop_chains(blueprint)
    module_chains: dict[str, tuple[str, ...]] = {}
    artefact_loops: dict[str, dict[str, tuple[str, ...]]] = {}
    for module in blueprint.modules:
        chain = _module_chain(module, chains)
        module_chains[module.name] = chain
        artefact_loops[module.name] = {
            spec.name: chain
            + (
                (_count_loop(blueprint, module, spec.name, spec.count_input, chain),)
                if spec.count_input
                else ()
            )
            for spec in module.producer.artefacts
        }
    upstreams: dict[str, dict[str, Wire]] = {}
    for module in blueprint.modules:
        _check_unwired(module)
        upstreams[module.name] = {}
        for wire in module.wires.values():
            upstream = _check_wire(blueprint, module, wire, module_chains[module.name], artefact_loops)
            if upstream is not None:
                upstreams[module.name].setdefault(upstream, wire)
    _check_cycles(blueprint, upstreams)
    modules = tuple(
        dataclasses.replace(
            module,
            loops=module_chains[module.name],
            artefact_loops=MappingProxyType(artefact_loops[module.name]),
        )
        for module in blueprint.modules
    )
    return dataclasses.replace(blueprint, modules=modules)


def validate_blueprint(blueprint: Blueprint) -> None:
    """Raise :class:`BlueprintError` if ``blueprint`` is invalid (loading already does this)."""
    check(blueprint)
