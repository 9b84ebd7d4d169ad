"""The CLI's checks on the variants a query's movie runs: ``--voice`` against the speech provider of
the narration, and which provider/model the script runs (for the summary line).

The variants themselves (``--provider`` flags, ``[[producers]]`` entries, ``--providers local``, the
best local voice and script writer) are chosen in :mod:`tutopanda.movie_choice`, which the MCP server
uses too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutopanda.core.blueprint import Blueprint

__all__ = ["check_voice", "script_variant"]


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


def script_variant(blueprint: Blueprint, selection: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    """``(provider, model)`` the movie's script module runs (None: the blueprint has none)."""
    from tutopanda.core.blueprint.expand import select_variants

    variants = select_variants(blueprint, selection or None)
    for module in blueprint.modules:
        if module.kind == "script":
            variant = variants[module.name]
            return variant.provider, variant.model
    return None
