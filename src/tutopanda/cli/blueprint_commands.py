"""``tutopanda blueprints list|describe|validate|expand``: look at blueprints and their job graphs.

Each command loads a blueprint through :mod:`tutopanda.core.blueprint` (imported lazily) and renders
what it returns; validation and expansion errors come from the engine with file, line and fix.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tutopanda.cli.options import InputsOpt, JsonOpt, ModelOpt, SetOpt, input_values
from tutopanda.cli.output import Col, make_table, print_json, stdout_console

if TYPE_CHECKING:
    from tutopanda.core.blueprint import Blueprint, BlueprintSummary, InputSpec, JobGraph

__all__ = ["register"]

blueprints_app = typer.Typer(
    name="blueprints",
    help="List, describe, validate and expand blueprints (YAML graphs of producers).",
    no_args_is_help=True,
)

BlueprintArg = Annotated[
    str,
    typer.Argument(
        help="A blueprint name (bundled or yours; see 'blueprints list') or a blueprint YAML file."
    ),
]


def _expand(
    blueprint: str, inputs: Path | None, sets: list[str] | None, models: list[str] | None
) -> JobGraph:
    from tutopanda.core.blueprint import expand, load_blueprint, parse_model_options

    loaded = load_blueprint(_named(blueprint))
    return expand(loaded, input_values(inputs, sets), parse_model_options(models or []) or None)


@blueprints_app.command("list")
def list_blueprints(as_json: JsonOpt = False) -> None:
    """List the bundled blueprints and your own, found in <root>/blueprints/.

    Example: tutopanda blueprints list --json
    """

    from rich.markup import escape

    from tutopanda.core.blueprint import list_bundled_blueprints

    summaries = [*list_bundled_blueprints(), *_user_blueprints()]
    if as_json:
        print_json(
            [
                {
                    "name": s.name,
                    "source": s.source,
                    "description": s.description,
                    "path": s.path,
                    "inputs": s.input_count,
                    "producers": s.producer_count,
                    "error": s.error,
                }
                for s in summaries
            ]
        )
        return
    table = make_table(
        Col("name", ident=True),
        Col("source", drop=1),
        Col("inputs", drop=2),
        Col("producers", drop=3),
        "description",
    )
    for s in summaries:
        if s.error is not None:
            # The folder is in the footer: the row names only the file (the JSON has the full path).
            problem = s.error.replace(str(Path(s.path).parent) + os.sep, "")
            table.add_row(s.name, s.source, "-", "-", f"[red]invalid:[/red] {escape(problem)}")
        else:
            table.add_row(s.name, s.source, str(s.input_count), str(s.producer_count), escape(s.description))
    stdout_console().print(table)
    user = [s for s in summaries if s.source == "user"]
    if user:
        stdout_console().print(
            f"user blueprints are in {Path(user[0].path).parent}; use one by its name: "
            f"--blueprint {user[0].name}",
            markup=False,
            highlight=False,
        )


def _user_blueprints() -> list[BlueprintSummary]:
    """Blueprints under ``<root>/blueprints/`` (a remote root lists none: see :mod:`.user_blueprints`)."""
    from tutopanda.cli.settings import state
    from tutopanda.cli.user_blueprints import user_blueprints

    return user_blueprints(state.storage_root())


def _named(blueprint: str) -> str:
    """A user blueprint's name -> its path, as ``query`` reads it (bundled names and paths unchanged)."""
    from tutopanda.cli.settings import state
    from tutopanda.cli.user_blueprints import resolve_blueprint_name

    return resolve_blueprint_name(blueprint, state.storage_root())


def _input_rule(spec: InputSpec) -> str:
    from tutopanda.core.blueprint.vocabulary import find_vocabulary

    vocabulary = find_vocabulary(spec.vocabulary) if spec.vocabulary else None
    if vocabulary is not None:  # a long list (184 language codes) is summarised, a short one listed
        return vocabulary.summary()
    if spec.values:
        return "one of " + ", ".join(spec.values)
    parts = []
    if spec.minimum is not None:
        parts.append(f">= {spec.minimum}")
    if spec.maximum is not None:
        parts.append(f"<= {spec.maximum}")
    if spec.item_type:
        parts.append(f"items: {spec.item_type}")
    if spec.pattern:
        parts.append(f"matches {spec.pattern}")
    return ", ".join(parts)


