"""Which voice ids a speech provider accepts, asked before a movie records one.

Why ask up front: a ``VoiceId`` the speech engine does not know only fails when the narration job runs,
after the script (and maybe paid images) were made. ``tutopanda query --voice`` checks the id against
the voices of the provider/model that will read the narration, and a typo exits 2 with a "did you mean"
instead.

Where the lists come from: a narration handler may offer ``voices() -> VoiceSet | None``. The local
speech handler returns its eSpeak NG (and Piper) voices, the mock returns None (it reads no voice, so
any id is fine), and a provider without the method — the live providers, third-party plugins — is
treated as accepting any id: it checks the voice itself when it runs.
"""

from __future__ import annotations

from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers.registry import ProviderRegistry
from tutopanda.providers.voice_set import DEFAULT_VOICE, VoiceSet, handler_voices

__all__ = ["DEFAULT_VOICE", "VoiceSet", "handler_voices", "voices_for"]


def voices_for(
    provider: str,
    model: str,
    *,
    registry: ProviderRegistry | None = None,
    environment: str = "local",
) -> VoiceSet | None:
    """The voices of the live narration handler for ``provider``/``model``, or None when unknown.

    None means "any id": no handler is registered for it here (a live provider whose plugin is not
    installed), or the handler does not list its voices. Building a handler never touches the network.
    """
    if registry is None:
        from tutopanda.providers.plugins import default_registry

        registry = default_registry()
    try:
        handler = registry.resolve(provider, model, environment, "live", "narration")
    except ProviderConfigError:
        return None
    return handler_voices(handler)
