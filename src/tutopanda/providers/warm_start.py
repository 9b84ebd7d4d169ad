"""Warm start: before a run spends anything, check that every handler it needs can run — offline.

Why up front: a live run that discovers a missing API key at its fortieth job has already paid for
thirty-nine. Handlers may declare ``needs_secrets`` (environment-variable names) and may define a
``warm_start(secrets)`` method that validates their configuration without network access. Every problem
of every handler is reported in one :class:`ProviderConfigError` that names the variables to set and
never contains a secret's value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from tutopanda.core.engine.provider_contract import ProviderHandler, SecretResolver
from tutopanda.core.errors import ProviderConfigError

__all__ = ["WarmStartHook", "required_secrets", "warm_start"]


@runtime_checkable
class WarmStartHook(Protocol):
    """Optional handler method: raise :class:`ProviderConfigError` if the handler cannot run."""

    def warm_start(self, secrets: SecretResolver) -> None: ...


def required_secrets(handler: ProviderHandler) -> tuple[str, ...]:
    """The secret names ``handler`` declares in ``needs_secrets`` (empty when it declares none)."""
    names = getattr(handler, "needs_secrets", ())
    if isinstance(names, str) or not all(isinstance(name, str) and name for name in names):
        raise ProviderConfigError(
            f"{type(handler).__name__}.needs_secrets must be a tuple of environment-variable names",
            "report it to the maintainers of the provider plugin",
        )
    return tuple(names)


def _label(handler: ProviderHandler) -> str:
    return f"{handler.provider}/{handler.model}"


def _redact(text: str, values: Iterable[str]) -> str:
    for value in values:
        if value:
            text = text.replace(value, "***")
    return text


def warm_start(
    handlers: Iterable[ProviderHandler] | Mapping[Any, ProviderHandler], secrets: SecretResolver
) -> None:
    """Check every distinct handler's secrets, then run its ``warm_start`` hook if it has one."""
    given = handlers.values() if isinstance(handlers, Mapping) else handlers
    distinct = list({id(handler): handler for handler in given}.values())
    missing: dict[str, list[str]] = {}
    problems: list[str] = []
    hints: list[str] = []
    for handler in distinct:
        label = _label(handler)
        names = required_secrets(handler)
        absent = [name for name in names if not secrets.get(name)]
        for name in absent:
            missing.setdefault(name, []).append(label)
        if absent or not isinstance(handler, WarmStartHook):
            continue
        known = [value for name in names if (value := secrets.get(name))]
        try:
            handler.warm_start(secrets)
        except ProviderConfigError as exc:
            problems.append(_redact(f"{label}: {exc.message}", known))
            if exc.hint:
                hints.append(_redact(exc.hint, known))
        except Exception as exc:
            problems.append(_redact(f"{label}: warm start failed: {type(exc).__name__}: {exc}", known))
    problems = [
        f"missing secret {name} (needed by {', '.join(sorted(set(labels)))})"
        for name, labels in sorted(missing.items())
    ] + problems
    if not problems:
        return
    if missing:
        first = sorted(missing)[0]
        listed = " and ".join(sorted(missing))
        hints.insert(
            0, f"set {listed} in the environment (export {first}=...) or in a .env file (here or in the root)"
        )
    raise ProviderConfigError("; ".join(problems), "; ".join(hints) or None)
