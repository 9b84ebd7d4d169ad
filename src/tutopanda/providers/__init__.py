"""Provider handlers behind the engine's contract, and the registry that picks one per job.

* :class:`ProviderRegistry` — factories by (provider, model, environment, mode) pattern; ``resolve``,
  ``resolve_many``, ``handler_resolver`` for the runner, ``warm_start`` before spending anything.
* :func:`default_registry` — the registry with every ``tutopanda.providers`` entry-point plugin loaded.
* :mod:`tutopanda.providers.mock` — deterministic offline handlers for every producer kind.
* :mod:`tutopanda.providers.job_inputs` — reading a job's text/number inputs and requested artefacts
  by name (``input_text``, ``requested_artefacts``...), shared by every handler, plugins included.
* :mod:`tutopanda.providers.pricing` — the price table (``PriceTable.load``), bundled plus
  ``<root>/prices.toml``; chosen per resolver and handed to the handlers it builds.
* :func:`voices_for` — the voice ids a speech provider/model accepts (None: any), for ``query --voice``.

Imports only :mod:`tutopanda.core` (never the CLI); see ``docs/providers.md``.
"""

from __future__ import annotations

from tutopanda.providers.job_inputs import (
    RequestedArtefact,
    config_number,
    input_int,
    input_text,
    requested_artefacts,
    strings,
)
from tutopanda.providers.plugins import PLUGIN_GROUP, default_registry, load_plugins
from tutopanda.providers.pricing import (
    PRICE_UNITS,
    Price,
    PriceTable,
    bundled_prices,
)
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
    "PRICE_UNITS",
    "HandlerBuilder",
    "HandlerFactory",
    "HandlerRequest",
    "HandlerSpec",
    "ModePattern",
    "Price",
    "PriceTable",
    "ProviderRegistry",
    "Registration",
    "RequestedArtefact",
    "VoiceSet",
    "WarmStartHook",
    "bundled_prices",
    "config_number",
    "default_registry",
    "handler_voices",
    "input_int",
    "input_text",
    "load_plugins",
    "requested_artefacts",
    "required_secrets",
    "strings",
    "voices_for",
    "warm_start",
]
