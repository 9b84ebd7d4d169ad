"""The ``builtin`` plugin: Tutopanda's own handlers, registered the way a third-party plugin would be.

``pyproject.toml`` points the ``tutopanda.providers`` entry point ``builtin`` here. It registers the
mocks (mode ``mock``), the offline local content providers (speech, slides, music, draft script,
template prompts), the script-writer chain (an OpenAI-compatible server, the in-process local model),
the ffmpeg renderer (segment clips, timeline, MP4 export) and the cloud providers
(OpenAI, Replicate, ElevenLabs; imported only when a job uses them) for mode ``live``.
"""

from __future__ import annotations

from tutopanda.providers.live import register_live
from tutopanda.providers.local import register_local
from tutopanda.providers.mock.registration import register_mocks
from tutopanda.providers.registry import ProviderRegistry
from tutopanda.providers.render import register_render
from tutopanda.providers.writers.registration import register_writers

__all__ = ["OFFLINE_PROVIDERS", "register"]

OFFLINE_PROVIDERS = frozenset({"local", "tutopanda"})
"""Providers whose built-in handlers never touch the network (``--providers local`` allows only these)."""


def register(registry: ProviderRegistry) -> None:
    """Add every built-in handler factory to ``registry``."""
    register_mocks(registry)
    register_local(registry)
    register_render(registry)
    register_live(registry)
    register_writers(registry)
