"""How the writer chain enters a registry: ``openai-compatible/*`` (the in-process ``local/<writer model>``
variants are registered with the other local models, ``providers/local/registration.py``).

Why a pattern for the compatible server: its model is whatever the user's server serves (``llama3.2``,
``qwen2.5:7b``, ``mistral-small``), so the registry cannot list them; the blueprint's variant is a
pattern too. Building a handler imports nothing heavy and touches no network.
"""

from __future__ import annotations

from tutopanda.core.engine.provider_contract import ProviderHandler
from tutopanda.providers.registry import HandlerFactory, HandlerSpec, ProviderRegistry, Registration
from tutopanda.providers.writers.choice import COMPATIBLE_PROVIDER
from tutopanda.providers.writers.tasks import WRITER_KINDS

__all__ = ["register_writers"]


def _build(spec: HandlerSpec) -> ProviderHandler:
    from tutopanda.providers.writers.chain import WriterChainHandler

    return WriterChainHandler(spec.provider, spec.model, spec.environment)


def register_writers(registry: ProviderRegistry) -> list[Registration]:
    """Register the compatible-server writer for mode ``live``, any environment."""
    registrations = [
        registry.add(
            HandlerFactory(
                provider=COMPATIBLE_PROVIDER,
                model="*",
                environment="*",
                mode="live",
                build=_build,
                kinds=WRITER_KINDS,
                description="any OpenAI-compatible chat-completions server (Ollama, LM Studio, llama-server, "
                "vLLM) at config baseUrl or OPENAI_BASE_URL",
            )
        )
    ]
    return registrations
