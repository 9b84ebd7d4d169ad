"""``tutopanda models pull|list|remove``: the weights of local models, fetched only when the user says so.

Why commands of their own: a local script writer needs a ~1 GB model file and a voice in another language
needs a Piper voice; neither may ever be downloaded silently by a build. ``models pull NAME`` is the
explicit step (with a progress bar, resume and checksum verification in
:mod:`tutopanda.providers.model_store`); ``query`` may *ask* the same question once on a terminal.

The store lives under ``<storage root>/models`` (``~/.tutopanda/models`` when the root is not a local
folder), or ``$TUTOPANDA_MODELS``. Handlers do not receive the root, so :func:`export_models_root` puts it
in ``TUTOPANDA_MODELS`` for the process before any command runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tutopanda.cli.options import JsonOpt
from tutopanda.cli.output import Col, make_table, print_json, stdout_console

if TYPE_CHECKING:
    from tutopanda.providers.model_store import ModelStore

__all__ = ["export_models_root", "pull_with_progress", "register", "restore_models_env"]

models_app = typer.Typer(
    name="models",
    help="Download, list and remove local model files (a local script writer, Piper voices).",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="Model name (see 'tutopanda models list').", show_default=False)]


def export_models_root(root: str) -> None:
    """Set ``TUTOPANDA_MODELS`` to ``<root>/models`` for this invocation, unless the user set it.

    A root that is not a local folder (``s3://…``) keeps models in ``~/.tutopanda/models``: weights are
    loaded from a local disk, never streamed from a bucket. :func:`tutopanda.cli.main.main` puts the
    variable back as it found it when the command ends (:func:`restore_models_env`).
    """
    if os.environ.get("TUTOPANDA_MODELS"):
        return  # the user's own choice
    local = root[len("file://") :] if root.startswith("file://") else root
    remote = "://" in local
    folder = Path.home() / ".tutopanda" / "models" if remote else Path(local).expanduser() / "models"
    os.environ["TUTOPANDA_MODELS"] = str(folder)


def restore_models_env(value: str | None) -> None:
    """Put ``TUTOPANDA_MODELS`` back to ``value`` (unset when ``None``) after an invocation."""
    if value is None:
        os.environ.pop("TUTOPANDA_MODELS", None)
    else:
        os.environ["TUTOPANDA_MODELS"] = value


def pull_with_progress(store: ModelStore, name: str) -> Path:
    """``store.pull(name)`` with a Rich progress bar on stderr (a plain line when not a terminal)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from tutopanda.cli.output import stderr_console

    console = stderr_console()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=not sys.stderr.isatty(),
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def report(file: str, done: int, total: int | None) -> None:
            if file not in tasks:
                if not sys.stderr.isatty():
                    console.print(f"downloading {file}", markup=False, highlight=False)
                tasks[file] = progress.add_task(file, total=total, completed=done)
            progress.update(tasks[file], completed=done, total=total)

        return store.pull(name, progress=report)


def _store() -> ModelStore:
    from tutopanda.providers.model_store import default_model_store

    return default_model_store()


@models_app.command("list")
def list_command(as_json: JsonOpt = False) -> None:
    """List the models that can be pulled, whether each is installed, its size and licence.

    Example: tutopanda models list --json
    """
    from tutopanda.providers.model_store import human_size

    store = _store()
    states = store.list()
    if as_json:
        print_json({"root": str(store.root), "models": [state.to_dict() for state in states]})
        return
    table = make_table(
        Col("name", ident=True),
        Col("kind", ident=True),
        Col("size", ident=True),
        "installed",
        Col("licence", ident=True, drop=1),
    )
    for state in states:
        entry = state.entry
        kind = entry.kind if entry.language is None else f"voice ({entry.language})"
        size = human_size(entry.size) if entry.size_is_exact else f"~{human_size(entry.size)}"
        if state.installed:
            installed = "yes"
        elif state.partial_bytes:
            installed = f"partial ({human_size(state.partial_bytes)})"
        else:
            installed = "no"
        name = entry.name + (" *" if entry.default else "")
        table.add_row(name, kind, size, installed, entry.licence)
    console = stdout_console()
    console.print(table)
    console.print(
        f"* the default local script writer. Folder: {store.root}\n"
        "Get one: tutopanda models pull NAME (the llm models need: pip install 'tutopanda[llm]')",
        markup=False,
        highlight=False,
    )


@models_app.command("pull")
def pull_command(name: NameArg, as_json: JsonOpt = False) -> None:
    """Download a model from the Hugging Face hub, verify its SHA-256 and install it (resumable).

    Example: tutopanda models pull qwen2.5-1.5b-instruct
    """
    store = _store()
    entry = store.catalogue.get(name)
    already = store.path_of(name)
    path = already if already is not None else pull_with_progress(store, name)
    if as_json:
        print_json({"name": entry.name, "path": str(path), "installed": True, "downloaded": already is None})
        return
    verb = "already installed" if already is not None else "installed"
    stdout_console().print(f"{entry.name} {verb}: {path}", markup=False, highlight=False)


@models_app.command("remove")
def remove_command(name: NameArg, as_json: JsonOpt = False) -> None:
    """Delete a model's files (and any unfinished download of it).

    Example: tutopanda models remove qwen2.5-0.5b-instruct
    """
    store = _store()
    entry = store.catalogue.get(name)
    removed = store.remove(name)
    if as_json:
        print_json({"name": entry.name, "removed": removed})
        return
    message = f"removed {entry.name}" if removed else f"{entry.name} was not installed: nothing to remove"
    stdout_console().print(message, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``models`` group to ``app``."""
    app.add_typer(models_app)
