"""Located YAML data -> model records, checking the shape of every field where it is written.

Why separate from :mod:`validate`: this module only needs one mapping at a time (is ``type`` a known type,
does the default fit it, is ``min <= max``), while validation needs the whole blueprint (does the module
named in a reference exist, is there a cycle). Every error is a :class:`BlueprintError` with the file,
the line of the offending key and a hint; unknown keys get a "did you mean" so a typo never silently
drops a field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from tutopanda.core.blueprint.input_values import coerce_value
from tutopanda.core.blueprint.located_yaml import LocatedDict, line_of
from tutopanda.core.blueprint.model import (
    ARTEFACT_KINDS,
    PRODUCER_KINDS,
    VALUE_TYPES,
    ArtefactRef,
    ArtefactSpec,
    Collect,
    InputRef,
    InputSpec,
    LoopSpec,
    Meta,
    ProducerDef,
    Source,
    Variant,
    Wire,
    freeze,
)
from tutopanda.core.blueprint.reader import NAME_PATTERN, Reader, number, shown
from tutopanda.core.blueprint.suggest import did_you_mean
from tutopanda.core.blueprint.vocabulary import find_vocabulary, vocabulary_names
from tutopanda.core.errors import InputValidationError

__all__ = [
    "PLACEHOLDER",
    "parse_input",
    "parse_loop",
    "parse_meta",
    "parse_producer",
    "parse_source",
    "parse_variant",
]

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
"""A ``{{Variable}}`` placeholder in a prompt template."""

_REFERENCE = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\.([A-Za-z][A-Za-z0-9_]*)((?:\[[A-Za-z][A-Za-z0-9_]*\])*)")
_INPUT_KEYS = {
    "name",
    "type",
    "description",
    "default",
    "required",
    "values",
    "min",
    "max",
    "items",
    "pattern",
    "vocabulary",
}
_ITEM_TYPES = ("string", "int", "number", "bool", "enum")


def _choices(reader: Reader, data: LocatedDict, what: str) -> tuple[str, ...] | None:
    if "values" not in data:
        return None
    raw = reader.sequence(data["values"], f"{what}: values", line_of(data, "values"))
    if not raw or not all(isinstance(item, str) for item in raw) or len(set(raw)) != len(raw):
        raise reader.error(
            f"{what}: values must be a non-empty list of distinct texts",
            'list the choices, e.g. values: [child, teen, adult] (quote choices like "16:9")',
            line_of(data, "values"),
        )
    return tuple(raw)


def _vocabulary(reader: Reader, data: LocatedDict, what: str) -> str | None:
    """The ``vocabulary:`` name, which must be one of :mod:`tutopanda.core.blueprint.vocabulary`'s."""
    if "vocabulary" not in data:
        return None
    name = reader.text(data, "vocabulary", what, required=True).strip()
    if find_vocabulary(name) is None:
        raise reader.error(
            f"{what}: unknown vocabulary {name!r}",
            did_you_mean(name, vocabulary_names(), "vocabularies") + " (or list the choices with values:)",
            line_of(data, "vocabulary"),
        )
    return name


def parse_input(reader: Reader, data: Any, line: int | None, *, producer: bool) -> InputSpec:
    """One input declaration; ``producer`` allows artefact-kind types and ``fanIn``.

    The fields are checked in the order a reader meets them (name, type, choices, bounds, pattern,
    default), so the first error reported is the first problem in the declaration.
    """
    data = reader.mapping(data, "an input", line)
    allowed = _INPUT_KEYS | ({"fanIn"} if producer else set())
    name = reader.name(data, "name", "an input")
    what = f"input {name}"
    reader.keys(data, allowed, what)
    kind, fan_in = _input_type(reader, data, what, producer=producer)
    values = _choices(reader, data, what)
    vocabulary = _vocabulary(reader, data, what)
    item_type = reader.text(data, "items", what) or None
    _check_type_options(reader, data, what, kind, values, item_type, vocabulary)
    words = find_vocabulary(vocabulary) if vocabulary is not None else None
    if words is not None and "enum" in (kind, item_type):
        values = words.words  # an enum's choices are the vocabulary's words
    minimum, maximum = _bounds(reader, data, what)
    pattern = _pattern(reader, data, what)
    has_default = "default" in data
    required_written = data.get("required")
    required = reader.flag(data, "required", what, not has_default)
    if has_default and required_written is True:
        raise reader.error(
            f"{what} is required but has a default",
            "remove required: true (or the default)",
            line_of(data, "required"),
        )
    spec = InputSpec(
        name=name,
        type=kind,
        description=reader.text(data, "description", what),
        has_default=has_default,
        required=required,
        values=values,
        minimum=minimum,
        maximum=maximum,
        item_type=item_type,
        pattern=pattern,
        vocabulary=vocabulary,
        fan_in=fan_in,
        file=reader.file,
        line=data.line,
    )
    return _with_default(reader, data, spec, what) if has_default else spec


