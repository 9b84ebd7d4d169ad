"""A new movie's script writer (issue 14 §5): which writer runs the script and prompt modules no flag
or setting chose, the config recorded for it, and the one-time offer to download the local model.

Why a module of its own: the writer is chosen from what is available on this machine (an API key, a
local server, the in-process model, else the marked draft; :mod:`tutopanda.providers.writers.choice`),
and the first-use offer is the one place ``query`` may download anything, only after a yes.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from tutopanda.cli.output import confirm, stderr_console

if TYPE_CHECKING:
    from tutopanda.core.blueprint import Blueprint
    from tutopanda.providers.writers.choice import WriterChoice

__all__ = ["offer_local_model", "writer_configs", "writer_selection"]


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


def offer_local_model() -> None:
    """The first-use question: download the default local model now? Never a silent download.

    Asked only on a terminal (stdin is a TTY), only when the ``llm`` extra is installed and the model is
    not pulled, and once per models folder: a "no" is remembered (``.declined-<model>``), so the next
    query does not nag; ``tutopanda models pull`` stays the way to get it later. A failed download is a
    warning: the movie is still made, with the draft.
    """
    import importlib.util
    import sys

    from tutopanda.core.errors import TutopandaError

    try:
        if not sys.stdin.isatty() or importlib.util.find_spec("llama_cpp") is None:
            return
    except (ValueError, AttributeError, ImportError):
        return
    from tutopanda.cli.models_commands import pull_with_progress
    from tutopanda.providers.model_store import DEFAULT_LLM, default_model_store, human_size

    try:
        store = default_model_store()
        entry = store.catalogue.get(DEFAULT_LLM)
        if store.path_of(DEFAULT_LLM) is not None:
            return
    except TutopandaError:
        return
    declined = store.root / f".declined-{DEFAULT_LLM}"
    if declined.exists():
        return
    size = human_size(entry.size)
    question = (
        f"No script writer is set up here. Download {entry.name} ({size}, {entry.licence}) "
        "to write real scripts offline now?"
    )
    if not confirm(question, command="query"):
        store.note_declined(DEFAULT_LLM)  # never through a link planted at its name
        stderr_console().print(
            f"ok: a draft script this time ('tutopanda models pull {DEFAULT_LLM}' gets the model later)",
            markup=False,
            highlight=False,
        )
        return
    try:
        pull_with_progress(store, DEFAULT_LLM)
    except TutopandaError as exc:
        stderr_console().print(
            f"warning: {exc.message} — making the movie with a draft script", markup=False, highlight=False
        )
