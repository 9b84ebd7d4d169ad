"""How the CLI talks to the user: JSON for scripts, Rich for people, ``error:``/``hint:`` on stderr.

Rich is imported on first use so that commands which print nothing fancy (and ``--help``) stay fast.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["confirm", "make_table", "print_error", "print_json", "stderr_console", "stdout_console"]

_consoles: dict[str, Console] = {}


def stdout_console() -> Console:
    """The Rich console writing to stdout (created lazily)."""
    if "out" not in _consoles:
        from rich.console import Console

        _consoles["out"] = Console(highlight=False, soft_wrap=True)
    return _consoles["out"]


def stderr_console() -> Console:
    """The Rich console writing to stderr (created lazily)."""
    if "err" not in _consoles:
        from rich.console import Console

        _consoles["err"] = Console(stderr=True, highlight=False, soft_wrap=True)
    return _consoles["err"]


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON to stdout (keys in the order given: output is for reading)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


errors_printed = 0
"""How many ``error:`` lines this process printed (the CLI's last resort prints one if none was)."""


def print_error(message: str, hint: str | None = None) -> None:
    """Print ``error: message`` and, when there is one, ``hint: hint`` on stderr, one line each.

    Messages are flattened to one line whatever their source, so scripts can rely on the shape.
    """
    global errors_printed
    errors_printed += 1
    sys.stderr.write(f"error: {_one_line(message)}\n")
    if hint:
        sys.stderr.write(f"hint: {_one_line(hint)}\n")


def _one_line(text: str) -> str:
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


def make_table(*columns: str, title: str | None = None) -> Table:
    """A Rich table whose cells wrap instead of being cut, so long canonical ids stay readable in pipes."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def confirm(question: str, *, command: str) -> bool:
    """Ask ``question [y/N]`` on stderr and read the answer from stdin; only y/yes is a yes.

    The question goes to stderr so ``--json`` output on stdout stays clean. With no input to read
    (a closed or empty stdin, as in a script) nothing is assumed: ``command`` fails with a usage
    error suggesting ``--yes``, since doing nothing silently would hide the question from the script.
    """
    from tutopanda.core.errors import UsageError

    no_input = UsageError(
        f"{command} needs a yes/no answer, but there is no input to read it from",
        "pass --yes to go ahead without asking",
    )
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline() if sys.stdin is not None else ""
    except (OSError, ValueError):
        answer = ""
    if not answer:
        sys.stderr.write("\n")
        raise no_input
    return answer.strip().lower() in ("y", "yes")
