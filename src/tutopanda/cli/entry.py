"""The console script's entry point: a Ctrl-C that lands before or after the CLI proper still says so.

Why a module of its own: ``tutopanda.cli.main`` imports every command module (Typer, Rich, the option
types) before any of its code runs, which takes a second or two on a loaded machine. A Ctrl-C in that
window — or while the interpreter winds down after a build — used to end with a Python traceback and exit
-2 instead of the CLI's one ``error:`` line and exit 130. This module imports nothing of Tutopanda at
load time, so the whole life of the process sits inside its ``try``.
"""

from __future__ import annotations

import sys

__all__ = ["run"]

INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), as ``tutopanda.cli.main`` uses."""


def run() -> None:
    """Run the CLI; a ``KeyboardInterrupt`` that escapes it becomes one error line and exit 130."""
    try:
        from tutopanda.cli.main import run as run_cli

        run_cli()
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.stderr.write("hint: run the same command again: it continues where it stopped\n")
        sys.stderr.flush()
        raise SystemExit(INTERRUPTED) from None
