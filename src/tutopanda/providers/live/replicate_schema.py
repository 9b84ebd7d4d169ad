"""Checking a Replicate model's input against its published OpenAPI schema, before paying.

Why a module of its own: the check is pure (no HTTP, no job) and is shared by the bundled catalogue's
models and by any ``owner/name[:version]`` a user names, whose input is mapped from the same schema
(:mod:`tutopanda.providers.live.replicate_catalogue`). A value that does not fit is refused with the
field, what is wrong and where the value came from; durations are fitted into range instead, and
best-effort fields are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tutopanda.core.errors import ProviderConfigError

if TYPE_CHECKING:
    from tutopanda.providers.live.replicate_catalogue import BuiltInput

__all__ = ["CheckedInput", "check_input", "input_schema"]


def input_schema(schema: Mapping[str, Any]) -> tuple[dict[str, Any], Mapping[str, Any]]:
    """The resolved ``Input`` object schema of an ``openapi_schema`` document, and its components."""
    components = schema.get("components", {}).get("schemas", {})
    return _resolve(components.get("Input"), components), components


def _resolve(prop: Any, components: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
    """``prop`` with ``$ref`` and ``allOf`` parts merged in (Replicate puts enums behind ``$ref``)."""
    if not isinstance(prop, Mapping) or depth > 8:
        return {}
    merged = {key: value for key, value in prop.items() if key not in ("$ref", "allOf")}
    parts: list[Any] = []
    ref = prop.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        parts.append(components.get(ref.rsplit("/", 1)[1]))
    all_of = prop.get("allOf")
    if isinstance(all_of, list):
        parts.extend(all_of)
    for part in parts:
        for key, value in _resolve(part, components, depth + 1).items():
            merged.setdefault(key, value)
    return merged


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: isinstance(value, str),
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "boolean": lambda value: isinstance(value, bool),
    "array": lambda value: isinstance(value, list | tuple),
    "object": lambda value: isinstance(value, Mapping),
    "null": lambda value: value is None,
}


def _bounds(prop: Mapping[str, Any]) -> tuple[float | None, float | None]:
    low = prop.get("minimum")
    high = prop.get("maximum")
    return (
        float(low) if isinstance(low, int | float) and not isinstance(low, bool) else None,
        float(high) if isinstance(high, int | float) and not isinstance(high, bool) else None,
    )


def _problem(value: Any, prop: Mapping[str, Any], components: Mapping[str, Any]) -> str | None:
    """Why ``value`` does not fit the (resolved) schema ``prop``; None when it fits."""
    alternatives = prop.get("anyOf") or prop.get("oneOf")
    if isinstance(alternatives, list) and alternatives:
        problems = [_problem(value, _resolve(option, components), components) for option in alternatives]
        if all(problems):
            return next(problem for problem in problems if problem)
    if value is None and prop.get("nullable") is True:
        return None
    declared = prop.get("type")
    types = [declared] if isinstance(declared, str) else declared if isinstance(declared, list) else []
    checks = [_TYPE_CHECKS[name] for name in types if name in _TYPE_CHECKS]
    if checks and not any(check(value) for check in checks):
        return f"must be of type {' or '.join(str(name) for name in types)}, not {type(value).__name__}"
    enum = prop.get("enum")
    if isinstance(enum, list) and not any(value == option and type(value) is type(option) for option in enum):
        return "must be one of " + ", ".join(repr(option) for option in enum)
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = _bounds(prop)
        if low is not None and value < low:
            return f"is below the minimum {low:g}"
        if high is not None and value > high:
            return f"is above the maximum {high:g}"
        for key, plain, sign in (("exclusiveMinimum", "minimum", 1), ("exclusiveMaximum", "maximum", -1)):
            limit = prop.get(key)
            if limit is True:  # OpenAPI 3.0: a flag on minimum/maximum
                limit = prop.get(plain)
            if isinstance(limit, int | float) and not isinstance(limit, bool) and sign * (value - limit) <= 0:
                return f"must be {'above' if sign > 0 else 'below'} {limit:g}"
    if isinstance(value, str):
        if isinstance(prop.get("maxLength"), int) and len(value) > prop["maxLength"]:
            return f"is longer than {prop['maxLength']} characters"
        if isinstance(prop.get("minLength"), int) and len(value) < prop["minLength"]:
            return f"is shorter than {prop['minLength']} characters"
    if isinstance(value, list | tuple):
        if isinstance(prop.get("maxItems"), int) and len(value) > prop["maxItems"]:
            return f"has more than {prop['maxItems']} items"
        if isinstance(prop.get("minItems"), int) and len(value) < prop["minItems"]:
            return f"has fewer than {prop['minItems']} items"
        items = _resolve(prop.get("items"), components)
        for index, item in enumerate(value):
            problem = _problem(item, items, components)
            if problem:
                return f"item {index} {problem}"
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass
class CheckedInput:
    """The input that passed the schema, and what was changed to make it pass."""

    values: dict[str, Any]
    dropped: list[str] = field(default_factory=list)
    fitted: dict[str, dict[str, Any]] = field(default_factory=dict)


def check_input(built: BuiltInput, schema: Mapping[str, Any], model: str, where: str) -> CheckedInput:
    """Validate ``built`` against the model's OpenAPI ``schema`` (the ``openapi_schema`` document).

    Raises :class:`ProviderConfigError` naming the first field that does not fit (and where its value
    came from). ``fitted`` fields are clamped into the schema's range; ``optional`` ones that do not fit
    are dropped.
    """
    components = schema.get("components", {}).get("schemas", {})
    schema_input = _resolve(components.get("Input"), components)
    properties: Mapping[str, Any] = schema_input.get("properties") or {}
    checked = CheckedInput(dict(built.values))
    hint_fields = ", ".join(sorted(properties)) or "(none)"
    for name in list(checked.values):
        source = built.sources.get(name, "the handler")
        value = checked.values[name]
        if name not in properties:
            if name in built.optional:
                checked.dropped.append(name)
                del checked.values[name]
                continue
            raise ProviderConfigError(
                f"{where}: {model} has no input {name!r} (set from {source})",
                f"remove it; the model's inputs are: {hint_fields}",
            )
        prop = _resolve(properties[name], components)
        if name in built.fitted and isinstance(value, int | float) and not isinstance(value, bool):
            low, high = _bounds(prop)
            fitted = value
            if low is not None and fitted < low:
                fitted = math.ceil(low) if isinstance(value, int) else low
            if high is not None and fitted > high:
                fitted = math.floor(high) if isinstance(value, int) else high
            options = [
                o for o in prop.get("enum") or [] if isinstance(o, int | float) and not isinstance(o, bool)
            ]
            if options and fitted not in options:  # e.g. durations of 4, 6 or 8 s: the next one up
                fitted = min((o for o in options if o >= fitted), default=max(options))
            if fitted != value:
                checked.fitted[name] = {"requested": value, "sent": fitted}
                checked.values[name] = value = fitted
        problem = _problem(value, prop, components)
        if problem is None:
            continue
        if name in built.optional:
            checked.dropped.append(name)
            del checked.values[name]
            continue
        raise ProviderConfigError(
            f"{where}: input {name} = {_shown(value)} {problem} (set from {source}; {model}'s input schema)",
            f"change {source.split(' (')[0]} so that {name} fits the model",
        )
    required = schema_input.get("required") or []
    missing = [name for name in required if isinstance(name, str) and name not in checked.values]
    if missing:
        raise ProviderConfigError(
            f"{where}: {model} requires input {missing[0]}, which the job does not set",
            f"set it with config input: {{{missing[0]}: ...}}",
        )
    return checked
