"""Plugin loading through the ``tutopanda.providers`` entry-point group."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers import PLUGIN_GROUP, ProviderRegistry, Registration, default_registry, load_plugins
from tutopanda.providers.mock import MockHandler
from tutopanda.providers.plugins import DISABLE_PLUGINS_ENV


def _entry_point(name: str, target: str) -> EntryPoint:
    return EntryPoint(name=name, value=f"tests.providers.fake_plugin:{target}", group=PLUGIN_GROUP)


def test_a_plugin_registers_its_factories_under_its_name() -> None:
    registry = ProviderRegistry()
    assert load_plugins(registry, [_entry_point("acme", "register")]) == ["acme"]
    (registration,) = registry.registrations
    assert registration.source == "acme"
    assert isinstance(registry.resolve("acme", "clip-1", "cloud", "live", "video"), MockHandler)
    assert registry.loaded_plugins == ["acme"]


def test_a_plugin_is_loaded_once_per_registry() -> None:
    registry = ProviderRegistry()
    plugin = _entry_point("acme", "register")
    load_plugins(registry, [plugin, plugin])
    assert load_plugins(registry, [plugin]) == []
    assert len(registry.registrations) == 1


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("broken", "RuntimeError: acme SDK missing"),
        ("NOT_CALLABLE", "not callable"),
        ("missing", "AttributeError"),
    ],
)
def test_a_broken_plugin_is_a_clear_error_naming_it(target: str, reason: str) -> None:
    with pytest.raises(ProviderConfigError) as caught:
        load_plugins(ProviderRegistry(), [_entry_point("acme", target)])
    assert "provider plugin 'acme'" in caught.value.message
    assert reason in caught.value.message
    assert f"{DISABLE_PLUGINS_ENV}=acme" in (caught.value.hint or "")


def test_a_disabled_plugin_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_PLUGINS_ENV, "other, acme")
    registry = ProviderRegistry()
    assert load_plugins(registry, [_entry_point("acme", "broken")]) == []
    assert registry.registrations == ()


def test_the_installed_builtin_plugin_registers_the_mocks() -> None:
    builtin = EntryPoint(name="builtin", value="tutopanda.providers.builtin:register", group=PLUGIN_GROUP)
    registry = ProviderRegistry()
    load_plugins(registry, [builtin])
    assert isinstance(registry.resolve("openai", "gpt-5-mini", "local", "mock", "script"), MockHandler)
    assert registry.registrations[0].source == "builtin"


def test_the_default_registry_is_built_once_with_the_builtins() -> None:
    registry = default_registry()
    assert registry is default_registry()
    assert "builtin" in registry.loaded_plugins
    assert isinstance(registry.resolve("replicate", "flux", "local", "mock", "image"), MockHandler)


def test_a_fixture_can_add_and_remove_a_third_party_provider(fake_provider: Registration) -> None:
    handler = default_registry().resolve("fakeai", "fake-large", "cloud", "live", "script")
    assert handler.provider == "fakeai"
    assert fake_provider in default_registry().registrations


def test_the_fake_provider_is_gone_after_its_fixture() -> None:
    with pytest.raises(ProviderConfigError):
        default_registry().resolve("fakeai", "fake-large", "cloud", "live", "script")
