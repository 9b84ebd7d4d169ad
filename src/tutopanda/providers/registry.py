"""The provider registry: which handler runs a job, for a (provider, model, environment, mode, kind).

Why a registry rather than imports: core never imports a provider, and third-party packages add
providers through the ``tutopanda.providers`` entry-point group (see :mod:`.plugins`). A plugin adds
:class:`HandlerFactory` objects — patterns with ``*`` wildcards plus a ``build`` callable — and the
runner asks for handlers through :meth:`ProviderRegistry.handler_resolver`.

Resolution picks the *most specific* matching factory, comparing in this order: mode (exact beats
``*``, so a mode-agnostic factory never shadows the mocks in mock mode), provider, model, environment
(a literal beats a partial pattern such as ``gpt-5*``, which beats ``*``), then kinds (a factory
restricted to kinds beats one for any kind). On a tie the later registration wins, so a plugin can
override a built-in. Built handlers are cached per (mode, provider, model, environment, factory, price
table): every job of a run that uses the same binding shares one handler (and so its client and
throttles), and a handler prices its calls with the table it was built for, never a process-wide one.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from tutopanda.core.engine.provider_contract import HandlerResolver, Mode, ProviderHandler, SecretResolver
from tutopanda.core.errors import ProviderConfigError, TutopandaError
from tutopanda.providers.pricing import PriceTable, bundled_prices
from tutopanda.providers.warm_start import warm_start

__all__ = [
    "HandlerBuilder",
    "HandlerFactory",
    "HandlerRequest",
    "HandlerSpec",
    "ModePattern",
    "ProviderRegistry",
    "Registration",
]

ModePattern = Literal["mock", "live", "*"]
"""The mode a factory serves (``*``: both)."""

_MODES: frozenset[str] = frozenset({"mock", "live"})


@dataclass(frozen=True)
class HandlerSpec:
    """The concrete binding a factory is asked to build a handler for.

    ``prices`` is the table a handler that bills its calls reads (plan estimates, run costs): the one
    the front end chose for the run, the bundled one unless it chose another.
    """

    provider: str
    model: str
    environment: str
    mode: Mode
    prices: PriceTable = field(default_factory=bundled_prices, repr=False)


HandlerBuilder = Callable[[HandlerSpec], ProviderHandler]
"""Builds a handler for a binding. Must not touch the network (warm start and plans run offline)."""


def _pattern_score(pattern: str) -> int:
    """2 for a literal, 1 for a partial pattern (``gpt-5*``), 0 for ``*``."""
    if pattern == "*":
        return 0
    return 1 if "*" in pattern else 2


def _pattern_matches(pattern: str, value: str) -> bool:
    if pattern == "*":
        return True
    if "*" not in pattern:
        return pattern == value
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value) is not None


@dataclass(frozen=True)
class HandlerFactory:
    """Patterns saying which bindings ``build`` serves.

    ``provider``, ``model`` and ``environment`` are literals or patterns where ``*`` matches any run of
    characters. ``kinds`` restricts the factory to producer kinds (None: any kind); ``description`` is
    shown in listings and errors.
    """

    provider: str
    model: str
    environment: str
    mode: ModePattern
    build: HandlerBuilder = field(repr=False, compare=False)
    kinds: frozenset[str] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        for name in ("provider", "model", "environment"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"HandlerFactory.{name} must be a non-empty string, got {value!r}")
        if self.mode not in ("mock", "live", "*"):
            raise ValueError(f"HandlerFactory.mode must be 'mock', 'live' or '*', got {self.mode!r}")
        if not callable(self.build):
            raise ValueError("HandlerFactory.build must be callable")
        if self.kinds is not None:
            kinds = frozenset(self.kinds)
            if not kinds or not all(isinstance(kind, str) and kind for kind in kinds):
                raise ValueError("HandlerFactory.kinds must be None or non-empty strings")
            object.__setattr__(self, "kinds", kinds)

    def matches(self, spec: HandlerSpec, kind: str | None) -> bool:
        """Whether this factory serves ``spec`` (and ``kind``, when one is given)."""
        return (
            self.mode in ("*", spec.mode)
            and _pattern_matches(self.provider, spec.provider)
            and _pattern_matches(self.model, spec.model)
            and _pattern_matches(self.environment, spec.environment)
            and (kind is None or self.kinds is None or kind in self.kinds)
        )

    def specificity(self) -> tuple[int, int, int, int, int]:
        """Sort key of a match: higher is more specific (see the module docstring)."""
        return (
            0 if self.mode == "*" else 1,
            _pattern_score(self.provider),
            _pattern_score(self.model),
            _pattern_score(self.environment),
            0 if self.kinds is None else 1,
        )


@dataclass(frozen=True)
class Registration:
    """A factory as registered: where it came from (plugin name) and its registration order."""

    factory: HandlerFactory
    source: str
    order: int

    def describe(self) -> str:
        """One line for listings and error hints."""
        factory = self.factory
        kinds = ", ".join(sorted(factory.kinds)) if factory.kinds else "any kind"
        return (
            f"{factory.mode} {factory.provider}/{factory.model} (environment {factory.environment}; "
            f"{kinds}; from {self.source})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for ``--json`` listings)."""
        factory = self.factory
        return {
            "provider": factory.provider,
            "model": factory.model,
            "environment": factory.environment,
            "mode": factory.mode,
            "kinds": sorted(factory.kinds) if factory.kinds else None,
            "description": factory.description,
            "source": self.source,
        }


