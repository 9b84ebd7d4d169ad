"""Which provider/model each module of a query's movie runs, and the provider configs they take.

Why a module of its own: a variant can come from a ``--provider`` flag, a ``[[producers]]`` entry of
``settings.toml`` (with its ``config`` file), ``--providers local`` (every online module switched to
an offline variant) or the best local voice here; ``--voice`` is then checked against the speech
provider the narration runs. The query command only combines the results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tutopanda.cli.output import stderr_console

if TYPE_CHECKING:
    from tutopanda.core.blueprint import Blueprint
    from tutopanda.settings import Settings

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
    """Narration modules left on their default ``local/espeak-ng`` switched to ``local/piper`` when Piper
    has a voice for the movie's language here; otherwise a one-line warning says how to get one."""
    from tutopanda.core.blueprint.expand import select_variants

    chosen: dict[str, tuple[str, str]] = {}
    for name, variant in select_variants(blueprint, selection or None).items():
        module = blueprint.module(name)
        if module is None or module.kind != "narration" or name in selection:
            continue
        if (variant.provider, variant.model) != ("local", "espeak-ng"):
            continue
        if not any((v.provider, v.model) == ("local", "piper") for v in module.variants):
            continue
        from tutopanda.providers.local.speech import choose_local_speech

        spec = blueprint.input("Language")
        language = str(values.get("Language") or (spec.default if spec else None) or "en")
        voice = str(values.get("VoiceId") or "default")
        choice = choose_local_speech(language, voice)
        if choice.model == "piper":
            chosen[name] = ("local", "piper")
        elif choice.warning:
            stderr_console().print(choice.warning, markup=False, highlight=False)
    return chosen


def settings_selection(blueprint: Blueprint, settings: Settings) -> dict[str, tuple[str, str]]:
    """The ``[[producers]]`` choices for a new movie's modules (entries for other modules are skipped).

    An entry is accepted exactly when ``--provider MODULE=provider/model`` would be: a variant the
    module lists, or any model a (non-mock) handler of the module's kind is registered for (the policy
    the CLI installs, :mod:`tutopanda.providers.variant_policy`). Anything else exits 2 naming the file.
    """
    from tutopanda.core.blueprint.expand import select_variants
    from tutopanda.core.errors import InputValidationError
    from tutopanda.settings import SettingsError

    selection: dict[str, tuple[str, str]] = {}
    for index, entry in enumerate(settings.producers, start=1):
        if blueprint.module(entry.producer) is None:
            continue
        pair = (entry.provider, entry.model)
        try:  # the flag's own check, so settings and --provider accept the same models
            select_variants(blueprint, {entry.producer: pair})
        except InputValidationError as exc:
            raise SettingsError(
                f"producers[{index}]: blueprint {blueprint.meta.id} has no variant "
                f"{entry.provider}/{entry.model} for {entry.producer}",
                f"{exc.hint or 'use a variant the module lists'}; or delete the entry",
                file=settings.path,
            ) from None
        selection[entry.producer] = pair
    return selection


def settings_config(
    blueprint: Blueprint, settings: Settings, selection: dict[str, tuple[str, str]]
) -> dict[str, dict[str, Any]]:
    """``[[producers]]`` entries with a ``config`` file: that file's table for the module's job kind.

    Only for modules that run the entry's own provider/model (a ``--provider`` flag choosing another
    variant leaves that variant's config alone).

    Read and validated before anything is created (a missing file or a non-table value exits 2 naming
    the file and line); the values go into the new movie's providers.json and so into its traces.
    """
    from tutopanda.settings import load_provider_config

    configs: dict[str, dict[str, Any]] = {}
    for entry in settings.producers:
        module = blueprint.module(entry.producer)
        if module is None or not entry.config:
            continue
        if selection.get(entry.producer) != (entry.provider, entry.model):
            continue
        table = load_provider_config(settings.path.rpartition("/")[0], entry.config, module.producer.kind)
        if table:
            configs[entry.producer] = table
    return configs


def _online_modules(blueprint: Blueprint, selection: dict[str, tuple[str, str]]) -> list[str]:
    """Modules that would run on a provider needing the network (and, usually, money)."""
    from tutopanda.core.blueprint.expand import select_variants
    from tutopanda.providers.builtin import OFFLINE_PROVIDERS

    return [
        module
        for module, variant in select_variants(blueprint, selection).items()
        if variant.provider not in OFFLINE_PROVIDERS
    ]


def offline_selection(
    blueprint: Blueprint, selection: dict[str, tuple[str, str]]
) -> dict[str, tuple[str, str]]:
    """``--providers local``: every module that would run online switched to its first offline variant."""
    from tutopanda.core.errors import UsageError
    from tutopanda.providers.builtin import OFFLINE_PROVIDERS

    switched: dict[str, tuple[str, str]] = {}
    for name in _online_modules(blueprint, selection):
        module = blueprint.module(name)
        offline = [v for v in module.producer.variants if v.provider in OFFLINE_PROVIDERS] if module else []
        if not offline:
            raise UsageError(
                f"--providers local: module {name} of blueprint {blueprint.meta.id} has no offline variant",
                "drop --providers local, or use a blueprint whose every module can run offline",
            )
        switched[name] = (offline[0].provider, offline[0].model)
    return switched


def script_variant(blueprint: Blueprint, selection: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    """``(provider, model)`` the movie's script module runs (None: the blueprint has none)."""
    from tutopanda.core.blueprint.expand import select_variants

    variants = select_variants(blueprint, selection or None)
    for module in blueprint.modules:
        if module.kind == "script":
            variant = variants[module.name]
            return variant.provider, variant.model
    return None
