"""Registry: pattern matching, specificity, caching, errors and resolving a whole run."""

from __future__ import annotations

import pytest

from tutopanda.core.engine.provider_contract import ProviderHandler
from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers import HandlerFactory, HandlerRequest, HandlerSpec, ProviderRegistry, Registration
from tutopanda.providers.mock import MockHandler


def _factory(provider: str, model: str, environment: str = "*", mode: str = "live", **extra: object):
    def build(spec: HandlerSpec) -> MockHandler:
        handler = MockHandler(spec.provider, spec.model, spec.environment, mode=spec.mode)
        handler.built_by = (provider, model, environment, mode)  # type: ignore[attr-defined]
        return handler

    return HandlerFactory(provider, model, environment, mode, build, **extra)  # type: ignore[arg-type]


def _built_by(handler: ProviderHandler) -> tuple[str, str, str, str]:
    return handler.built_by  # type: ignore[attr-defined, no-any-return]


def test_mock_mode_resolves_any_provider_and_model_to_the_mock(registry: ProviderRegistry) -> None:
    handler = registry.resolve("openai", "gpt-5-mini", "local", "mock", "script")
    assert isinstance(handler, MockHandler)
    assert (handler.provider, handler.model, handler.mode) == ("openai", "gpt-5-mini", "mock")


def test_a_run_reuses_one_handler_per_binding(registry: ProviderRegistry) -> None:
    first = registry.resolve("openai", "gpt-5-mini", "local", "mock", "script")
    assert registry.resolve("openai", "gpt-5-mini", "local", "mock", "image-prompt") is first
    assert registry.resolve("openai", "gpt-5-mini", "cloud", "mock", "script") is not first
    assert registry.resolve("replicate", "flux", "local", "mock", "image") is not first


def test_the_most_specific_factory_wins() -> None:
    registry = ProviderRegistry()
    for factory in (
        _factory("*", "*"),
        _factory("openai", "*"),
        _factory("openai", "gpt-5*"),
        _factory("openai", "gpt-5-mini"),
        _factory("openai", "gpt-5-mini", "cloud"),
    ):
        registry.add(factory)
    assert _built_by(registry.resolve("openai", "gpt-5-mini", "cloud", "live")) == (
        "openai",
        "gpt-5-mini",
        "cloud",
        "live",
    )
    assert _built_by(registry.resolve("openai", "gpt-5-mini", "local", "live"))[1] == "gpt-5-mini"
    assert _built_by(registry.resolve("openai", "gpt-5-nano", "local", "live"))[1] == "gpt-5*"
    assert _built_by(registry.resolve("openai", "o3", "local", "live"))[:2] == ("openai", "*")
    assert _built_by(registry.resolve("replicate", "flux", "local", "live"))[:2] == ("*", "*")


def test_an_exact_mode_beats_a_mode_agnostic_factory(registry: ProviderRegistry) -> None:
    registry.add(_factory("openai", "gpt-5-mini", mode="*"))
    assert isinstance(registry.resolve("openai", "gpt-5-mini", "local", "live"), MockHandler)
    mock = registry.resolve("openai", "gpt-5-mini", "local", "mock", "script")
    assert not hasattr(mock, "built_by"), "a mode-agnostic live factory must not shadow the mocks"


def test_kind_restricted_factories_only_serve_their_kinds() -> None:
    registry = ProviderRegistry()
    registry.add(_factory("replicate", "*", kinds=frozenset({"image"})))
    registry.add(_factory("replicate", "*", description="anything else"))
    images = registry.resolve("replicate", "flux", "local", "live", "image")
    video = registry.resolve("replicate", "flux", "local", "live", "video")
    assert images is not video


def test_the_later_registration_wins_a_tie() -> None:
    registry = ProviderRegistry()
    registry.add(_factory("openai", "*"))
    override = registry.add(_factory("openai", "*", description="override"))
    handler = registry.resolve("openai", "gpt", "local", "live")
    registry.remove(override)
    assert registry.resolve("openai", "gpt", "local", "live") is not handler


def test_unknown_model_lists_what_is_registered_for_the_provider() -> None:
    registry = ProviderRegistry()
    registry.add(_factory("openai", "gpt-5-mini", kinds=frozenset({"script"})))
    with pytest.raises(ProviderConfigError) as caught:
        registry.resolve("openai", "gpt-9", "local", "live", "script")
    assert "no live handler for provider 'openai', model 'gpt-9'" in caught.value.message
    assert caught.value.hint is not None
    assert "live openai/gpt-5-mini" in caught.value.hint
    assert caught.value.exit_code == 2


