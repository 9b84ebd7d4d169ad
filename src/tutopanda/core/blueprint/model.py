"""The parsed blueprint: plain, immutable records that remember where in which file they were written.

Why a separate model: the YAML text is what users edit, but every later stage (validation, expansion,
``blueprints describe``, the planner) wants typed records, not dictionaries. Each record carries
``file`` and ``line`` so any later check can still point the user at the exact place to fix.

Vocabulary (see ``docs/blueprints.md``):

* an **input** is a typed value given by the user (or a default);
* an **artefact** is something a producer generates; it has a ``kind`` (text, json, image, audio, video);
* a **loop** repeats things ``countInput`` times; a loop may sit inside a ``parent`` loop;
* a **module** is one use of a producer definition inside a blueprint: it names the producer instance,
  says which loop it runs in and wires each of the producer's inputs to a source;
* a **variant** is one way to run a producer (provider, model, prompt template, config). The first
  variant is the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from tutopanda.core.blueprint.vocabulary import find_vocabulary

__all__ = [
    "ARTEFACT_KINDS",
    "PRODUCER_KINDS",
    "VALUE_TYPES",
    "ArtefactRef",
    "ArtefactSpec",
    "Blueprint",
    "Collect",
    "InputRef",
    "InputSpec",
    "LoopSpec",
    "Meta",
    "ModuleSpec",
    "ProducerDef",
    "Source",
    "Variant",
    "Wire",
    "freeze",
    "thaw",
]

VALUE_TYPES: tuple[str, ...] = ("string", "int", "number", "bool", "enum", "list")
"""Types a user can give a value for (on the command line or in an inputs file)."""

ARTEFACT_KINDS: tuple[str, ...] = ("text", "json", "image", "audio", "video")
"""Kinds of generated artefacts; a producer input fed by an artefact declares one of these as its type."""

PRODUCER_KINDS: tuple[str, ...] = (
    "script",
    "narration",
    "image-prompt",
    "image",
    "video-prompt",
    "video",
    "music-prompt",
    "music",
    "clip",
    "timeline",
    "export",
)
"""What a producer does; provider registries map (kind, provider, model) to a handler."""


def freeze(value: Any) -> Any:
    """A deep read-only copy of YAML/JSON data: mappings become sorted ``MappingProxyType``, lists tuples.

    Jobs and blueprints are shared and later hashed, so nothing reachable from them may be mutable.
    """
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(value[key]) for key in sorted(value)})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """Plain ``dict``/``list`` data (JSON-ready) from a :func:`freeze` result."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(item) for item in value]
    return value


@dataclass(frozen=True)
class Meta:
    """Who the blueprint is: ``id`` (what ``list`` shows), a display ``name``, a description, a version."""

    id: str
    name: str
    description: str
    version: str


@dataclass(frozen=True)
class InputSpec:
    """A typed input, top-level or declared by a producer.

    ``type`` is one of :data:`VALUE_TYPES`, or (producer inputs only) an artefact kind, meaning the input
    must be wired to an artefact of that kind. ``required`` is true when there is no default and the
    author did not write ``required: false``. ``minimum``/``maximum`` bound int/number values,
    ``values`` lists enum choices, ``item_type`` types list items, ``pattern`` is a regex a string value
    must match in full. ``vocabulary`` names a shared word list of :mod:`tutopanda.core.blueprint.vocabulary`
    (``style``, ``language``, ...): an enum takes its choices from it, a string must be one of its
    words. ``fan_in`` marks a producer input that collects many artefacts (see :class:`Collect`).
    """

    name: str
    type: str
    description: str = ""
    default: Any = None
    has_default: bool = False
    required: bool = True
    values: tuple[str, ...] | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    item_type: str | None = None
    pattern: str | None = None
    vocabulary: str | None = None
    fan_in: bool = False
    file: str = ""
    line: int | None = None

    @property
    def is_artefact(self) -> bool:
        """True when the input is fed by an artefact rather than a user value."""
        return self.type in ARTEFACT_KINDS

    @property
    def allowed_values(self) -> tuple[str, ...] | None:
        """Every value the input accepts when that is a closed list (enum choices or vocabulary words)."""
        if self.values is not None:
            return self.values
        found = find_vocabulary(self.vocabulary) if self.vocabulary else None
        return found.words if found is not None else None


@dataclass(frozen=True)
class ArtefactSpec:
    """An artefact a producer makes. With ``count_input`` one job makes that many of it (one more index)."""

    name: str
    kind: str
    description: str = ""
    count_input: str | None = None
    file: str = ""
    line: int | None = None