class HandlerRequest(NamedTuple):
    """One distinct (provider, model, kind) a run needs; the key of :meth:`ProviderRegistry.resolve_many`."""

    provider: str
    model: str
    kind: str


class ProviderRegistry:
    """Factories by pattern, resolution by specificity, and a cache of the handlers built.

    Thread-safe. An empty registry is what tests use (add exactly what a test needs);
    :func:`~tutopanda.providers.plugins.default_registry` is the one with plugins loaded.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._registrations: list[Registration] = []
        self._cache: dict[tuple[str, str, str, str, int, PriceTable], ProviderHandler] = {}
        self._order = 0
        self._source = "direct"
        self.loaded_plugins: list[str] = []
        """Names of the entry-point plugins loaded into this registry, in load order."""

    # --- registering -------------------------------------------------------------------------

    def add(self, factory: HandlerFactory) -> Registration:
        """Register ``factory``; returns the handle :meth:`remove` takes."""
        if not isinstance(factory, HandlerFactory):
            raise TypeError(f"expected a HandlerFactory, got {type(factory).__name__}")
        with self._lock:
            self._order += 1
            registration = Registration(factory=factory, source=self._source, order=self._order)
            self._registrations.append(registration)
            return registration

    def remove(self, registration: Registration) -> None:
        """Unregister, dropping the handlers it built; :class:`KeyError` if it is not registered."""
        with self._lock:
            if registration not in self._registrations:
                raise KeyError(f"not registered: {registration.describe()}")
            self._registrations.remove(registration)
            for key in [key for key in self._cache if key[4] == registration.order]:
                del self._cache[key]

    @contextmanager
    def registered(self, factory: HandlerFactory) -> Iterator[Registration]:
        """Register ``factory`` for the duration of a ``with`` block (test fixtures)."""
        registration = self.add(factory)
        try:
            yield registration
        finally:
            self.remove(registration)

    @contextmanager
    def registering_as(self, source: str) -> Iterator[None]:
        """Attribute every factory added inside the block to ``source`` (a plugin name)."""
        with self._lock:
            previous, self._source = self._source, source
            try:
                yield
            finally:
                self._source = previous

    @property
    def registrations(self) -> tuple[Registration, ...]:
        """Every registration, in registration order."""
        with self._lock:
            return tuple(self._registrations)

    def clear_cache(self) -> None:
        """Forget built handlers (the next resolve builds new ones)."""
        with self._lock:
            self._cache.clear()

    # --- resolving ---------------------------------------------------------------------------

    def _best(self, spec: HandlerSpec, kind: str | None) -> Registration | None:
        matches = [r for r in self._registrations if r.factory.matches(spec, kind)]
        return max(matches, key=lambda r: (r.factory.specificity(), r.order), default=None)

    def _unknown(self, spec: HandlerSpec, kind: str | None) -> ProviderConfigError:
        wanted = f"provider {spec.provider!r}, model {spec.model!r} (environment {spec.environment!r}"
        wanted += f", kind {kind!r})" if kind else ")"
        related = [r for r in self._registrations if _pattern_matches(r.factory.provider, spec.provider)]
        if related:
            listing = "; ".join(r.describe() for r in related)
            hint = f"registered for {spec.provider!r}: {listing}. Choose one of these, or install the plugin "
            hint += "that provides the model"
        else:
            known = sorted({r.factory.provider for r in self._registrations})
            hint = f"nothing is registered for {spec.provider!r} (registered providers: "
            hint += f"{', '.join(known) or 'none'}); install the plugin package that provides it"
        return ProviderConfigError(f"no {spec.mode} handler for {wanted}", hint)

    def resolve(
        self,
        provider: str,
        model: str,
        environment: str,
        mode: Mode,
        kind: str | None = None,
        *,
        prices: PriceTable | None = None,
    ) -> ProviderHandler:
        """The handler for this binding, pricing with ``prices`` (default: the bundled table), cached.

        :class:`ProviderConfigError` when no factory matches.
        """
        if mode not in _MODES:
            raise ProviderConfigError(f"unknown provider mode {mode!r}", "use 'mock' or 'live'")
        table = bundled_prices() if prices is None else prices
        spec = HandlerSpec(provider=provider, model=model, environment=environment, mode=mode, prices=table)
        with self._lock:
            registration = self._best(spec, kind)
            if registration is None:
                raise self._unknown(spec, kind)
            key = (mode, provider, model, environment, registration.order, table)
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            handler = self._build(registration, spec)
            self._cache[key] = handler
            return handler

    @staticmethod
    def _build(registration: Registration, spec: HandlerSpec) -> ProviderHandler:
        where = f"{spec.mode} handler for {spec.provider}/{spec.model} (from {registration.source})"
        try:
            handler = registration.factory.build(spec)
        except TutopandaError:
            raise
        except Exception as exc:
            raise ProviderConfigError(
                f"could not create the {where}: {type(exc).__name__}: {exc}",
                f"fix the provider configuration, or report it to the maintainers of {registration.source}",
            ) from exc
        if not isinstance(handler, ProviderHandler):
            raise ProviderConfigError(
                f"the {where} does not implement the provider contract (got {type(handler).__name__})",
                f"report it to the maintainers of {registration.source}",
            )
        return handler

    def resolve_many(
        self,
        requests: Iterable[tuple[str, str, str]],
        *,
        mode: Mode,
        environment: str,
        prices: PriceTable | None = None,
    ) -> dict[HandlerRequest, ProviderHandler]:
        """Resolve every distinct (provider, model, kind) of a run up front (priced with ``prices``).

        Reports *every* unresolvable binding in one :class:`ProviderConfigError`, so a user fixes their
        settings once instead of once per failed run.
        """
        resolved: dict[HandlerRequest, ProviderHandler] = {}
        problems: list[ProviderConfigError] = []
        for raw in requests:
            request = HandlerRequest(*raw)
            if request in resolved:
                continue
            try:
                provider, model, kind = request
                resolved[request] = self.resolve(provider, model, environment, mode, kind, prices=prices)
            except ProviderConfigError as exc:
                problems.append(exc)
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise ProviderConfigError(
                f"{len(problems)} provider bindings cannot be resolved: "
                + "; ".join(problem.message for problem in problems),
                problems[0].hint,
            )
        return resolved

    def handler_resolver(
        self, mode: Mode, environment: str, *, prices: PriceTable | None = None
    ) -> HandlerResolver:
        """The ``(provider, model, kind) -> handler`` callable the runner takes, for one run.

        Every handler it hands out prices with ``prices`` (default: the bundled table), so plan estimates
        and the run's costs come from the one table the front end chose.
        """

        # Remembered per (provider, model, kind) for the run: a 1,000-segment build asks 8,000 times for
        # a handful of handlers, and each fresh answer matches every registration.
        resolved: dict[tuple[str, str, str], ProviderHandler] = {}

        def resolve(provider: str, model: str, kind: str) -> ProviderHandler:
            key = (provider, model, kind)
            handler = resolved.get(key)
            if handler is None:
                handler = self.resolve(provider, model, environment, mode, kind, prices=prices)
                resolved[key] = handler
            return handler

        return resolve

    def warm_start(
        self,
        handlers: Iterable[ProviderHandler] | Mapping[Any, ProviderHandler],
        secrets: SecretResolver,
    ) -> None:
        """Check secrets and config of ``handlers`` offline (see :func:`.warm_start.warm_start`)."""
        warm_start(handlers, secrets)
