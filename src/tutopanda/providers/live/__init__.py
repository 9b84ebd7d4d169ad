"""Cloud handlers: OpenAI, Replicate and ElevenLabs over HTTP (see ``docs/providers.md``).

Each provider module exposes ``build_handler(spec)``; :func:`register_live` adds them to a registry
without importing them. Shared pieces: :mod:`.http` (errors, timeouts, streamed downloads),
:mod:`.templates` (``{{Variable}}`` prompts), :mod:`.base` (secret, throttles, prices).
"""

from __future__ import annotations

from tutopanda.providers.live.registration import LIVE_MODELS, register_live

__all__ = ["LIVE_MODELS", "register_live"]
