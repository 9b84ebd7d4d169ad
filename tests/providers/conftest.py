"""Fixtures for provider tests: a registry with only the mocks, sharing a call counter with the tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tutopanda.providers import HandlerFactory, HandlerSpec, ProviderRegistry, Registration, default_registry
from tutopanda.providers.mock import MockCallCounter, MockHandler, register_mocks


@pytest.fixture
def counter() -> MockCallCounter:
    return MockCallCounter()


@pytest.fixture
def registry(counter: MockCallCounter) -> ProviderRegistry:
    """An explicit registry: the mocks only, recording into ``counter`` (no entry points involved)."""
    registry = ProviderRegistry()
    register_mocks(registry, counter=counter)
    return registry


class FakeLiveHandler(MockHandler):
    """A stand-in for a third-party live handler that needs an API key."""

    needs_secrets = ("FAKE_API_KEY",)


@pytest.fixture
def fake_provider() -> Iterator[Registration]:
    """Registers a fake third-party ``fakeai`` provider in the default registry, then unregisters it."""

    def build(spec: HandlerSpec) -> FakeLiveHandler:
        return FakeLiveHandler(spec.provider, spec.model, spec.environment, mode=spec.mode)

    factory = HandlerFactory("fakeai", "fake-*", "*", "live", build, description="fake third-party")
    with default_registry().registered(factory) as registration:
        yield registration
