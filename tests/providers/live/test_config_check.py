"""Live handlers refuse config keys they would never read — offline, at preflight, before any call."""

from __future__ import annotations

import pytest

from tutopanda.core.blueprint import load_blueprint
from tutopanda.core.blueprint.loader import bundled_blueprint_names
from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers import default_registry
from tutopanda.providers.builtin import OFFLINE_PROVIDERS


def test_every_bundled_live_variant_config_passes_its_handlers_check() -> None:
    registry = default_registry()
    checked = 0
    for name in bundled_blueprint_names():
        for module in load_blueprint(name).modules:
            for variant in module.producer.variants:
                if variant.provider in OFFLINE_PROVIDERS:
                    continue
                handler = registry.resolve(variant.provider, variant.model, "local", "live", module.kind)
                handler.check_config(module.kind, variant.config)  # type: ignore[attr-defined]
                checked += 1
    assert checked >= 8


@pytest.mark.parametrize(
    ("provider", "model", "kind", "key", "suggestion"),
    [
        ("elevenlabs", "eleven_multilingual_v2", "narration", "stabilty", "stability"),
        ("openai", "gpt-5-mini", "script", "reasoningEfort", "reasoningEffort"),
        ("openai", "gpt-4o-mini-tts", "narration", "voise", "voice"),
    ],
)
def test_a_misspelt_key_is_refused_with_a_suggestion(
    provider: str, model: str, kind: str, key: str, suggestion: str
) -> None:
    handler = default_registry().resolve(provider, model, "local", "live", kind)
    with pytest.raises(ProviderConfigError) as caught:
        handler.check_config(kind, {key: 1, "maxInFlight": 3})  # type: ignore[attr-defined]
    assert repr(key) in caught.value.message and suggestion in (caught.value.hint or "")
