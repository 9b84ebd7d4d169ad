"""Provider wiring: which handlers a build runs, and the offline checks they pass before anything is recorded.

Every front end (the CLI's ``query``, ``edit`` and ``build run``, the durable workers) needs the same
four things from the providers layer, so they live here once rather than in a command module:

* :func:`resolver` — the handlers of a mode from the default registry, with the user's price file;
* :func:`root_prices` — the price table of a store (bundled prices overlaid by ``<root>/prices.toml``);
* :func:`preflight` — before any call, every dirty job has a handler with its secrets and config;
* :func:`check_configs` — each dirty job's config against its handler's own ``check_config``;
* :func:`online_jobs` / :func:`check_offline` — which dirty jobs would need the network, and the
  ``--providers local`` refusal of them.

The engine (:mod:`tutopanda.core.engine.change`) takes these as plain callables, so it never imports
providers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tutopanda.core.engine.planner import Plan
from tutopanda.core.engine.provider_contract import (
    HandlerResolver,
    Mode,
    ProviderHandler,
    ResolverFactory,
    SecretResolver,
)
from tutopanda.core.errors import ProviderConfigError, TutopandaError, UsageError
from tutopanda.providers.pricing import PriceTable

__all__ = [
    "check_configs",
    "check_offline",
    "online_jobs",
    "preflight",
    "price_file",
    "resolver",
    "resolver_factory",
    "root_prices",
]


def price_file(root: str) -> Path | None:
    """``<root>/prices.toml``, the user's price overrides (None for a remote root: no local file)."""
    return None if "://" in root else Path(root).expanduser() / "prices.toml"


def root_prices(root: str) -> PriceTable:
    """The prices of the store at ``root``: the bundled table overlaid by its ``prices.toml``, if any."""
    return PriceTable.load(price_file(root))


def resolver(mode: Mode, *, prices: Path | None = None) -> HandlerResolver:
    """Handlers for ``mode`` from the default registry (built-ins and plugins), priced with ``prices``.

    ``prices`` is the user's override file (:func:`price_file`); plans and costs use it. The table is
    read here, once, and handed to every handler this resolver gives out (the registry builds one
    handler per binding and table), so another resolver with another file prices its own calls.
    """
    from tutopanda.providers.plugins import default_registry

    return default_registry().handler_resolver(mode, "local", prices=PriceTable.load(prices))


def resolver_factory(prices: Path | None) -> ResolverFactory:
    """``mode -> resolver`` for a process that runs jobs of several modes (a durable worker)."""

    def make(mode: Mode) -> HandlerResolver:
        return resolver(mode, prices=prices)

    return make


def preflight(plan: Plan, mode: Mode, secrets: SecretResolver) -> None:
    """Before any call: every dirty job has a handler, and every handler has its secrets and config."""
    from tutopanda.providers.plugins import default_registry

    registry = default_registry()
    requests = ((p.job.variant.provider, p.job.variant.model, p.job.kind) for p in plan.jobs)
    handlers = registry.resolve_many(requests, mode=mode, environment="local")
    registry.warm_start(handlers, secrets)
    check_configs(plan, handlers)


def check_configs(plan: Plan, handlers: Mapping[Any, ProviderHandler]) -> None:
    """Each dirty job's config against its handler's ``check_config`` (when it has one), offline.

    Every distinct (module, handler) is checked once; the first problem is reported with its job.
    """
    seen: set[tuple[str, int]] = set()
    for planned in plan.jobs:
        job = planned.job
        handler = handlers.get((job.variant.provider, job.variant.model, job.kind))
        check = getattr(handler, "check_config", None)
        if handler is None or check is None or (job.module, id(handler)) in seen:
            continue
        seen.add((job.module, id(handler)))
        try:
            check(job.kind, job.variant.config)
        except TutopandaError as exc:
            raise ProviderConfigError(f"{job.module} config: {exc.message}", exc.hint) from exc


def online_jobs(plan: Plan) -> dict[str, str]:
    """Module -> ``provider/model`` of the plan's dirty jobs that run on a provider needing the network."""
    from tutopanda.providers.builtin import runs_offline

    online: dict[str, str] = {}
    for planned in plan.jobs:
        variant = planned.job.variant
        if not runs_offline(variant.provider, variant.config):
            online.setdefault(planned.job.module, f"{variant.provider}/{variant.model}")
    return online


def check_offline(plan: Plan) -> None:
    """``--providers local``: refuse a plan with a dirty job on a provider that needs the network."""
    online = online_jobs(plan)
    if online:
        named = ", ".join(f"{module} uses {choice}" for module, choice in online.items())
        first = next(iter(online))
        raise UsageError(
            f"--providers local: {named}, which needs the network",
            f"switch to an offline variant (tutopanda blueprints describe lists them), e.g. "
            f"'tutopanda query --movie {plan.movie_id} --providers local' picks them all, "
            f"or drop --providers local to run {first} online",
        )
