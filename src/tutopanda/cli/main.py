"""The ``tutopanda`` entry point: the Typer app, global options and the error boundary.

:func:`main` is the single place where exceptions become exit codes: a :class:`TutopandaError` prints
``error: …`` and ``hint: …`` on stderr and exits with its ``exit_code`` (2 for usage, 1 for failures);
anything unexpected exits 1 with a one-line message. Tracebacks appear only with ``--debug`` (or
``TUTOPANDA_DEBUG=1``). Click's own usage errors (an unknown option, ``--segments x``) take the same
shape — ``error:`` and ``hint:`` lines, exit 2 — instead of Click's framed panel.

Signals: Ctrl-C (SIGINT) exits 130 and SIGTERM exits 143 (128 + the signal number, as a shell reports a
process killed by it), both by the same graceful path: a running build cancels its jobs in flight,
keeps and commits what finished, writes its run record and releases its lock.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from types import FrameType
from typing import Annotated

import typer

from tutopanda import __version__
from tutopanda.cli import (
    blueprint_commands,
    build_commands,
    edit_commands,
    help_layout,
    init_command,
    mcp_command,
    models_commands,
    movies_commands,
    output,
    providers_commands,
    query_command,
    storage_commands,
    store_check_commands,
    viewer_command,
    worker_command,
)
from tutopanda.cli.output import print_error
from tutopanda.cli.settings import forget_env_files, load_env_files, state
from tutopanda.core.errors import TutopandaError

__all__ = ["app", "main", "run"]

app = typer.Typer(
    name="tutopanda",
    help="Turn one prompt into a narrated educational movie, and rebuild only what an edit made dirty.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=help_layout.PanelGroup,  # everyday commands first, plumbing last
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
    load_env_files(root)  # API keys from ./.env, then <root>/.env; the environment wins
    models_commands.export_models_root(state.storage_root())  # handlers find <root>/models through it
    from tutopanda.core.blueprint.expand import accept_unlisted_variants
    from tutopanda.providers.variant_policy import RegistryVariants

    accept_unlisted_variants(RegistryVariants())  # --provider may name any registered handler's model
    worker_command.install_durable_probe()  # every movie lock tells a live durable build from a dead one


init_command.register(app)
query_command.register(app)
edit_commands.register(app)
movies_commands.register(app)
blueprint_commands.register(app)
build_commands.register(app)
providers_commands.register(app)
models_commands.register(app)
storage_commands.register(app)
store_check_commands.register(app)
viewer_command.register(app)
mcp_command.register(app)
worker_command.register(app)
help_layout.arrange(app)
help_layout.show_flags_as_flags()


INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT)."""
TERMINATED = 128 + signal.SIGTERM
"""Exit code after SIGTERM (143)."""


class _Termination:
    """SIGTERM handled as Ctrl-C: whatever handles SIGINT now (asyncio's, during a build, which cancels
    the jobs in flight and lets the build commit; else Python's ``KeyboardInterrupt``) handles it."""

    def __init__(self) -> None:
        self.received = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received = True
        on_sigint = signal.getsignal(signal.SIGINT)
        if callable(on_sigint):
            on_sigint(signal.SIGINT, frame)
        else:  # SIGINT ignored (started in the background): interrupt anyway
            raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    termination = _Termination()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, termination)
    models_env = os.environ.get("TUTOPANDA_MODELS")  # exported for one invocation (models_commands)
    try:
        code = _main(argv)
    except KeyboardInterrupt:  # a second signal while the first one was being handled
        code = INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        models_commands.restore_models_env(models_env)
        forget_env_files()
    return TERMINATED if termination.received and code == INTERRUPTED else code


def _main(argv: list[str] | None) -> int:
    state.debug = os.environ.get("TUTOPANDA_DEBUG", "") not in ("", "0")
    state.root = None
    printed_before = output.errors_printed
    try:
        result = app(args=argv, prog_name="tutopanda", standalone_mode=False)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except typer.TyperException as exc:  # Click's usage errors (Typer vendors Click)
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help was printed already
            return exc.exit_code
        print_error(exc.format_message(), _usage_hint(exc))
        return exc.exit_code
    except typer.Abort:
        print_error("aborted")
        return 1
    except TutopandaError as exc:
        if state.debug:
            traceback.print_exc()
        print_error(exc.message, exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        print_error("interrupted")
        return INTERRUPTED
    except Exception as exc:
        if state.debug:
            traceback.print_exc()
        print_error(
            f"internal error: {type(exc).__name__}: {exc}",
            "rerun with --debug for the traceback, and please report it",
        )
        return 1
    code = result if isinstance(result, int) else 0
    if code == INTERRUPTED and output.errors_printed == printed_before:
        # Typer turns a Ctrl-C it catches into a silent exit 130: say what happened, in one line.
        print_error("interrupted", "run the same command again: it continues where it stopped")
    return code


def _usage_hint(exc: typer.TyperException) -> str:
    context = getattr(exc, "ctx", None)
    command = context.command_path if context is not None else "tutopanda"
    return f"see '{command} --help'"


def run() -> None:
    """Console-script entry point."""
    code = main()
    runner = sys.modules.get("tutopanda.core.engine.runner")  # imported only when a build ran
    if runner is not None and runner.stuck_threads(wait=1.0):
        # A provider call cancelled at its deadline still blocks a thread, which Python would wait for
        # at exit. Everything is committed and reported by now: leave without it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
