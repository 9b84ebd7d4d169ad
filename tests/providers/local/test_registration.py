"""``register_local``: every local model resolves in live mode for the kinds the bundled modules use."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import tutopanda.blueprints
from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers import ProviderRegistry
from tutopanda.providers.local import (
    DraftScriptHandler,
    SlidesHandler,
    SpeechHandler,
    SynthHandler,
    TemplatePromptsHandler,
    register_local,
)
from tutopanda.providers.mock import MockHandler, register_mocks

MODULES = Path(tutopanda.blueprints.__file__).parent / "modules"


@pytest.fixture
def registry() -> ProviderRegistry:
    registry = ProviderRegistry()
    register_mocks(registry)
    register_local(registry)
    return registry


@pytest.mark.parametrize(
    ("model", "kind", "handler_type"),
    [
        ("espeak-ng", "narration", SpeechHandler),
        ("piper", "narration", SpeechHandler),
        ("slides", "image", SlidesHandler),
        ("synth", "music", SynthHandler),
        ("draft-script", "script", DraftScriptHandler),
        ("template-prompts", "image-prompt", TemplatePromptsHandler),
        ("template-prompts", "music-prompt", TemplatePromptsHandler),
        ("template-prompts", "video-prompt", TemplatePromptsHandler),
    ],
)
def test_each_model_resolves_in_live_mode(
    registry: ProviderRegistry, model: str, kind: str, handler_type: type
):
    handler = registry.resolve("local", model, "laptop", "live", kind=kind)
    assert isinstance(handler, handler_type)
    assert (handler.provider, handler.model, handler.mode, handler.environment) == (
        "local",
        model,
        "live",
        "laptop",
    )
    assert handler.estimate_cost(kind, {}, 1) == 0.0
    assert registry.resolve("local", model, "laptop", "mock", kind=kind).__class__ is MockHandler


def test_a_kind_the_model_cannot_do_is_refused(registry: ProviderRegistry) -> None:
    with pytest.raises(ProviderConfigError):
        registry.resolve("local", "slides", "laptop", "live", kind="music")


def test_every_local_variant_of_the_bundled_modules_that_we_serve_resolves(
    registry: ProviderRegistry,
) -> None:
    served = set()
    for path in sorted(MODULES.glob("*.yaml")):
        module = yaml.safe_load(path.read_text(encoding="utf-8"))
        for variant in module.get("variants", []):
            if variant["provider"] == "local" and module["kind"] != "video":
                registry.resolve("local", variant["model"], "local", "live", kind=module["kind"])
                served.add((variant["model"], module["kind"]))
    assert len(served) >= 15  # the offline models/kinds + 2 in-process writer models x 4 text kinds


def test_speech_is_capped_at_two_calls_at_once(registry: ProviderRegistry) -> None:
    limits = registry.resolve("local", "espeak-ng", "local", "live", kind="narration").limits
    assert (limits.key, limits.max_in_flight) == ("local-speech", 2)
