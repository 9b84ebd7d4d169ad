"""``tutopanda init``: create the storage root, ``settings.toml`` and the default provider configs.

The work (and every check) lives in :mod:`tutopanda.settings`; this module picks the root, calls
:func:`~tutopanda.settings.init_settings` and prints what was created and what was kept.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tutopanda.cli.options import JsonOpt
from tutopanda.cli.output import print_json
from tutopanda.cli.settings import state

__all__ = ["init", "register"]


def init(
    root: Annotated[
        str | None,
        typer.Option(
            "--root",
            help="Storage root to initialise (wins over a --root given before 'init'). "
            "Default: $TUTOPANDA_HOME, else ~/.tutopanda.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create the storage root, settings.toml and default provider configs; never overwrites a file.

    Idempotent: run it again at any time; files that exist (including ones you edited) are kept
    byte-for-byte and listed as kept. An invalid kept settings.toml is reported (exit 2, naming the
    file, line and field). API keys are never written: they come from the environment.

    Examples: 'tutopanda init', 'tutopanda init --root ~/movies', 'tutopanda init --json'.
    """
    from tutopanda.settings import init_settings, load_settings

    chosen = root or state.storage_root()
    report = init_settings(chosen)
    if as_json:
        print_json({"root": report.root, "created": report.created, "kept": report.kept})
    else:
        _print_report(report.root, report.created, report.kept)
    # A kept settings file may have been edited: check it now (exit 2 naming file, line and field).
    load_settings(chosen)


def _print_report(root: str, created: list[str], kept: list[str]) -> None:
    prefix = root.rstrip("/") + "/"

    def shown(path: str) -> str:
        if path.rstrip("/") == root.rstrip("/"):
            return path
        return path[len(prefix) :] if path.startswith(prefix) else path

    lines = [f"{'initialised' if created else 'already initialised'}: {root}"]
    lines += [f"  created  {shown(path)}" for path in created]
    lines += [f"  kept     {shown(path)} (exists, not changed)" for path in kept]
    lines.append(
        f"next: edit {prefix}settings.toml for your defaults; API keys come from the environment "
        "(OPENAI_API_KEY, REPLICATE_API_TOKEN, ELEVENLABS_API_KEY)"
    )
    sys.stdout.write("\n".join(lines) + "\n")


def register(app: typer.Typer) -> None:
    """Add the ``init`` command to ``app``."""
    app.command("init")(init)
