"""What a new movie runs: each module's provider/model and the configs they take, chosen from the
settings, the run mode and this machine (the best local voice, the best script writer).

Why a module shared by the front ends: ``tutopanda query`` and the MCP server's ``make_movie`` must
make the same movie from the same question. The MCP tool used to take only the blueprint's defaults
(the marked draft script, the robotic voice) where ``query`` picks the local model and a Piper voice.
The front ends add only what is theirs: flags and their checks, the one-time offer to download the
local model (a question on a terminal), and how warnings and the chosen writer are shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutopanda.core.blueprint import Blueprint
    from tutopanda.providers.writers.choice import WriterChoice
    from tutopanda.settings import Settings

__all__ = [
    "NewMovieChoices",
    "local_speech_selection",
    "new_movie_choices",
    "offline_selection",
    "settings_config",
    "settings_selection",
    "writer_configs",
    "writer_selection",
]


@dataclass
class NewMovieChoices:
    """The variants a new movie records (``selection``), their configs, and the script writer chosen."""

    selection: dict[str, tuple[str, str]]
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    writer: WriterChoice | None = None


def new_movie_choices(
    blueprint: Blueprint,
    settings: Settings,
    values: Mapping[str, object],
    selection: Mapping[str, tuple[str, str]],
    *,
    live: bool,
    offline: bool,
    warn: Callable[[str], None],
    before_writer: Callable[[dict[str, tuple[str, str]]], None] | None = None,
) -> NewMovieChoices:
    """Complete a new movie's ``selection`` (what flags and ``[[producers]]`` chose, already checked).

    In order: with ``offline`` (``providers local``) every online module moves to an offline variant;
    narration left on the default voice engine takes Piper when it has a voice for the language; in
    ``live`` mode (not ``mock``) the script and prompt modules nobody chose take the best writer here
    (``before_writer`` runs first: the CLI's offer to download the local model); then the configs of
    ``[[producers]]`` entries and of the writer.
    """
    chosen = dict(selection)
    if offline:
        chosen.update(offline_selection(blueprint, chosen))
    chosen.update(local_speech_selection(blueprint, chosen, values, warn=warn))
    result = NewMovieChoices(chosen)
    if live:
        if before_writer is not None:
            before_writer(chosen)
        result.writer, written = writer_selection(blueprint, chosen, offline=offline)
        chosen.update(written)
    if settings.from_file:  # after the offline switch: a config follows the final variant
        result.configs = settings_config(blueprint, settings, chosen)
    result.configs.update(writer_configs(blueprint, chosen, result.configs, result.writer))
    return result


def local_speech_selection(
    blueprint: Blueprint,
    selection: dict[str, tuple[str, str]],
    values: Mapping[str, object],
    *,
    warn: Callable[[str], None],
) -> dict[str, tuple[str, str]]:
    """Narration modules left on their default ``local/espeak-ng`` switched to ``local/piper`` when Piper
    has a voice for the movie's language here; otherwise ``warn`` gets one line saying how to get one."""
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
            warn(choice.warning)
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


def writer_selection(
    blueprint: Blueprint, selection: dict[str, tuple[str, str]], *, offline: bool
) -> tuple[WriterChoice | None, dict[str, tuple[str, str]]]:
    """The script writer of a new movie (issue 14): for the script, image-prompt and music-prompt modules
    no flag or setting chose, the best writer available here (providers/writers/choice.py). When the
    script's writer was selected and is a server or the in-process model, the unchosen prompt modules
    follow it (no choice is made then, and None is returned for it)."""
    import os

    from tutopanda.providers.writers.choice import WRITER_MODULE_KINDS, choose_writer, is_writer

    modules = [m for m in blueprint.modules if m.kind in WRITER_MODULE_KINDS and m.name not in selection]
    if not any(module.kind == "script" for module in modules):
        script = next((selection[m.name] for m in blueprint.modules if m.kind == "script"), None)
        if script is None or not is_writer(*script):
            return None, {}
        return None, {
            module.name: script
            for module in modules
            if any(v.provider == script[0] and fnmatchcase(script[1], v.model) for v in module.variants)
        }
    environ = {k: v for k, v in os.environ.items() if not (offline and k == "OPENAI_BASE_URL")}
    choice = choose_writer(None, environ)
    picked: dict[str, tuple[str, str]] = {}
    for module in modules:
        provider, model = choice.variant_for(module.kind)
        if any(v.provider == provider and fnmatchcase(model, v.model) for v in module.variants):
            picked[module.name] = (provider, model)
    return choice, picked


def writer_configs(
    blueprint: Blueprint,
    selection: dict[str, tuple[str, str]],
    configs: dict[str, dict[str, Any]],
    choice: WriterChoice | None,
) -> dict[str, dict[str, Any]]:
    """Writer config recorded in the new movie (so in its traces): the chosen writer's, and for a module
    selected to run ``openai-compatible`` its ``baseUrl`` (config, else ``OPENAI_BASE_URL``, else
    Ollama's)."""
    import os

    from tutopanda.providers.writers.choice import COMPATIBLE_PROVIDER, compatible_config

    found: dict[str, dict[str, Any]] = {}
    for name, pair in selection.items():
        module = blueprint.module(name)
        if module is None:
            continue
        if choice is not None and pair == choice.variant_for(module.kind) and name not in configs:
            found[name] = choice.config_for(module.kind)
        if pair[0] == COMPATIBLE_PROVIDER:
            found[name] = compatible_config({**found.get(name, {}), **configs.get(name, {})}, os.environ)
    return {name: config for name, config in found.items() if config}
