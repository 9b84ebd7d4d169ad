"""Which provider/model each module of a query's movie runs, and the provider configs they take.

Why a module of its own: a variant can come from a ``--provider`` flag, a ``[[producers]]`` entry of
``settings.toml`` (with its ``config`` file), ``--providers local`` (every online module switched to
an offline variant) or the best local voice here; ``--voice`` is then checked against the speech
provider the narration runs. The query command only combines the results. The choices themselves are
made in :mod:`tutopanda.movie_choice` (the MCP server makes a new movie's there too); this module adds
the CLI's side: the ``--voice`` check, and warnings printed on stderr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutopanda.cli.output import stderr_console
from tutopanda.movie_choice import local_speech_selection as _local_speech_selection
from tutopanda.movie_choice import offline_selection, settings_config, settings_selection

if TYPE_CHECKING:
    from tutopanda.core.blueprint import Blueprint

__all__ = [
    "check_voice",
    "local_speech_selection",
    "offline_selection",
    "script_variant",
    "settings_config",
    "settings_selection",
]


def check_voice(blueprint: Blueprint, voice: str, selection: dict[str, tuple[str, str]]) -> None:
    """Refuse a ``--voice`` the speech provider of a narration module that reads it does not have.

    Only modules whose ``VoiceId`` is wired to the top-level ``VoiceId`` input are concerned; a provider
    that does not list its voices (live providers, plugins) accepts any id and checks it when it runs.
    The movie's selected variant decides, also with ``--providers mock``, because the voice is recorded
    for every later build.
    """
    from tutopanda.core.blueprint.expand import select_variants
    from tutopanda.core.blueprint.model import InputRef
    from tutopanda.core.errors import InputValidationError
    from tutopanda.providers.voices import voices_for

    variants = select_variants(blueprint, selection or None)
    for module in blueprint.modules:
        wire = module.wires.get("VoiceId")
        if module.kind != "narration" or wire is None or wire.source != InputRef("VoiceId"):
            continue
        variant = variants[module.name]
        voices = voices_for(variant.provider, variant.model)
        verdict = voices.verdict(voice) if voices is not None else None
        if verdict is not None and not verdict.accepted:
            raise InputValidationError(
                f"--voice: {verdict.message}",
                f"{verdict.hint} (module {module.name} runs {variant.provider}/{variant.model}; "
                f"--provider {module.name}=provider/model picks another)",
            )


def local_speech_selection(
    blueprint: Blueprint, selection: dict[str, tuple[str, str]], values: dict[str, object]
) -> dict[str, tuple[str, str]]:
    """:func:`tutopanda.movie_choice.local_speech_selection`, its warning printed on stderr."""

    def warn(line: str) -> None:
        stderr_console().print(line, markup=False, highlight=False)

    return _local_speech_selection(blueprint, selection, values, warn=warn)


def script_variant(blueprint: Blueprint, selection: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    """``(provider, model)`` the movie's script module runs (None: the blueprint has none)."""
    from tutopanda.core.blueprint.expand import select_variants

    variants = select_variants(blueprint, selection or None)
    for module in blueprint.modules:
        if module.kind == "script":
            variant = variants[module.name]
            return variant.provider, variant.model
    return None