def _input_type(reader: Reader, data: LocatedDict, what: str, *, producer: bool) -> tuple[str, bool]:
    """An input's ``type`` and ``fanIn``: artefact types (and so fan-in) only on a producer's inputs.

    A top-level input takes a user's value, so an artefact type there gets its own hint rather than a
    "did you mean".
    """
    kind = reader.text(data, "type", what, required=True)
    types = VALUE_TYPES + (ARTEFACT_KINDS if producer else ())
    if kind not in types:
        hint = did_you_mean(kind, types, "types")
        if kind in ARTEFACT_KINDS:
            hint = "top-level inputs take user values; artefact types belong to producer inputs"
        raise reader.error(f"{what}: unknown type {kind!r}", hint, line_of(data, "type"))
    fan_in = reader.flag(data, "fanIn", what, False)
    if fan_in and kind not in ARTEFACT_KINDS:
        raise reader.error(
            f"{what}: fanIn needs an artefact type",
            f"use one of {', '.join(ARTEFACT_KINDS)}",
            line_of(data, "fanIn"),
        )
    return kind, fan_in


def _bounds(reader: Reader, data: LocatedDict, what: str) -> tuple[float | None, float | None]:
    """``min`` and ``max``, refused when crossed (no value could ever be accepted)."""
    minimum, maximum = number(reader, data, "min", what), number(reader, data, "max", what)
    if minimum is not None and maximum is not None and minimum > maximum:
        raise reader.error(
            f"{what}: min {minimum} is greater than max {maximum}", "swap min and max", line_of(data, "min")
        )
    return minimum, maximum


def _pattern(reader: Reader, data: LocatedDict, what: str) -> str | None:
    """``pattern``, compiled once here so a bad regular expression is a blueprint error, not a crash later."""
    pattern = reader.text(data, "pattern", what) or None
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise reader.error(
                f"{what}: invalid pattern: {exc}",
                "write a Python regular expression",
                line_of(data, "pattern"),
            ) from None
    return pattern


def _with_default(reader: Reader, data: LocatedDict, spec: InputSpec, what: str) -> InputSpec:
    """``spec`` with its ``default`` coerced by the input's own rules, checked once the spec is whole.

    The default is coerced by the same function as a user's value, so a default that would be refused
    as a value is refused where it is written. An artefact-fed input takes no default: it is produced.
    """
    if spec.type in ARTEFACT_KINDS:
        raise reader.error(
            f"{what} is fed by an artefact and cannot have a default",
            "remove the default",
            line_of(data, "default"),
        )
    try:
        default = coerce_value(spec, data["default"])
    except InputValidationError as exc:
        raise reader.error(
            f"{what}: default does not fit its type: {exc.message}",
            exc.hint or "fix the default",
            line_of(data, "default"),
        ) from None
    return InputSpec(**{**spec.__dict__, "default": default})


