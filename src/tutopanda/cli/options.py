"""Options shared by several commands, declared once as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["JsonOpt", "MovieOpt"]

MovieOpt = Annotated[
    str,
    typer.Option(
        "--movie",
        "-m",
        help="Movie id: letters, digits, '-' and '_' (the folder under <root>/builds/).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]
