"""Options shared by several commands, declared once as ``Annotated`` aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["DatabaseOpt", "InputsOpt", "JsonOpt", "ModelOpt", "MovieOpt", "SetOpt", "input_values"]

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

DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="TUTOPANDA_DBOS_DATABASE_URL",
        help="The DBOS system database of durable builds: sqlite:///file (one machine) or "
        "postgresql://... (many). Default: [dbos] database_url in settings.toml, else sqlite under the root.",
        show_default=False,
    ),
]

InputsOpt = Annotated[
    Path | None,
    typer.Option(
        "--inputs", "-i", help="YAML, JSON or TOML file of input values (Name: value).", show_default=False
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set", "-s", help="Set one input: Name=value (repeatable; wins over --inputs).", show_default=False
    ),
]
ModelOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        help="Run a module with another variant: Module=provider/model (repeatable).",
        show_default=False,
    ),
]


def input_values(inputs: Path | None, sets: list[str] | None) -> dict[str, object]:
    """Input values from ``--inputs FILE`` overlaid with ``--set Name=value`` options."""
    from tutopanda.core.blueprint import load_input_file, parse_set_options

    values: dict[str, object] = dict(load_input_file(inputs)) if inputs is not None else {}
    values.update(parse_set_options(sets or []))
    return values
