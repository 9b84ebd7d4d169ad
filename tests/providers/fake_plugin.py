"""A third-party provider plugin as a package would ship it (loaded through fake entry points)."""

from __future__ import annotations

from tutopanda.providers import HandlerFactory, HandlerSpec, ProviderRegistry
from tutopanda.providers.mock import MockHandler

NOT_CALLABLE = 42


def _build(spec: HandlerSpec) -> MockHandler:
    return MockHandler(spec.provider, spec.model, spec.environment, mode=spec.mode)


def register(registry: ProviderRegistry) -> None:
    registry.add(HandlerFactory("acme", "*", "*", "live", _build, description="acme video"))


def broken(registry: ProviderRegistry) -> None:
    raise RuntimeError("acme SDK missing")
