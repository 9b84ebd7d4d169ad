"""How the mocks enter a registry: one factory, mode ``mock``, any provider, model and environment.

Why one factory for all kinds: the mock handler follows each job's kind itself, so a run binds one
mock handler per provider/model (the registry's cache key) instead of one per kind.
"""

from __future__ import annotations

from tutopanda.providers.mock.counter import MockCallCounter
from tutopanda.providers.mock.handler import MOCK_KINDS, MockHandler
from tutopanda.providers.mock.options import MockOptions
from tutopanda.providers.registry import HandlerFactory, HandlerSpec, ProviderRegistry, Registration

__all__ = ["register_mocks"]


def register_mocks(
    registry: ProviderRegistry,
    *,
    options: MockOptions | None = None,
    counter: MockCallCounter | None = None,
) -> Registration:
    """Register the mock handlers for every kind in :data:`MOCK_KINDS`.

    Without ``options``, each handler reads ``TUTOPANDA_MOCK_OPTIONS`` when it is built.
    """

    def build(spec: HandlerSpec) -> MockHandler:
        return MockHandler(spec.provider, spec.model, spec.environment, options=options, counter=counter)

    return registry.add(
        HandlerFactory(
            provider="*",
            model="*",
            environment="*",
            mode="mock",
            build=build,
            kinds=MOCK_KINDS,
            description="deterministic offline artefacts (PNG, WAV, MP4, text, timeline JSON)",
        )
    )