def _check_type_options(
    reader: Reader,
    data: LocatedDict,
    what: str,
    kind: str,
    values: tuple[str, ...] | None,
    item_type: str | None,
    vocabulary: str | None,
) -> None:
    enum_like = kind == "enum" or (kind == "list" and item_type == "enum")
    worded = kind in {"enum", "string"} or (kind == "list" and item_type in {"enum", "string"})
    if values is not None and vocabulary is not None:
        raise reader.error(
            f"{what}: give values or vocabulary, not both",
            f"keep vocabulary: {vocabulary} (its words are the choices) or list the values yourself",
            line_of(data, "vocabulary"),
        )
    if vocabulary is not None and not worded:
        raise reader.error(
            f"{what}: vocabulary only applies to enum and string inputs",
            "use type: enum (or string), or remove vocabulary",
            line_of(data, "vocabulary"),
        )
    if vocabulary is not None and "pattern" in data:
        raise reader.error(
            f"{what}: pattern and vocabulary together",
            f"remove pattern: vocabulary {vocabulary} already fixes the allowed values",
            line_of(data, "pattern"),
        )
    if enum_like and values is None and vocabulary is None:
        raise reader.error(
            f"{what}: an enum needs its values",
            "add values: [choice1, choice2], or vocabulary: <name> for a shared list (e.g. style)",
            data.line,
        )
    if values is not None and not enum_like:
        raise reader.error(
            f"{what}: values only apply to type enum",
            "use type: enum or remove values",
            line_of(data, "values"),
        )
    if item_type is not None and (kind != "list" or item_type not in _ITEM_TYPES):
        raise reader.error(
            f"{what}: items {item_type!r} needs type list and one of {', '.join(_ITEM_TYPES)}",
            "fix items or type",
            line_of(data, "items"),
        )
    ranged = kind in {"int", "number"} or (kind == "list" and item_type in {"int", "number"})
    for key in ("min", "max"):
        if key in data and not ranged:
            raise reader.error(
                f"{what}: {key} only applies to int and number inputs", f"remove {key}", line_of(data, key)
            )
    if "pattern" in data and kind != "string" and item_type != "string":
        raise reader.error(
            f"{what}: pattern only applies to string inputs", "remove pattern", line_of(data, "pattern")
        )


def parse_loop(reader: Reader, data: Any, line: int | None) -> LoopSpec:
    """One loop declaration (``name``, ``countInput``, optional ``parent``)."""
    data = reader.mapping(data, "a loop", line)
    name = reader.name(data, "name", "a loop")
    reader.keys(data, {"name", "countInput", "parent", "description"}, f"loop {name}")
    count = reader.name(data, "countInput", f"loop {name}")
    parent = reader.name(data, "parent", f"loop {name}") if data.get("parent") is not None else None
    return LoopSpec(
        name, count, parent, reader.text(data, "description", f"loop {name}"), reader.file, data.line
    )


def parse_meta(reader: Reader, data: Any, line: int | None) -> Meta:
    """The ``meta`` block; ``name`` defaults to ``id``."""
    data = reader.mapping(data, "meta", line)
    reader.keys(data, {"id", "name", "description", "version"}, "meta")
    ident = reader.text(data, "id", "meta", required=True)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", ident):
        raise reader.error(
            f"meta: id {ident!r} is not a valid id",
            "use letters, digits, - _ . (e.g. image-audio)",
            line_of(data, "id"),
        )
    return Meta(
        ident,
        reader.text(data, "name", "meta", default=ident),
        reader.text(data, "description", "meta"),
        reader.text(data, "version", "meta", default="1"),
    )


def parse_source(reader: Reader, target: str, raw: Any, line: int | None) -> Wire:
    """A wiring value: ``InputName``, ``Module.Artefact[loop]...`` or ``{collect, groupBy, orderBy}``."""
    source: Source
    if isinstance(raw, LocatedDict):
        reader.keys(raw, {"collect", "groupBy", "orderBy"}, f"the source of {target}")
        collected = reader.text(raw, "collect", f"the source of {target}", required=True)
        match = _REFERENCE.fullmatch(collected)
        if match is None or match.group(3):
            raise reader.error(
                f"collect {collected!r} is not of the form Module.Artefact",
                "write collect: Narration.SegmentAudio",
                line_of(raw, "collect"),
            )
        group_by = reader.name(raw, "groupBy", f"the source of {target}")
        order_by = (
            reader.name(raw, "orderBy", f"the source of {target}") if raw.get("orderBy") is not None else None
        )
        source = Collect(match.group(1), match.group(2), group_by, order_by)
        text = collected
    elif isinstance(raw, str):
        text = raw.strip()
        match = _REFERENCE.fullmatch(text)
        if NAME_PATTERN.fullmatch(text):
            source = InputRef(text)
        elif match is not None:
            indices = tuple(re.findall(r"\[([^\]]+)\]", match.group(3)))
            source = ArtefactRef(match.group(1), match.group(2), indices)
        else:
            raise reader.error(
                f"source {raw!r} of {target} is not an input name or Module.Artefact[loop] reference",
                "write e.g. NumOfSegments, Script.MovieSummary or Script.NarrationScript[segment]",
                line,
            )
    else:
        raise reader.error(
            f"source of {target} must be text or a collect: mapping, got {shown(raw)}",
            "write e.g. Text: Script.NarrationScript[segment]",
            line,
        )
    return Wire(target, source, text, reader.file, line)


