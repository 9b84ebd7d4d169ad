"""Provider handlers behind the engine's contract, and the registry that picks one per job.

* :class:`ProviderRegistry` — factories by (provider, model, environment, mode) pattern; ``resolve``,
  ``resolve_many``, ``handler_resolver`` for the runner, ``warm_start`` before spending anything.
* :func:`default_registry` — the registry with every ``tutopanda.providers`` entry-point plugin loaded.
* :mod:`tutopanda.providers.mock` — deterministic offline handlers for every producer kind.
* :func:`voices_for` — the voice ids a speech provider/model accepts (None: any), for ``query --voice``.

Imports only :mod:`tutopanda.core` (never the CLI); see ``docs/providers.md``.
"""

from __future__ import annotations

from tutopanda.providers.plugins import PLUGIN_GROUP, default_registry, load_plugins
from tutopanda.providers.registry import (
    HandlerBuilder,
    HandlerFactory,
    HandlerRequest,
    HandlerSpec,
    ModePattern,
    ProviderRegistry,
    Registration,
)
from tutopanda.providers.voices import DEFAULT_VOICE, VoiceSet, handler_voices, voices_for
from tutopanda.providers.warm_start import WarmStartHook, required_secrets, warm_start

__all__ = [
    "DEFAULT_VOICE",
    "PLUGIN_GROUP",
    "HandlerBuilder",
    "HandlerFactory",
    "HandlerRequest",
    "HandlerSpec",
    "ModePattern",
    "ProviderRegistry",
    "Registration",
    "VoiceSet",
    "WarmStartHook",
    "default_registry",
    "handler_voices",
    "load_plugins",
    "required_secrets",
    "voices_for",
    "warm_start",
]
