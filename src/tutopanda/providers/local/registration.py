"""How the local handlers enter a registry: mode ``live``, provider ``local``, any environment.

Why one factory per model (restricted to its kinds): a blueprint names ``local`` plus a model
(``espeak-ng``, ``slides``...), and a typo or a kind the model cannot do should fail at resolve time
with the registry's "what is registered" hint, not halfway through a run. Handler modules are imported
only when a handler is built (registering costs no numpy/Pillow import), and building never touches
the network (plans and warm starts run offline).
"""

from __future__ import annotations

from collections.abc import Callable

from tutopanda.core.engine.provider_contract import ProviderHandler
from tutopanda.providers.registry import HandlerFactory, HandlerSpec, ProviderRegistry, Registration
from tutopanda.providers.writers.choice import LOCAL_WRITER_MODELS

__all__ = ["LOCAL_MODELS", "LOCAL_PROVIDER", "register_local"]

LOCAL_PROVIDER = "local"

LOCAL_MODELS: dict[str, tuple[frozenset[str], str]] = {
    "espeak-ng": (frozenset({"narration"}), "offline speech with eSpeak NG (robotic; 100+ languages)"),
    "piper": (
        frozenset({"narration"}),
        "offline neural speech with Piper: en_US-joe-medium (the neural extra), other languages "
        "from tutopanda models pull",
    ),
    "slides": (frozenset({"image"}), "styled Pillow slide showing the prompt (Roboto), PNG"),
    "synth": (frozenset({"music"}), "numpy-synthesised background music bed, WAV"),
    "draft-script": (frozenset({"script"}), "a clearly marked DRAFT script sized to the duration"),
    "template-prompts": (
        frozenset({"image-prompt", "music-prompt", "video-prompt"}),
        "deterministic prompts from the script's key sentences",
    ),
    **{
        model: (frozenset({"script", "image-prompt", "music-prompt", "video-prompt"}), description)
        for model, description in LOCAL_WRITER_MODELS.items()
    },
}
"""Model name -> (kinds it serves, description)."""


def _builder(model: str) -> Callable[[HandlerSpec], ProviderHandler]:
    def build(spec: HandlerSpec) -> ProviderHandler:
        where = (spec.provider, spec.model, spec.environment)
        if model in ("espeak-ng", "piper"):
            from tutopanda.providers.local.speech import SpeechHandler

            return SpeechHandler(*where, default_engine="piper" if model == "piper" else "espeak")
        if model == "slides":
            from tutopanda.providers.local.slides_handler import SlidesHandler

            return SlidesHandler(*where)
        if model == "synth":
            from tutopanda.providers.local.music_handler import SynthHandler

            return SynthHandler(*where)
        if model in LOCAL_WRITER_MODELS:
            from tutopanda.providers.writers.chain import WriterChainHandler

            return WriterChainHandler(*where)
        if model == "draft-script":
            from tutopanda.providers.local.draft_script import DraftScriptHandler

            return DraftScriptHandler(*where)
        from tutopanda.providers.local.template_prompts import TemplatePromptsHandler

        return TemplatePromptsHandler(*where)

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
