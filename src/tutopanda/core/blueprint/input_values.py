"""Typed input values: coercion of ``--set Name=value`` text and inputs-file data, and resolution.

Why one place: the same rules must apply to a default in a blueprint, a ``--set`` string and a value read
from YAML/JSON/TOML, otherwise ``NumOfSegments=3`` and ``NumOfSegments: 3`` could hash differently or be
accepted in one place and refused in another. Coercion is strict where YAML is treacherous: a string
input never silently accepts a YAML boolean (``Language: no`` is Norwegian, not ``False``).

:func:`resolve_inputs` turns user values into canonical ids (``Input:Name``, ``Input:Module.Name``),
applies defaults, and reports unknown names (with a suggestion), missing required inputs and values that
do not fit. All those errors are :class:`~tutopanda.core.errors.InputValidationError`.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from tutopanda.core.blueprint.located_yaml import YamlLocationError, load_located_yaml
from tutopanda.core.blueprint.model import Blueprint, InputRef, InputSpec, thaw
from tutopanda.core.blueprint.suggest import did_you_mean, listing
from tutopanda.core.blueprint.vocabulary import Vocabulary, check, find_vocabulary
from tutopanda.core.errors import InputValidationError
from tutopanda.core.limits import (
    MAX_DOCUMENT_BYTES,
    MAX_LIST_ITEMS,
    check_file_size,
    check_text,
    describe_size,
)

__all__ = [
    "ResolvedInputs",
    "ResolvedValue",
    "coerce_value",
    "load_input_file",
    "parse_set_options",
    "resolve_inputs",
]

_INT_TEXT = re.compile(r"[+-]?\d+")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def _fail(label: str, message: str, hint: str) -> InputValidationError:
    return InputValidationError(f"input {label}: {message}", hint)


def _shown(value: object) -> str:
    """``repr(value)`` cut to one short line: error messages never echo a whole oversized value."""
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _coerce_int(label: str, raw: object) -> int:
    if isinstance(raw, bool):
        raise _fail(label, f"expected an integer, got {_shown(raw)}", f"give a whole number, e.g. {label}=3")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and _INT_TEXT.fullmatch(raw.strip()):
        try:
            return int(raw.strip())
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
            raise _fail(
                label, f"{_shown(raw)} has too many digits", f"give a whole number, e.g. {label}=3"
            ) from None
    raise _fail(label, f"expected an integer, got {_shown(raw)}", f"give a whole number, e.g. {label}=3")


def _coerce_number(label: str, raw: object) -> int | float:
    value: int | float
    if isinstance(raw, bool):
        raise _fail(label, f"expected a number, got {_shown(raw)}", f"give a number, e.g. {label}=2.5")
    if isinstance(raw, int | float):
        value = raw
    elif isinstance(raw, str):
        text = raw.strip()
        try:
            value = int(text) if _INT_TEXT.fullmatch(text) else float(text)
        except ValueError:
            raise _fail(
                label, f"expected a number, got {_shown(raw)}", f"give a number, e.g. {label}=2.5"
            ) from None
    else:
        raise _fail(label, f"expected a number, got {_shown(raw)}", f"give a number, e.g. {label}=2.5")
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(
            label, f"{_shown(raw)} is not a finite number", "NaN and infinity cannot be stored or hashed"
        )
    return value


def _coerce_bool(label: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        folded = raw.strip().casefold()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
    raise _fail(
        label, f"expected true or false, got {_shown(raw)}", "use true/false (also yes/no, on/off, 1/0)"
    )


def _coerce_string(label: str, raw: object, spec: InputSpec) -> str:
    if isinstance(raw, str):
        check_text(f"input {label}", raw)
    else:
        raise _fail(
            label,
            f"expected text, got {type(raw).__name__} {_shown(raw)}",
            f'quote the value in the inputs file, e.g. {spec.name}: "{_shown(raw)[:40]}"',
        )
    words = _words(spec)
    if words is not None:
        return _checked(label, raw, words)
    if spec.pattern is not None and not re.fullmatch(spec.pattern, raw):
        detail = f" ({spec.description})" if spec.description else ""
        raise _fail(
            label,
            f"{_shown(raw)} does not match the pattern {spec.pattern!r}{detail}",
            "fix the value's format",
        )
    return raw


def _words(spec: InputSpec) -> Vocabulary | None:
    """The word list a value of ``spec`` must come from: its named vocabulary, or its enum choices.

    Plain enum choices are checked by the same :func:`~tutopanda.core.blueprint.vocabulary.check` as the
    shared vocabularies, so every refused choice reads the same way (allowed values or "did you mean").
    """
    if spec.vocabulary is not None:
        return find_vocabulary(spec.vocabulary)
    if spec.type == "enum" and spec.values:
        choices = ", ".join(spec.values)
        return Vocabulary(spec.name, "one of the choices", spec.values, f"choices: {choices}")
    return None


def _checked(label: str, raw: str, words: Vocabulary) -> str:
    verdict = check(words, raw)
    if verdict.value is None:
        raise _fail(label, verdict.message, verdict.hint)
    return verdict.value


def _coerce_enum(label: str, raw: object, spec: InputSpec) -> str:
    words = _words(spec)
    if words is None:  # pragma: no cover - loading refuses an enum without values
        raise _fail(label, "has no choices", "give the enum values: or a vocabulary:")
    if not isinstance(raw, str):
        expected = f"one of {words.listing()}" if words.is_short else words.noun
        hint = f"choices: {words.listing()}" if words.is_short else words.hint
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            hint += '; quote the value in the inputs file (e.g. "16:9", "720p")'
        raise _fail(label, f"expected {expected}, got {_shown(raw)}", hint)
    return _checked(label, raw, words)


def _split_list_text(label: str, text: str) -> list[Any]:
    check_text(f"input {label}", text)
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, too many digits, too deep
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "too many digits or too deep"
            raise _fail(
                label, f"invalid JSON list: {reason}", 'write a JSON list, e.g. ["a", "b"], or a,b'
            ) from None
        if not isinstance(parsed, list):  # pragma: no cover - a '[' that parses is a list
            raise _fail(label, "expected a list", "write a,b,c or a JSON list")
        return parsed
    if not stripped:
        return []
    return [part.strip() for part in stripped.split(",")]


def _check_range(label: str, value: int | float, spec: InputSpec) -> None:
    low, high = spec.minimum, spec.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"{'' if low is None else low}..{'' if high is None else high}"
        raise _fail(
            label, f"{_shown(value)} is out of range {bounds}", f"give a value between {low} and {high}"
        )


def coerce_value(spec: InputSpec, raw: object, label: str | None = None) -> Any:
    """``raw`` converted to ``spec``'s type and checked against its range, choices or pattern.

    Text (from ``--set``) is parsed by the declared type; typed data (from a file) must already fit.
    Lists come back as tuples (values are immutable once resolved). Raises InputValidationError.
    """
    name = label or spec.name
    kind = spec.type
    if kind == "int":
        value: Any = _coerce_int(name, raw)
        _check_range(name, value, spec)
        return value
    if kind == "number":
        value = _coerce_number(name, raw)
        _check_range(name, value, spec)
        return value
    if kind == "bool":
        return _coerce_bool(name, raw)
    if kind == "enum":
        return _coerce_enum(name, raw, spec)
    if kind == "list":
        items = _split_list_text(name, raw) if isinstance(raw, str) else raw
        if not isinstance(items, list | tuple):
            raise _fail(
                name, f"expected a list, got {_shown(raw)}", f"write {spec.name}=a,b,c or a YAML/JSON list"
            )
        if len(items) > MAX_LIST_ITEMS:
            raise _fail(
                name,
                f"{describe_size(len(items), 'item')}, more than the limit of {MAX_LIST_ITEMS:,}",
                "give fewer items (the limits are listed in docs/cli.md, 'Limits')",
            )
        item_spec = InputSpec(
            name=spec.name,
            type=spec.item_type or "string",
            values=spec.values,
            minimum=spec.minimum,
            maximum=spec.maximum,
            pattern=spec.pattern,
            vocabulary=spec.vocabulary,
        )
        return tuple(coerce_value(item_spec, item, f"{name}[{index}]") for index, item in enumerate(items))
    if kind == "string":
        return _coerce_string(name, raw, spec)
    raise _fail(
        name, f"has type {kind!r}, which takes no user value", "it is fed by an artefact; wire it instead"
    )


def parse_set_options(options: Iterable[str]) -> dict[str, object]:
    """``["Name=value", ...]`` -> ``{"Name": "value"}`` (raw text; types are applied by resolve_inputs).

    Splits at the first ``=`` so values may contain ``=``. A repeated name is an error, not "last wins".
    """
    result: dict[str, object] = {}
    for option in options:
        name, sep, value = option.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputValidationError(
                f"--set {option!r} is not of the form Name=value", "write --set NumOfSegments=3"
            )
        if name in result:
            raise InputValidationError(f"--set {name} is given twice", "keep only one --set for each input")
        result[name] = value
    return result


def _read_mapping(path: Path) -> object:
    try:
        if path.is_file():  # not a FIFO or device: those would block or never end
            check_file_size(f"inputs file {path}", path.stat().st_size, limit=MAX_DOCUMENT_BYTES)
        elif path.exists():
            raise InputValidationError(
                f"inputs file {path} is not a regular file", "give a YAML, JSON or TOML file"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputValidationError(f"inputs file {path} does not exist", "check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputValidationError(f"cannot read inputs file {path}: {exc}", "check the file") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix in {".yaml", ".yml"}:
            return load_located_yaml(text)
    except json.JSONDecodeError as exc:
        raise InputValidationError(
            f"{path}:{exc.lineno}: invalid JSON: {exc.msg}", "fix the JSON syntax"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputValidationError(f"{path}: invalid TOML: {exc}", "fix the TOML syntax") from None
    except YamlLocationError as exc:
        where = f"{path}:{exc.line}" if exc.line is not None else str(path)
        raise InputValidationError(f"{where}: {exc.message}", exc.hint) from None
    except (ValueError, RecursionError) as exc:  # a number with too many digits; nesting too deep
        raise InputValidationError(
            f"{path}: cannot read the file: {exc if isinstance(exc, ValueError) else 'it nests too deeply'}",
            "write plain values (numbers of at most a few digits, shallow lists)",
        ) from None
    raise InputValidationError(
        f"inputs file {path} has an unknown extension {suffix!r}", "use .yaml, .yml, .json or .toml"
    )


def load_input_file(path: str | Path) -> dict[str, object]:
    """Input values from a YAML/JSON/TOML mapping, either at the top level or under an ``inputs:`` key."""
    file = Path(path)
    data = _read_mapping(file)
    if not isinstance(data, Mapping):
        raise InputValidationError(
            f"inputs file {file} must hold a mapping of input names to values", "write e.g. NumOfSegments: 3"
        )
    if "inputs" in data:
        extra = sorted(str(key) for key in data if key != "inputs")
        if extra:
            raise InputValidationError(
                f"inputs file {file} has an inputs: section and also top-level keys: {', '.join(extra)}",
                "move every value under inputs:",
            )
        data = data["inputs"]
        if not isinstance(data, Mapping):
            raise InputValidationError(
                f"inputs file {file}: inputs: must be a mapping", "write inputs: {Name: value}"
            )
    return {str(key): thaw(value) for key, value in data.items()}


@dataclass(frozen=True)
class ResolvedValue:
    """A resolved input value and where it came from (``user`` or ``default``)."""

    id: str
    value: Any
    source: Literal["user", "default"]


@dataclass(frozen=True)
class ResolvedInputs:
    """Every input value a graph uses, by canonical id (``Input:Name`` / ``Input:Module.Name``)."""

    values: Mapping[str, ResolvedValue]

    def value(self, canonical_id: str) -> Any:
        """The value for ``canonical_id`` (KeyError if the input has no value)."""
        return self.values[canonical_id].value

    def __contains__(self, canonical_id: object) -> bool:
        return canonical_id in self.values

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """JSON-ready ``{id: {"value": ..., "source": ...}}`` sorted by id."""
        return {
            key: {"source": item.source, "value": thaw(item.value)}
            for key, item in sorted(self.values.items())
        }


def input_catalogue(blueprint: Blueprint) -> dict[str, tuple[str, InputSpec]]:
    """User-facing name -> (canonical id, spec) for every input a user may set."""
    catalogue = {spec.name: (f"Input:{spec.name}", spec) for spec in blueprint.inputs}
    for module, spec in blueprint.unwired_inputs():
        catalogue[f"{module.name}.{spec.name}"] = (f"Input:{module.name}.{spec.name}", spec)
    return catalogue


def _unknown(blueprint: Blueprint, name: str, catalogue: Mapping[str, object]) -> InputValidationError:
    module_name, _, input_name = name.partition(".")
    module = blueprint.module(module_name) if input_name else None
    if module is not None and input_name in module.wires:
        wire = module.wires[input_name]
        return InputValidationError(
            f"input {name} is wired to {wire.text} in blueprint {blueprint.meta.id}",
            f"set {wire.text} instead" if isinstance(wire.source, InputRef) else "it is generated, not set",
        )
    return InputValidationError(
        f"unknown input {name!r} for blueprint {blueprint.meta.id}", did_you_mean(name, catalogue, "inputs")
    )


def resolve_inputs(blueprint: Blueprint, values: Mapping[str, object]) -> ResolvedInputs:
    """User values (raw text or typed) -> canonical, coerced values with defaults applied.

    Keys are top-level names (``NumOfSegments``), ``Module.Name`` for unwired producer inputs, or the
    canonical id itself (``Input:NumOfSegments``). Unknown names, values that do not fit and missing
    required inputs raise :class:`InputValidationError`.
    """
    catalogue = input_catalogue(blueprint)
    resolved: dict[str, ResolvedValue] = {}
    for raw_name, raw in values.items():
        name = raw_name.removeprefix("Input:")
        if name not in catalogue:
            raise _unknown(blueprint, name, catalogue)
        canonical, spec = catalogue[name]
        if canonical in resolved:
            raise InputValidationError(f"input {name} is given twice", "give each input once")
        resolved[canonical] = ResolvedValue(canonical, coerce_value(spec, raw, name), "user")
    missing: list[str] = []
    for name, (canonical, spec) in catalogue.items():
        if canonical in resolved:
            continue
        if spec.has_default:
            resolved[canonical] = ResolvedValue(canonical, spec.default, "default")
        elif spec.required:
            missing.append(name)
    if missing:
        first = missing[0]
        raise InputValidationError(
            f"missing required input{'s' if len(missing) > 1 else ''}: {listing(missing)}",
            f"give a value with --set {first}=... or in an inputs file",
        )
    return ResolvedInputs(MappingProxyType(dict(sorted(resolved.items()))))