def _describe_dict(bp: Blueprint) -> dict[str, Any]:
    def input_dict(spec: InputSpec) -> dict[str, Any]:
        return {
            "name": spec.name,
            "type": spec.type,
            "required": spec.required,
            "default": spec.default if spec.has_default else None,
            "description": spec.description,
            "values": list(spec.allowed_values) if spec.allowed_values else None,
            "vocabulary": spec.vocabulary,
            "min": spec.minimum,
            "max": spec.maximum,
        }

    return {
        "id": bp.meta.id,
        "name": bp.meta.name,
        "description": bp.meta.description,
        "version": bp.meta.version,
        "file": bp.file,
        "inputs": [input_dict(spec) for spec in bp.inputs],
        "loops": [
            {"name": loop.name, "countInput": loop.count_input, "parent": loop.parent} for loop in bp.loops
        ],
        "modules": [
            {
                "name": module.name,
                "kind": module.kind,
                "loops": list(module.loops),
                "artefacts": [
                    {
                        "name": art.name,
                        "kind": art.kind,
                        "loops": list(module.artefact_loops.get(art.name, ())),
                    }
                    for art in module.producer.artefacts
                ],
                "variants": [{"provider": v.provider, "model": v.model} for v in module.variants],
            }
            for module in bp.modules
        ],
    }


@blueprints_app.command("describe")
def describe(blueprint: BlueprintArg, as_json: JsonOpt = False) -> None:
    """Show a blueprint's inputs, loops, producers (with their variants) and artefacts.

    Example: tutopanda blueprints describe image-audio
    """

    from tutopanda.core.blueprint import load_blueprint

    bp = load_blueprint(_named(blueprint))
    if as_json:
        print_json(_describe_dict(bp))
        return
    console = stdout_console()
    console.print(f"[bold]{bp.meta.name}[/bold] ({bp.meta.id}, version {bp.meta.version})")
    console.print(bp.meta.description)
    inputs = make_table("input", "type", "default", "allowed", "description", title="inputs")
    for spec in bp.inputs:
        default = "(required)" if spec.required else json.dumps(spec.default, ensure_ascii=False)
        inputs.add_row(spec.name, spec.type, default, _input_rule(spec), spec.description)
    console.print(inputs)
    if bp.loops:
        loops = make_table("loop", "count", "inside", title="loops")
        for loop in bp.loops:
            loops.add_row(loop.name, loop.count_input, loop.parent or "-")
        console.print(loops)
    modules = make_table(
        "module", "kind", "runs per", "produces", "variants (first = default)", title="producers"
    )
    for module in bp.modules:
        produces = ", ".join(f"{a.name} ({a.kind})" for a in module.producer.artefacts)
        variants = ", ".join(f"{v.provider}/{v.model}" for v in module.variants)
        modules.add_row(module.name, module.kind, " x ".join(module.loops) or "movie", produces, variants)
    console.print(modules)


@blueprints_app.command("validate")
def validate(
    blueprint: BlueprintArg,
    inputs: InputsOpt = None,
    sets: SetOpt = None,
    models: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a blueprint (and, if given, input values) and expand it to prove it builds a job graph.

    Example: tutopanda blueprints validate image-audio --set NumOfSegments=4 --set Style=anime
    """
    graph = _expand(blueprint, inputs, sets, models)
    if as_json:
        print_json(
            {
                "valid": True,
                "blueprint": graph.blueprint_id,
                "jobs": len(graph.jobs),
                "edges": len(graph.edges),
            }
        )
        return
    stdout_console().print(
        f"✓ {graph.blueprint_id} is valid: {len(graph.jobs)} jobs, {len(graph.edges)} edges with these inputs"
    )


@blueprints_app.command("expand")
def expand_command(
    blueprint: BlueprintArg,
    inputs: InputsOpt = None,
    sets: SetOpt = None,
    models: ModelOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the JSON to this file instead.")
    ] = None,
) -> None:
    """Print the expanded job graph as JSON: every job with its canonical id, inputs and outputs.

    Example: tutopanda blueprints expand image-audio --set NumOfSegments=2 --out graph.json
    """
    graph = _expand(blueprint, inputs, sets, models)
    if out is None:
        print_json(graph.to_dict())
        return
    from tutopanda.core.errors import UsageError

    try:
        out.write_text(json.dumps(graph.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot write {out}: {exc.strerror or exc}", "choose a writable --out path"
        ) from exc
    stdout_console().print(f"wrote {len(graph.jobs)} jobs to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``blueprints`` command group to ``app``."""
    app.add_typer(blueprints_app)