@dataclass(frozen=True)
class Variant:
    """One way to run a producer. ``prompt`` is the template text (``{{Input}}`` placeholders) or None."""

    provider: str
    model: str
    prompt: str | None = None
    prompt_file: str | None = None
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    file: str = ""
    line: int | None = None


@dataclass(frozen=True)
class ProducerDef:
    """A reusable producer definition (a module file, or a module's inline ``define:``)."""

    name: str
    kind: str
    description: str
    inputs: tuple[InputSpec, ...]
    artefacts: tuple[ArtefactSpec, ...]
    variants: tuple[Variant, ...]
    file: str = ""
    line: int | None = None
    fallbacks: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=lambda: MappingProxyType({}))
    """Run environment (``local``, ``cloud`` or ``*``) -> ordered ``(provider, model)`` variants to try
    when the selected one fails a job (see ``docs/blueprints.md``, "Fallbacks")."""

    def input(self, name: str) -> InputSpec | None:
        """The declared input called ``name``, if any."""
        return next((spec for spec in self.inputs if spec.name == name), None)

    def artefact(self, name: str) -> ArtefactSpec | None:
        """The declared artefact called ``name``, if any."""
        return next((spec for spec in self.artefacts if spec.name == name), None)


@dataclass(frozen=True)
class InputRef:
    """Source: the top-level input ``name``."""

    name: str


@dataclass(frozen=True)
class ArtefactRef:
    """Source: one instance of ``module.artefact``, indexed by the consumer's loops (``[segment][image]``)."""

    module: str
    artefact: str
    indices: tuple[str, ...]


@dataclass(frozen=True)
class Collect:
    """Source of a fan-in input: every instance of ``module.artefact`` that matches the consumer's loops.

    Members are grouped by the ``group_by`` loop's index and, within a group, ordered by ``order_by``'s.
    """

    module: str
    artefact: str
    group_by: str
    order_by: str | None = None


Source = InputRef | ArtefactRef | Collect


@dataclass(frozen=True)
class Wire:
    """``target`` (an input of the module) is fed from ``source``; ``text`` is what the author wrote."""

    target: str
    source: Source
    text: str
    file: str = ""
    line: int | None = None


@dataclass(frozen=True)
class LoopSpec:
    """A loop repeated ``count_input`` times (an int input), optionally inside ``parent``."""

    name: str
    count_input: str
    parent: str | None = None
    description: str = ""
    file: str = ""
    line: int | None = None


@dataclass(frozen=True)
class ModuleSpec:
    """One producer instance in a blueprint.

    ``loop`` is the innermost loop the producer runs in (one job per index); ``loops`` is the full chain
    outer-first. ``artefact_loops`` gives each artefact's loops, outer-first: the module's chain plus,
    for a counted artefact, the loop that counts it. ``uses`` is what the author wrote in ``use:``.
    """

    name: str
    producer: ProducerDef
    wires: Mapping[str, Wire]
    loop: str | None = None
    loops: tuple[str, ...] = ()
    artefact_loops: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    uses: str | None = None
    file: str = ""
    line: int | None = None

    @property
    def kind(self) -> str:
        """The producer kind (script, narration, ...)."""
        return self.producer.kind

    @property
    def variants(self) -> tuple[Variant, ...]:
        """The producer's variants; the first is the default."""
        return self.producer.variants


@dataclass(frozen=True)
class Blueprint:
    """A loaded and validated blueprint: everything ``describe`` shows and ``expand`` needs."""

    meta: Meta
    inputs: tuple[InputSpec, ...]
    loops: tuple[LoopSpec, ...]
    modules: tuple[ModuleSpec, ...]
    file: str = ""

    def input(self, name: str) -> InputSpec | None:
        """The top-level input called ``name``, if any."""
        return next((spec for spec in self.inputs if spec.name == name), None)

    def loop(self, name: str) -> LoopSpec | None:
        """The loop called ``name``, if any."""
        return next((spec for spec in self.loops if spec.name == name), None)

    def module(self, name: str) -> ModuleSpec | None:
        """The module called ``name``, if any."""
        return next((spec for spec in self.modules if spec.name == name), None)

    def unwired_inputs(self) -> list[tuple[ModuleSpec, InputSpec]]:
        """Producer inputs left unwired that take a user value: they become ``Input:Module.Name``."""
        return [
            (module, spec)
            for module in self.modules
            for spec in module.producer.inputs
            if spec.name not in module.wires and not spec.is_artefact and not spec.fan_in
        ]
