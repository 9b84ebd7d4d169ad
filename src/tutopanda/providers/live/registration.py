"""How the cloud handlers enter a registry: mode ``live``, one factory per (provider, model pattern).

Registering imports nothing heavy: each factory's ``build`` imports its provider module (httpx, the
OpenAI SDK) only when a job needs it, so ``tutopanda --help`` stays fast and offline movies never load
them. Building never touches the network.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from tutopanda.core.engine.provider_contract import ProviderHandler
from tutopanda.providers.registry import HandlerFactory, HandlerSpec, ProviderRegistry, Registration

__all__ = ["LIVE_MODELS", "register_live"]

LIVE_MODELS: tuple[tuple[str, str, frozenset[str], str, str], ...] = (
    # provider, model pattern, kinds, module, description
    (
        "openai",
        "gpt-5*",
        frozenset({"script", "image-prompt", "video-prompt", "music-prompt"}),
        "openai_text",
        "OpenAI Responses API: templated prompt, JSON-schema output mapped to artefacts",
    ),
    (
        "openai",
        "gpt-4.1*",
        frozenset({"script", "image-prompt", "video-prompt", "music-prompt"}),
        "openai_text",
        "OpenAI Responses API (non-reasoning GPT-4.1 models)",
    ),
    ("openai", "*tts*", frozenset({"narration"}), "openai_media", "OpenAI text-to-speech"),
    ("openai", "gpt-image-*", frozenset({"image"}), "openai_media", "OpenAI image generation"),
    (
        "replicate",
        "*",
        frozenset({"image", "video", "music", "narration"}),
        "replicate",
        "Replicate predictions: create, poll, download (image, video, music, speech models)",
    ),
    ("elevenlabs", "eleven_*", frozenset({"narration"}), "elevenlabs", "ElevenLabs text-to-speech"),
    ("elevenlabs", "music_*", frozenset({"music"}), "elevenlabs", "ElevenLabs music"),
)


def _builder(module: str) -> Callable[[HandlerSpec], ProviderHandler]:
    def build(spec: HandlerSpec) -> ProviderHandler:
        handler: ProviderHandler = import_module(f"tutopanda.providers.live.{module}").build_handler(spec)
        return handler

    return build


def register_live(registry: ProviderRegistry) -> list[Registration]:
    """Add a live factory per entry of :data:`LIVE_MODELS` to ``registry``."""
    return [
        registry.add(
            HandlerFactory(
                provider=provider,
                model=model,
                environment="*",
                mode="live",
                build=_builder(module),
                kinds=kinds,
                description=description,
            )
        )
        for provider, model, kinds, module, description in LIVE_MODELS
    ]
