"""How the local handlers enter a registry: mode ``live``, provider ``local``, any environment.

Why one factory per model (restricted to its kinds): a blueprint names ``local`` plus a model
(``espeak-ng``, ``slides``...), and a typo or a kind the model cannot do should fail at resolve time
with the registry's "what is registered" hint, not halfway through a run. Handlers are built lazily
and never touch the network (plans and warm starts run offline).
"""

from __future__ import annotations

from collections.abc import Callable

from tutopanda.core.provider_contract import ProviderHandler
from tutopanda.providers.local.draft_script import DraftScriptHandler
from tutopanda.providers.local.music_handler import SynthHandler
from tutopanda.providers.local.slides_handler import SlidesHandler
from tutopanda.providers.local.speech import SpeechHandler
from tutopanda.providers.local.template_prompts import TemplatePromptsHandler
from tutopanda.providers.registry import HandlerFactory, HandlerSpec, ProviderRegistry, Registration

__all__ = ["LOCAL_MODELS", "LOCAL_PROVIDER", "register_local"]

LOCAL_PROVIDER = "local"

LOCAL_MODELS: dict[str, tuple[frozenset[str], str]] = {
    "espeak-ng": (frozenset({"narration"}), "offline speech: Piper when installed (English), else eSpeak NG"),
    "piper": (frozenset({"narration"}), "offline neural speech (Piper, en_US-joe-medium; the neural extra)"),
    "slides": (frozenset({"image"}), "styled Pillow slide showing the prompt (Roboto), PNG"),
    "synth": (frozenset({"music"}), "numpy-synthesised background music bed, WAV"),
    "draft-script": (frozenset({"script"}), "a clearly marked DRAFT script sized to the duration"),
    "template-prompts": (
        frozenset({"image-prompt", "music-prompt", "video-prompt"}),
        "deterministic prompts from the script's key sentences",
    ),
}
"""Model name -> (kinds it serves, description)."""


def _builder(model: str) -> Callable[[HandlerSpec], ProviderHandler]:
    def build(spec: HandlerSpec) -> ProviderHandler:
        if model == "espeak-ng":
            return SpeechHandler(spec.provider, spec.model, spec.environment)
        if model == "piper":
            return SpeechHandler(spec.provider, spec.model, spec.environment, default_engine="piper")
        if model == "slides":
            return SlidesHandler(spec.provider, spec.model, spec.environment)
        if model == "synth":
            return SynthHandler(spec.provider, spec.model, spec.environment)
        if model == "draft-script":
            return DraftScriptHandler(spec.provider, spec.model, spec.environment)
        return TemplatePromptsHandler(spec.provider, spec.model, spec.environment)

    return build


def register_local(registry: ProviderRegistry) -> list[Registration]:
    """Register every local model (see :data:`LOCAL_MODELS`) for mode ``live``, any environment."""
    return [
        registry.add(
            HandlerFactory(
                provider=LOCAL_PROVIDER,
                model=model,
                environment="*",
                mode="live",
                build=_builder(model),
                kinds=kinds,
                description=description,
            )
        )
        for model, (kinds, description) in LOCAL_MODELS.items()
    ]
