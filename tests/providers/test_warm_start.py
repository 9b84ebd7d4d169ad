"""Warm start: secrets and config are checked before a run spends anything, without the network."""

from __future__ import annotations

import pytest

from tutopanda.core.engine.provider_contract import EnvSecretResolver, SecretResolver
from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers import ProviderRegistry, Registration, default_registry, warm_start
from tutopanda.providers.mock import MockHandler

from .conftest import FakeLiveHandler

SECRET = "sk-canary-0123456789"


class ConfigCheckingHandler(FakeLiveHandler):
    """Refuses a key that does not look right, and leaks it in its message (warm start must redact it)."""

    def warm_start(self, secrets: SecretResolver) -> None:
        key = secrets.get("FAKE_API_KEY") or ""
        if not key.startswith("sk-live"):
            raise ProviderConfigError(f"key {key} is not a live key", f"replace {key} with a live key")


class CrashingHandler(FakeLiveHandler):
    def warm_start(self, secrets: SecretResolver) -> None:
        raise RuntimeError(f"boom {secrets.get('FAKE_API_KEY')}")


def test_mock_handlers_need_no_secrets(registry: ProviderRegistry) -> None:
    handlers = registry.resolve_many([("openai", "gpt", "script")], mode="mock", environment="local")
    registry.warm_start(handlers, EnvSecretResolver({}))


def test_a_missing_secret_names_the_variable_and_the_handlers(fake_provider: Registration) -> None:
    registry = default_registry()
    handlers = registry.resolve_many(
        [("fakeai", "fake-large", "script"), ("fakeai", "fake-small", "image")],
        mode="live",
        environment="cloud",
    )
    with pytest.raises(ProviderConfigError) as caught:
        registry.warm_start(handlers, EnvSecretResolver({}))
    assert (
        caught.value.message == "missing secret FAKE_API_KEY (needed by fakeai/fake-large, fakeai/fake-small)"
    )
    assert "export FAKE_API_KEY=" in (caught.value.hint or "")


def test_present_secrets_pass(fake_provider: Registration) -> None:
    handler = default_registry().resolve("fakeai", "fake-large", "cloud", "live", "script")
    warm_start([handler], EnvSecretResolver({"FAKE_API_KEY": SECRET}))


def test_every_problem_is_reported_once_and_secret_values_are_redacted() -> None:
    missing = FakeLiveHandler("fakeai", "a", mode="live")
    rejecting = ConfigCheckingHandler("fakeai", "b", mode="live")
    crashing = CrashingHandler("fakeai", "c", mode="live")
    secrets = EnvSecretResolver({"FAKE_API_KEY": SECRET})
    warm_start([missing], secrets)  # present: fine
    with pytest.raises(ProviderConfigError) as caught:
        warm_start({"x": rejecting, "y": crashing, "z": rejecting}, secrets)
    text = f"{caught.value.message} {caught.value.hint}"
    assert SECRET not in text
    assert "fakeai/b: key *** is not a live key" in caught.value.message
    assert "fakeai/c: warm start failed: RuntimeError: boom ***" in caught.value.message
    assert caught.value.message.count("fakeai/b") == 1


def test_a_malformed_needs_secrets_declaration_is_reported() -> None:
    handler = MockHandler()
    handler.needs_secrets = "FAKE_API_KEY"  # type: ignore[assignment]
    with pytest.raises(ProviderConfigError, match="needs_secrets must be a tuple"):
        warm_start([handler], EnvSecretResolver({}))