def test_unknown_provider_lists_the_registered_providers(registry: ProviderRegistry) -> None:
    registry.add(_factory("openai", "*"))
    with pytest.raises(ProviderConfigError) as caught:
        registry.resolve("elevenlabs", "v2", "local", "live", "narration")
    assert "registered for 'elevenlabs': mock */*" in (caught.value.hint or "")
    empty = ProviderRegistry()
    with pytest.raises(ProviderConfigError, match="no mock handler") as caught:
        empty.resolve("openai", "gpt", "local", "mock")
    assert "registered providers: none" in (caught.value.hint or "")


def test_an_invalid_mode_is_a_config_error(registry: ProviderRegistry) -> None:
    with pytest.raises(ProviderConfigError, match="unknown provider mode"):
        registry.resolve("openai", "gpt", "local", "dry")  # type: ignore[arg-type]


def test_resolve_many_binds_each_distinct_request_once(registry: ProviderRegistry) -> None:
    requests = [
        ("openai", "gpt-5-mini", "script"),
        ("openai", "gpt-5-mini", "script"),
        ("local", "x", "image"),
    ]
    resolved = registry.resolve_many(requests, mode="mock", environment="local")
    assert list(resolved) == [
        HandlerRequest("openai", "gpt-5-mini", "script"),
        HandlerRequest("local", "x", "image"),
    ]
    assert resolved[HandlerRequest("openai", "gpt-5-mini", "script")].model == "gpt-5-mini"


def test_resolve_many_reports_every_unresolvable_binding_at_once() -> None:
    registry = ProviderRegistry()
    registry.add(_factory("openai", "gpt-5-mini"))
    requests = [
        ("openai", "gpt-5-mini", "script"),
        ("openai", "gpt-9", "script"),
        ("replicate", "flux", "image"),
    ]
    with pytest.raises(ProviderConfigError) as caught:
        registry.resolve_many(requests, mode="live", environment="local")
    assert caught.value.message.startswith("2 provider bindings cannot be resolved")
    assert "'gpt-9'" in caught.value.message and "'replicate'" in caught.value.message


def test_handler_resolver_is_the_runner_callable(registry: ProviderRegistry) -> None:
    resolve = registry.handler_resolver("mock", "local")
    handler = resolve("openai", "gpt-5-mini", "narration")
    assert handler is registry.resolve("openai", "gpt-5-mini", "local", "mock", "narration")
    assert handler.environment == "local"


def test_a_factory_that_crashes_becomes_a_config_error_naming_its_source() -> None:
    def build(spec: HandlerSpec) -> ProviderHandler:
        raise RuntimeError("client init failed")

    registry = ProviderRegistry()
    with registry.registering_as("acme-plugin"):
        registry.add(HandlerFactory("acme", "*", "*", "live", build))
    with pytest.raises(ProviderConfigError, match=r"acme-plugin.*RuntimeError: client init failed"):
        registry.resolve("acme", "m", "local", "live")


def test_a_factory_that_returns_a_non_handler_is_refused() -> None:
    registry = ProviderRegistry()
    registry.add(HandlerFactory("acme", "*", "*", "live", lambda spec: object()))  # type: ignore[arg-type, return-value]
    with pytest.raises(ProviderConfigError, match="does not implement the provider contract"):
        registry.resolve("acme", "m", "local", "live")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"provider": ""}, "provider must be a non-empty string"),
        ({"mode": "dry"}, "mode must be"),
        ({"kinds": frozenset()}, "kinds must be"),
        ({"build": "not callable"}, "build must be callable"),
    ],
)
def test_invalid_factories_are_refused(fields: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "provider": "p",
        "model": "m",
        "environment": "*",
        "mode": "live",
        "build": lambda spec: None,
    }
    with pytest.raises(ValueError, match=message):
        HandlerFactory(**{**arguments, **fields})  # type: ignore[arg-type]


def test_remove_drops_cached_handlers_and_refuses_strangers(registry: ProviderRegistry) -> None:
    registration = registry.add(_factory("openai", "*"))
    before = registry.resolve("openai", "gpt", "local", "live")
    registry.remove(registration)
    with pytest.raises(ProviderConfigError):
        registry.resolve("openai", "gpt", "local", "live")
    with pytest.raises(KeyError):
        registry.remove(registration)
    registry.add(_factory("openai", "*"))
    assert registry.resolve("openai", "gpt", "local", "live") is not before


def test_registrations_are_listed_for_humans_and_json(registry: ProviderRegistry) -> None:
    (mock,) = registry.registrations
    assert isinstance(mock, Registration)
    assert mock.describe().startswith("mock */* (environment *; clip, export, image, ")
    data = mock.to_dict()
    assert data["mode"] == "mock" and data["source"] == "direct" and "script" in data["kinds"]


def test_clear_cache_forgets_built_handlers(registry: ProviderRegistry) -> None:
    first = registry.resolve("openai", "gpt", "local", "mock", "script")
    registry.clear_cache()
    assert registry.resolve("openai", "gpt", "local", "mock", "script") is not first
