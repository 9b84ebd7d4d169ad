"""Low-level storage commands: ``storage init``, ``events append``, ``manifest build``, ``manifest show``.

These are the seed plan's smoke-test surface over the storage engine. Each command opens the storage
context, calls one engine function and renders the result; all checks live in ``tutopanda.core``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tutopanda.cli.options import InputsOpt, JsonOpt, ModelOpt, MovieOpt, SetOpt, input_values
from tutopanda.cli.output import Col, make_table, print_json, stdout_console
from tutopanda.cli.settings import state

if TYPE_CHECKING:
    from tutopanda.core.store.manifest import Manifest
    from tutopanda.core.store.storage import StorageContext

__all__ = ["register"]


def _context() -> StorageContext:
    from tutopanda.core.store.storage import StorageConfig, StorageContext

    return StorageContext.open(StorageConfig(root=state.storage_root()))


def storage_init(
    movie: MovieOpt,
    blueprint: Annotated[
        str | None,
        typer.Option(
            "--blueprint",
            "-b",
            help="Give the movie this blueprint (a bundled name or a YAML file), so it can be built.",
            show_default=False,
        ),
    ] = None,
    inputs: InputsOpt = None,
    sets: SetOpt = None,
    models: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a movie's storage folder; with --blueprint (and --inputs/--set) also define what it builds.

    Idempotent: running it again creates nothing and changes nothing. On a defined movie, --set/--inputs
    record the values that differ (the next build re-runs only what they touch).

    Example: tutopanda storage init --movie volcanoes --blueprint image-audio --set NumOfSegments=4
    """
    from tutopanda.core.blueprint import parse_model_options
    from tutopanda.core.movie.definition import define_movie
    from tutopanda.core.store.movie_paths import init_movie

    ctx = _context()
    values = input_values(inputs, sets)
    selection = parse_model_options(models or [])
    defining = blueprint is not None or bool(values) or bool(selection)
    if defining and blueprint is not None:
        # Validate the blueprint and values before creating anything, so a typo leaves no half movie.
        from tutopanda.core.blueprint import expand, load_blueprint

        expand(load_blueprint(blueprint), values, selection or None)
    result = init_movie(ctx, movie)
    defined = (
        define_movie(ctx, movie, blueprint=blueprint, values=values, selection=selection)
        if defining
        else None
    )
    if as_json:
        print_json(
            {
                "movie": movie,
                "path": result.movie_dir,
                "created": list(result.created),
                "blueprint": defined.graph.blueprint_id if defined else None,
                "jobs": len(defined.graph.jobs) if defined else None,
                "inputsRecorded": [event.id for event in defined.appended] if defined else [],
            }
        )
        return
    console = stdout_console()
    if result.already_initialised:
        console.print(f"movie '{movie}' already initialised at {result.movie_dir}")
    else:
        console.print(f"initialised movie '{movie}' at {result.movie_dir}")
        for relative in result.created:
            console.print(f"  created {relative}")
    if defined is not None:
        console.print(
            f"blueprint {defined.graph.blueprint_id}: {len(defined.graph.jobs)} jobs; "
            f"recorded {len(defined.appended)} input value(s)"
        )
        console.print(f"next: tutopanda build plan --movie {movie}", markup=False)
    elif result.already_initialised:
        console.print("nothing changed")


def _read_event_file(path: Path) -> list[dict[str, Any]]:
    from tutopanda.core.errors import UsageError
    from tutopanda.core.limits import MAX_DOCUMENT_BYTES, check_file_size

    try:
        if path.exists() and not path.is_file():  # a folder, FIFO or device
            raise UsageError(f"{path}: not a regular file", "give the path of a JSON event file")
        check_file_size(str(path), path.stat().st_size, limit=MAX_DOCUMENT_BYTES, error=UsageError)
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such file", "give the path of a JSON event file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}", "give a readable UTF-8 JSON file") from exc
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path}:{exc.lineno}: invalid JSON: {exc.msg}", "fix the JSON syntax at that line"
        ) from exc
    except (ValueError, RecursionError) as exc:  # a number with too many digits; nesting too deep
        raise UsageError(
            f"{path}: invalid JSON: {exc if isinstance(exc, ValueError) else 'it nests too deeply'}",
            "write plain JSON values",
        ) from None
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(item, dict) for item in items):
        raise UsageError(
            f"{path}: expected a JSON object or a list of objects",
            "see examples/input-event.json and examples/artefact-event.json",
        )
    return items


