"""The ``builtin`` plugin: Tutopanda's own handlers, registered the way a third-party plugin would be.

``pyproject.toml`` points the ``tutopanda.providers`` entry point ``builtin`` here. It registers the
mocks (mode ``mock``), the offline local content providers (speech, slides, music, draft script,
template prompts), the script-writer chain (an OpenAI-compatible server, the in-process local model),
the ffmpeg renderer (segment clips, timeline, MP4 export) and the cloud providers
(OpenAI, Replicate, ElevenLabs; imported only when a job uses them) for mode ``live``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from tutopanda.providers.live import register_live
from tutopanda.providers.local import register_local
from tutopanda.providers.mock.registration import register_mocks
from tutopanda.providers.registry import ProviderRegistry
from tutopanda.providers.render import register_render
from tutopanda.providers.writers.registration import register_writers

__all__ = ["OFFLINE_PROVIDERS", "register", "runs_offline"]

OFFLINE_PROVIDERS = frozenset({"local", "tutopanda"})
"""Providers whose built-in handlers never touch the network (``--providers local`` allows only these)."""

_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def runs_offline(provider: str, config: Mapping[str, Any] | None = None) -> bool:
    """Whether a job on ``provider`` with this variant ``config`` stays on this machine (and so is free).

    The offline providers always do; an ``openai-compatible`` writer does when its ``baseUrl`` is a
    loopback address (an Ollama or llama-server the user runs here), not when it is a remote gateway.
    """
    if provider in OFFLINE_PROVIDERS:
        return True
    if provider != "openai-compatible":
        return False
    base = (config or {}).get("baseUrl")
    host = urlsplit(base).hostname if isinstance(base, str) else None
    return host in _LOOPBACK_HOSTS or bool(host and host.startswith("127."))


def register(registry: ProviderRegistry) -> None:
    """Add every built-in handler factory to ``registry``."""
    register_mocks(registry)
    register_local(registry)
    register_render(registry)
    register_live(registry)
    register_writers(registry)
