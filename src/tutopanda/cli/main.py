"""The ``tutopanda`` entry point: the Typer app, global options and the error boundary.

:func:`main` is the single place where exceptions become exit codes: a :class:`TutopandaError` prints
``error: …`` and ``hint: …`` on stderr and exits with its ``exit_code`` (2 for usage, 1 for failures);
anything unexpected exits 1 with a one-line message. Tracebacks appear only with ``--debug`` (or
``TUTOPANDA_DEBUG=1``).
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import typer

from tutopanda import __version__
from tutopanda.cli import (
    blueprint_commands,
    build_commands,
    edit_commands,
    init_command,
    movies_commands,
    providers_commands,
    query_command,
    storage_commands,
    viewer_command,
    worker_command,
)
from tutopanda.cli.output import print_error
from tutopanda.cli.settings import state
from tutopanda.core.errors import TutopandaError

__all__ = ["app", "main", "run"]

app = typer.Typer(
    name="tutopanda",
    help="Turn one prompt into a narrated educational movie, and rebuild only what an edit made dirty.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"tutopanda {__version__}\n")
        raise typer.Exit()


@app.callback()
def _global_options(
    root: Annotated[
        str | None,
        typer.Option(
            "--root",
            help="Storage root (a folder or fsspec URL). Default: $TUTOPANDA_HOME, else ~/.tutopanda.",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Turn one prompt into a narrated educational movie, and rebuild only what an edit made dirty."""
    state.root = root
    state.debug = debug or state.debug


init_command.register(app)
query_command.register(app)
edit_commands.register(app)
movies_commands.register(app)
blueprint_commands.register(app)
build_commands.register(app)
providers_commands.register(app)
storage_commands.register(app)
viewer_command.register(app)
worker_command.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    state.debug = os.environ.get("TUTOPANDA_DEBUG", "") not in ("", "0")
    state.root = None
    try:
        app(args=argv, prog_name="tutopanda")
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except TutopandaError as exc:
        if state.debug:
            traceback.print_exc()
        print_error(exc.message, exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        print_error("interrupted")
        return 130
    except Exception as exc:
        if state.debug:
            traceback.print_exc()
        print_error(
            f"internal error: {type(exc).__name__}: {exc}",
            "rerun with --debug for the traceback, and please report it",
        )
        return 1
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