def events_append(
    movie: MovieOpt,
    event_type: Annotated[
        str,
        typer.Option("--type", "-t", help="Which log to append to: input or artefact.", show_default=False),
    ],
    file: Annotated[
        Path,
        typer.Option(
            "--file",
            "-f",
            help="JSON file with one event or a list. Hashes are computed from the payload, never read.",
            show_default=False,
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Append input or artefact events to a movie's event log, hashing the real payloads.

    Input event: {"id": "Input:Name", "payload": <any JSON>}. Artefact event: {"artefactId":
    "Artifact:Module.Name[0]", "producedBy": "Producer:Module.Producer[0]", and "payload" (text or JSON)
    or "path" (a file, relative to the event file), optional "mimeType", "status", "inputsHash"}.

    Example: tutopanda events append --movie volcanoes --type input --file edits.jsonl
    """
    from tutopanda.core.errors import UsageError
    from tutopanda.core.movie.event_import import append_artefact_records, append_input_records

    kind = event_type.strip().lower()
    if kind in ("artifact", "artefacts", "artifacts"):
        kind = "artefact"
    if kind not in ("input", "artefact"):
        raise UsageError(f"--type {event_type!r} is not a log", "use --type input or --type artefact")
    records = _read_event_file(file)
    ctx = _context()
    if kind == "input":
        input_events = append_input_records(ctx, movie, records, source=str(file))
        summary: list[dict[str, str | None]] = [
            {"id": e.id, "hash": e.hash, "revision": e.revision} for e in input_events
        ]
    else:
        artefact_events = append_artefact_records(ctx, movie, records, base_dir=file.parent, source=str(file))
        summary = [
            {
                "id": e.artefact_id,
                "hash": e.blob.hash if e.blob else None,
                "status": e.status,
                "revision": e.revision,
            }
            for e in artefact_events
        ]
    if as_json:
        print_json({"movie": movie, "log": kind, "appended": summary})
        return
    console = stdout_console()
    for item in summary:
        console.print(f"appended {kind} event {item['id']} ({item['revision']}) hash {item['hash']}")


def manifest_build(movie: MovieOpt, as_json: JsonOpt = False) -> None:
    """Fold the event logs into a new manifest revision and make it current (atomic pointer swap).

    Each input takes its latest event; each artefact its latest *succeeded* event.

    Example: tutopanda manifest build --movie volcanoes
    """
    from tutopanda.core.store.locks import movie_lock
    from tutopanda.core.store.manifest_replay import build_manifest_from_logs
    from tutopanda.core.store.manifest_store import ManifestStore
    from tutopanda.core.store.pending_revision import pending_revision

    ctx = _context()
    store = ManifestStore(ctx, movie)
    lock = movie_lock(ctx, movie, "build", command=f"tutopanda manifest build --movie {movie}")
    with lock:  # a build in progress owns the pointer until it commits
        snapshot = store.snapshot()
        manifest = build_manifest_from_logs(
            ctx,
            movie,
            revision=pending_revision(ctx, movie),
            base_revision=snapshot.manifest.revision if snapshot.pointer.revision else None,
        )
        pointer = store.save(manifest, snapshot.pointer_hash)
    if as_json:
        print_json(
            {
                "movie": movie,
                "revision": pointer.revision,
                "manifestPath": pointer.manifest_path,
                "inputs": len(manifest.inputs),
                "artefacts": len(manifest.artefacts),
            }
        )
        return
    stdout_console().print(
        f"saved {pointer.manifest_path} ({len(manifest.inputs)} inputs, "
        f"{len(manifest.artefacts)} artefacts); current revision is now {pointer.revision}"
    )


def _render_manifest(movie: str, manifest: Manifest) -> None:
    from rich.markup import escape

    console = stdout_console()
    if manifest.is_empty_revision:
        console.print(
            f"movie '{movie}' has no manifest yet (rev-0000); "
            f"run 'tutopanda manifest build --movie {movie}' after appending events"
        )
        return
    console.print(
        f"[bold]{movie}[/bold] {manifest.revision} (base {manifest.base_revision or '-'}), "
        f"created {manifest.created_at}"
    )
    inputs = make_table(
        Col("input", ident=True),
        Col("hash", ident=True, drop=1),
        "value",
        title=f"inputs ({len(manifest.inputs)})",
    )
    for input_id, entry in sorted(manifest.inputs.items()):
        inputs.add_row(input_id, entry.hash[:12], escape(entry.digest))
    console.print(inputs)
    artefacts = make_table(
        Col("artefact", ident=True),
        Col("blob", ident=True, drop=1),
        Col("size", ident=True, drop=2),
        Col("type", ident=True, drop=3),
        Col("produced by", ident=True, drop=4),
        title=f"artefacts ({len(manifest.artefacts)})",
    )
    for artefact_id, art in sorted(manifest.artefacts.items()):
        artefacts.add_row(artefact_id, art.hash[:12], str(art.blob.size), art.blob.mime_type, art.produced_by)
    console.print(artefacts)


def manifest_show(
    movie: MovieOpt,
    revision: Annotated[
        str | None,
        typer.Option(
            "--revision", "-r", help="Show this revision (e.g. rev-0001) instead of the current one."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a movie's current manifest (or a past revision) as a table or JSON.

    Example: tutopanda manifest show --movie volcanoes --revision rev-0001 --json
    """
    from tutopanda.core.store.manifest_store import ManifestStore

    store = ManifestStore(_context(), movie)
    manifest = store.load_revision(revision) if revision else store.load_current()
    if as_json:
        print_json(manifest.model_dump(mode="json", by_alias=True))
        return
    _render_manifest(movie, manifest)


def register(app: typer.Typer) -> None:
    """Add the storage commands to ``app``: as subcommands (``manifest show``), the one grammar the rest of
    the CLI uses, and under their first ``group:command`` spellings (``manifest:show``), kept as hidden
    aliases so existing scripts keep working (:mod:`tutopanda.cli.help_layout` hides them)."""
    groups = (
        (
            "storage",
            "Create a movie's folder and define what it builds, step by step.",
            (("init", storage_init),),
        ),
        (
            "events",
            "Append hand-written input or artefact events to a movie's logs.",
            (("append", events_append),),
        ),
        (
            "manifest",
            "Fold a movie's events into a manifest revision, or print one.",
            (("build", manifest_build), ("show", manifest_show)),
        ),
    )
    for group_name, group_help, commands in groups:
        group = typer.Typer(name=group_name, help=group_help, no_args_is_help=True)
        for name, function in commands:
            group.command(name)(function)
            app.command(f"{group_name}:{name}", hidden=True)(function)
        app.add_typer(group)