def _prompt_placeholders(reader: Reader, variant: Variant, names: set[str], line: int | None) -> None:
    for placeholder in PLACEHOLDER.findall(variant.prompt or ""):
        if placeholder not in names:
            where = f" (in {variant.prompt_file})" if variant.prompt_file else ""
            raise reader.error(
                f"prompt of variant {variant.provider}/{variant.model} uses {{{{{placeholder}}}}}{where}, "
                "which is not an input",
                did_you_mean(placeholder, names, "inputs"),
                line,
            )


def _plain_data(reader: Reader, value: Any, line: int | None) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _plain_data(reader, item, line)
    elif isinstance(value, list):
        for item in value:
            _plain_data(reader, item, line)
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise reader.error(
            f"config value {value!r} is not plain data", "quote dates and other special values", line
        )
    elif isinstance(value, float) and not math.isfinite(value):
        raise reader.error("config holds NaN or infinity", "use a finite number", line)


def parse_variant(
    reader: Reader,
    data: Any,
    line: int | None,
    read_prompt: Callable[[str, int | None], str],
    input_names: set[str],
) -> Variant:
    """One model variant; ``read_prompt(path, line)`` loads a ``promptFile`` relative to this file.

    Every ``{{Placeholder}}`` in the prompt must name one of ``input_names`` (the producer's inputs).
    """
    data = reader.mapping(data, "a variant", line)
    reader.keys(data, {"provider", "model", "prompt", "promptFile", "config"}, "a variant")
    provider = reader.text(data, "provider", "a variant", required=True).strip().lower()
    model = reader.text(data, "model", f"variant of provider {provider}", required=True).strip()
    if not provider or not model:
        raise reader.error(
            "a variant needs a non-empty provider and model",
            "e.g. provider: openai, model: gpt-5-mini",
            data.line,
        )
    if "prompt" in data and "promptFile" in data:
        raise reader.error(
            f"variant {provider}/{model} has both prompt and promptFile",
            "keep one of them",
            line_of(data, "promptFile"),
        )
    prompt_file = reader.text(data, "promptFile", "a variant") or None
    prompt = (
        read_prompt(prompt_file, line_of(data, "promptFile"))
        if prompt_file
        else reader.text(data, "prompt", "a variant") or None
    )
    config_raw = data.get("config") or LocatedDict(line)
    config = reader.mapping(config_raw, f"config of variant {provider}/{model}", line_of(data, "config"))
    _plain_data(reader, config, line_of(data, "config"))
    variant = Variant(provider, model, prompt, prompt_file, freeze(config), reader.file, data.line)
    _prompt_placeholders(
        reader, variant, input_names, line_of(data, "promptFile" if prompt_file else "prompt")
    )
    return variant


def _unique(reader: Reader, items: list[tuple[str, int | None]], what: str) -> None:
    seen: dict[str, int | None] = {}
    for name, line in items:
        if name in seen:
            raise reader.error(
                f"duplicate {what} name {name!r} (first at line {seen[name]})",
                f"rename one of the {what}s",
                line,
            )
        seen[name] = line


def parse_producer(
    reader: Reader, data: Any, line: int | None, read_prompt: Callable[[str, int | None], str]
) -> ProducerDef:
    """A producer definition: a module file or an inline ``define:`` block."""
    data = reader.mapping(data, "a producer definition", line)
    reader.keys(
        data,
        {"producer", "kind", "description", "inputs", "artefacts", "variants", "fallbacks"},
        "a producer definition",
    )
    name = reader.name(data, "producer", "a producer definition")
    what = f"producer {name}"
    kind = reader.text(data, "kind", what, required=True)
    if kind not in PRODUCER_KINDS:
        raise reader.error(
            f"{what}: unknown kind {kind!r}",
            did_you_mean(kind, PRODUCER_KINDS, "kinds"),
            line_of(data, "kind"),
        )
    raw_inputs = reader.sequence(data.get("inputs"), f"{what}: inputs", line_of(data, "inputs"))
    inputs = tuple(
        parse_input(reader, item, line_of(raw_inputs, i), producer=True) for i, item in enumerate(raw_inputs)
    )
    _unique(reader, [(spec.name, spec.line) for spec in inputs], "input")
    raw_artefacts = reader.sequence(data.get("artefacts"), f"{what}: artefacts", line_of(data, "artefacts"))
    if not raw_artefacts:
        raise reader.error(
            f"{what} declares no artefacts", "add artefacts: [{name: ..., kind: text}]", data.line
        )
    artefacts = tuple(
        _parse_artefact(reader, item, line_of(raw_artefacts, i), inputs)
        for i, item in enumerate(raw_artefacts)
    )
    _unique(reader, [(spec.name, spec.line) for spec in artefacts], "artefact")
    raw_variants = reader.sequence(data.get("variants"), f"{what}: variants", line_of(data, "variants"))
    if not raw_variants:
        raise reader.error(
            f"{what} has no variants", "add variants: [{provider: local, model: ...}]", data.line
        )
    variants = tuple(
        parse_variant(reader, item, line_of(raw_variants, i), read_prompt, {spec.name for spec in inputs})
        for i, item in enumerate(raw_variants)
    )
    seen: dict[tuple[str, str], int | None] = {}
    for variant in variants:
        key = (variant.provider, variant.model)
        if key in seen:
            raise reader.error(
                f"{what}: variant {key[0]}/{key[1]} is listed twice", "remove one of them", variant.line
            )
        seen[key] = variant.line
    return ProducerDef(
        name,
        kind,
        reader.text(data, "description", what),
        inputs,
        artefacts,
        variants,
        reader.file,
        data.line,
        _parse_fallbacks(reader, data, what, variants),
    )


FALLBACK_ENVIRONMENTS = ("local", "cloud", "*")
"""Run environments a fallback chain may be given for (``*``: any)."""


def _parse_fallbacks(
    reader: Reader, data: Any, what: str, variants: tuple[Variant, ...]
) -> Mapping[str, tuple[tuple[str, str], ...]]:
    """``fallbacks: [provider/model, ...]`` (any environment) or ``{local: [...], cloud: [...]}``."""
    raw = data.get("fallbacks")
    if raw is None:
        return MappingProxyType({})
    line = line_of(data, "fallbacks")
    chains = raw if isinstance(raw, dict) else {"*": raw}
    offered = [f"{variant.provider}/{variant.model}" for variant in variants]
    parsed: dict[str, tuple[tuple[str, str], ...]] = {}
    for environment, chain in chains.items():
        if environment not in FALLBACK_ENVIRONMENTS:
            raise reader.error(
                f"{what}: fallbacks for unknown environment {environment!r}",
                f"use {', '.join(FALLBACK_ENVIRONMENTS)} (or a plain list for every environment)",
                line,
            )
        items = reader.sequence(chain, f"{what}: fallbacks", line)
        pairs: list[tuple[str, str]] = []
        for item in items:
            if not isinstance(item, str) or item not in offered:
                raise reader.error(
                    f"{what}: fallback {item!r} is not one of its variants",
                    did_you_mean(str(item), offered, "variants"),
                    line,
                )
            provider, _, model = item.partition("/")
            if (provider, model) in pairs:
                raise reader.error(f"{what}: fallback {item} is listed twice", "remove one of them", line)
            pairs.append((provider, model))
        parsed[str(environment)] = tuple(pairs)
    return MappingProxyType(parsed)


def _parse_artefact(
    reader: Reader, data: Any, line: int | None, inputs: tuple[InputSpec, ...]
) -> ArtefactSpec:
    data = reader.mapping(data, "an artefact", line)
    name = reader.name(data, "name", "an artefact")
    what = f"artefact {name}"
    reader.keys(data, {"name", "kind", "description", "countInput"}, what)
    kind = reader.text(data, "kind", what, required=True)
    if kind not in ARTEFACT_KINDS:
        raise reader.error(
            f"{what}: unknown kind {kind!r}",
            did_you_mean(kind, ARTEFACT_KINDS, "kinds"),
            line_of(data, "kind"),
        )
    count = reader.name(data, "countInput", what) if data.get("countInput") is not None else None
    if count is not None:
        spec = next((item for item in inputs if item.name == count), None)
        if spec is None or spec.type != "int":
            problem = "is not an input of this producer" if spec is None else f"has type {spec.type}"
            raise reader.error(
                f"{what}: countInput {count!r} {problem}; it must be an int input",
                did_you_mean(count, [item.name for item in inputs if item.type == "int"], "int inputs"),
                line_of(data, "countInput"),
            )
    return ArtefactSpec(name, kind, reader.text(data, "description", what), count, reader.file, data.line)
