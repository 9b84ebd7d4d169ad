"""``tutopanda inspect`` and ``tutopanda edit``: change any one thing of a movie and rebuild only that.

``inspect`` exports the editable state (:mod:`tutopanda.core.movie.document`); ``edit`` reads the
user's changes back (:mod:`tutopanda.core.movie.edit`), previews the plan on a scratch copy of the
movie (so the real one is untouched until the user says yes), then records the edits, builds and
refreshes the exported files in place.

Recording, building and refreshing happen under the movie's build lock, held throughout, and only if
the movie is still in the state the edits were checked against: of two edits of one movie at once,
one wins and the other records nothing (it is refused, naming the lock's holder or the change) and can
simply be run again.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tutopanda.cli.build_commands import ModeOpt
from tutopanda.cli.options import JsonOpt, MovieOpt
from tutopanda.cli.output import print_json, stdout_console
from tutopanda.cli.settings import CONCURRENCY_HELP, job_concurrency, state

if TYPE_CHECKING:
    from tutopanda.core.engine.change import Change, Outcome
    from tutopanda.core.engine.planner import Plan
    from tutopanda.core.engine.provider_contract import Mode
    from tutopanda.core.movie.document import MovieSnapshot
    from tutopanda.core.movie.edit import EditSet
    from tutopanda.core.store.storage import StorageContext

__all__ = ["register"]

_FORMATS = ("toml", "json")


def _context() -> StorageContext:
    from tutopanda.core.store.storage import StorageConfig, StorageContext

    return StorageContext.open(StorageConfig(root=state.storage_root()))


def _default_document(ctx: StorageContext, movie: str) -> str:
    from tutopanda.core.movie.document import DOCUMENT_FILE
    from tutopanda.core.store.movie_paths import ensure_initialised

    return ctx.join(ensure_initialised(ctx, movie).root, DOCUMENT_FILE)


def inspect_command(
    movie: MovieOpt,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the document here ('-' for stdout). Default: <movie folder>/movie.toml "
            "(TOML) or stdout (JSON).",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="toml (commented, for editing) or json (for scripts).")
    ] = "toml",
    force: Annotated[
        bool,
        typer.Option("--force", help="Overwrite edits not applied yet (in movie.toml or prompts/ files)."),
    ] = False,
) -> None:
    """Export everything editable — inputs, providers, script, prompts — to a commented TOML file.

    Each text also goes to its own file under the movie's prompts/ folder (one per segment and kind).
    Edit either, then run 'tutopanda edit --movie ID'. An existing movie.toml is updated in place
    (your comments stay); edits you have not applied yet are never overwritten without --force.
    JSON and '--out -' only print: they touch no file.

    Example: tutopanda inspect --movie volcanoes && $EDITOR ~/.tutopanda/builds/volcanoes/movie.toml
    """
    from tutopanda.core.errors import UsageError
    from tutopanda.core.movie.document import document_data, render_toml, take_snapshot

    if output_format not in _FORMATS:
        raise UsageError(f"--format {output_format!r} is not a format", "use --format toml or --format json")
    ctx = _context()
    snapshot = take_snapshot(ctx, movie)
    if (output_format == "json" and out is None) or out == "-":
        if output_format == "json":
            import json

            typer.echo(json.dumps(document_data(snapshot), indent=2, ensure_ascii=False), nl=True)
        else:
            typer.echo(render_toml(snapshot), nl=False)
        return
    if output_format == "json":
        import json

        json_file = Path(str(out)).expanduser()
        _check_out(ctx, movie, json_file)
        _write_local(json_file, json.dumps(document_data(snapshot), indent=2, ensure_ascii=False) + "\n")
        stdout_console().print(f"wrote {json_file}", markup=False)
        return
    file = Path(out).expanduser() if out is not None else None
    if file is not None:
        _check_out(ctx, movie, file)
    written, target = _write_document(ctx, movie, snapshot, file, force=force)
    console = stdout_console()
    console.print(f"wrote {target}", markup=False)
    console.print(
        f"texts: {len(snapshot.texts)} under {snapshot.movie_id}/prompts/ ({len(written)} updated)",
        markup=False,
    )
    console.print(
        f"after editing: tutopanda edit --movie {movie}" + (f" --file {out}" if out else ""), markup=False
    )


def _check_out(ctx: StorageContext, movie: str, path: Path) -> None:
    """Refuse an ``--out`` inside the movie's folder (other than its movie.toml): Tutopanda's own files
    live there, and overwriting one (``current.json``, a manifest) would break the movie."""
    from tutopanda.core.errors import UsageError

    if not ctx.is_local:
        return
    folder = Path(_default_document(ctx, movie)).parent.resolve()
    try:
        target = path.resolve()
    except OSError as exc:
        raise UsageError(f"--out {path}: {exc.strerror or exc}", "choose another --out path") from None
    if target.is_relative_to(folder) and target != folder / "movie.toml":
        raise UsageError(
            f"--out {path} is inside the movie's folder {folder}, which holds Tutopanda's own files",
            "write the document elsewhere, or leave --out out to update the movie's movie.toml",
        )


def _write_local(path: Path, text: str) -> None:
    from tutopanda.core.errors import UsageError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}", "choose another --out path") from exc


def _write_document(
    ctx: StorageContext, movie: str, snapshot: MovieSnapshot, file: Path | None, *, force: bool
) -> tuple[list[str], str]:
    """Write the TOML document and the prompt files; refuse to overwrite edits not applied yet.

    An existing document is updated value by value (comments and layout stay); ``force`` rewrites it
    from scratch and discards pending edits.
    """
    from tutopanda.core.errors import UsageError
    from tutopanda.core.limits import MAX_DOCUMENT_BYTES, check_file_size
    from tutopanda.core.movie.document import render_toml, update_toml, write_prompt_files
    from tutopanda.core.movie.edit import collect_edits, parse_document
    from tutopanda.core.store.atomic_file import write_atomic

    default = _default_document(ctx, movie)
    existing: str | None = None
    try:
        if file is None:
            check_file_size("movie.toml", ctx.size(default), limit=MAX_DOCUMENT_BYTES, error=UsageError)
            existing = ctx.read_bytes(default).decode("utf-8")
        elif file.exists():
            if not file.is_file():
                raise UsageError(f"--out {file} is not a regular file", "choose another --out path")
            check_file_size(f"--out {file}", file.stat().st_size, limit=MAX_DOCUMENT_BYTES, error=UsageError)
            existing = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        existing = None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {file or default}: {exc}", "fix or remove the file") from exc
    if not force:
        source = str(file) if file is not None else "movie.toml"
        document = parse_document(existing.encode("utf-8"), source) if existing is not None else None
        pending = collect_edits(ctx, movie, snapshot, document, source)
        if not pending.is_empty:
            where = ", ".join(sorted({row["id"] for row in pending.describe()}))
            raise UsageError(
                f"{source} or the prompts/ files hold edits not applied yet ({where})",
                f"apply them with 'tutopanda edit --movie {movie}', or discard them with 'inspect --force'",
            )
    option = f" --file {file}" if file is not None else ""
    text = (
        update_toml(existing, snapshot)
        if existing is not None and not force
        else render_toml(snapshot, file_option=option)
    )
    written = write_prompt_files(ctx, movie, snapshot, force=force)
    if file is None:
        write_atomic(ctx, default, text.encode("utf-8"))
        return written, default
    _write_local(file, text)
    return written, str(file)


def _read_document(
    ctx: StorageContext, movie: str, file: Path | None
) -> tuple[dict[str, Any] | None, str, str | None]:
    """(parsed document or None, its name for messages, its storage path when it is the default one)."""
    from tutopanda.core.errors import UsageError
    from tutopanda.core.limits import MAX_DOCUMENT_BYTES, check_file_size
    from tutopanda.core.movie.edit import parse_document

    if file is not None:
        path = file.expanduser()
        try:
            if path.exists() and not path.is_file():  # a folder, FIFO or device
                raise UsageError(f"--file {file} is not a regular file", "give the edited TOML or JSON file")
            check_file_size(f"--file {file}", path.stat().st_size, limit=MAX_DOCUMENT_BYTES, error=UsageError)
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {file}: {exc.strerror or exc}", "check the --file path") from exc
        return parse_document(data, str(file)), str(file), None
    default = _default_document(ctx, movie)
    try:
        check_file_size("movie.toml", ctx.size(default), limit=MAX_DOCUMENT_BYTES, error=UsageError)
        data = ctx.read_bytes(default)
    except FileNotFoundError:
        return None, "prompts/", None
    return parse_document(data, "movie.toml"), "movie.toml", default


def _print_edits(edits: EditSet) -> None:
    from tutopanda.cli.output import Col, make_table

    table = make_table(Col("edit", ident=True), Col("id", ident=True), "change", title="your edits")
    for row in edits.describe():
        table.add_row(row["what"], row["id"], row["change"])
    stdout_console().print(table)


def _refresh(ctx: StorageContext, movie: str, file: Path | None, default_path: str | None) -> None:
    """Bring the edited document and the prompt files up to the new revision, keeping the user's layout."""
    from tutopanda.core.movie.document import document_data, take_snapshot, update_toml, write_prompt_files
    from tutopanda.core.store.atomic_file import write_atomic

    snapshot = take_snapshot(ctx, movie)
    write_prompt_files(ctx, movie, snapshot)
    if file is not None and file.suffix == ".json":
        import json

        path = file.expanduser()
        path.write_text(json.dumps(document_data(snapshot), indent=2, ensure_ascii=False) + "\n", "utf-8")
    elif file is not None:
        path = file.expanduser()
        path.write_text(update_toml(path.read_text(encoding="utf-8"), snapshot), encoding="utf-8")
    elif default_path is not None:
        text = ctx.read_bytes(default_path).decode("utf-8")
        write_atomic(ctx, default_path, update_toml(text, snapshot).encode("utf-8"))


_FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file",
        help="The edited document (TOML from 'inspect', or JSON). Default: the movie's movie.toml.",
        show_default=False,
    ),
]
_ReplaceOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--replace",
        help="Use your own file for a generated artefact: ARTEFACT_ID=PATH (repeatable), e.g. "
        "'Images.SegmentImage[0][0]=photo.png'.",
        show_default=False,
    ),
]
_DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show the edits and the plan; change nothing.")]
_YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before running the plan.")]
_ConcurrencyOpt = Annotated[
    int | None, typer.Option("--concurrency", "-c", min=1, max=256, help=CONCURRENCY_HELP, show_default=False)
]


def edit_command(
    movie: MovieOpt,
    file: _FileOpt = None,
    replace: _ReplaceOpt = None,
    dry_run: _DryRunOpt = False,
    yes: _YesOpt = False,
    providers: ModeOpt = "live",
    concurrency: _ConcurrencyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply your edits (movie.toml, prompts/ files, --replace) and rebuild only what they touch.

    Shows what you changed and the plan (which jobs re-run, why, estimated cost), asks, then builds.
    Answering no changes nothing (exit 0); exit 1 when a job fails.

    Example: tutopanda edit --movie volcanoes --replace 'Images.SegmentImage[1][0]=crater.png' --yes
    """
    from tutopanda.cli.build_commands import execute_build, print_plan, provider_mode, raise_for_outcome
    from tutopanda.cli.build_commands import offline_only as offline
    from tutopanda.core.engine.change import Change, movie_state
    from tutopanda.core.errors import UsageError
    from tutopanda.core.movie.document import take_snapshot
    from tutopanda.core.movie.edit import collect_edits, parse_replacements

    if as_json and not (yes or dry_run):
        raise UsageError("--json cannot ask for confirmation", "add --yes (or --dry-run) to edit with --json")
    mode = provider_mode(providers)
    ctx = _context()
    baseline = movie_state(ctx, movie)
    snapshot = take_snapshot(ctx, movie)
    document, source, default_path = _read_document(ctx, movie, file)
    edits = collect_edits(ctx, movie, snapshot, document, source)
    edits.replacements = parse_replacements(snapshot, replace or [])
    if edits.is_empty:
        if as_json:
            print_json({"movie": movie, "edits": [], "plan": None, "revision": None})
        else:
            stdout_console().print(
                f"no edits found in {source} or the movie's prompts/ files: nothing to do", markup=False
            )
        return
    command = f"tutopanda edit --movie {movie}"
    change = Change(command, edits=edits, source=source, based_on=baseline, snapshot=snapshot)
    if dry_run:
        _dry_run(ctx, movie, change, mode=mode, offline=offline(providers), as_json=as_json)
        return

    def ask(plan: Plan) -> bool:
        from tutopanda.cli.output import confirm

        if not as_json:
            _print_edits(edits)
            print_plan(plan)
        if yes or confirm(f"Record these edits and run {len(plan.jobs)} job(s)?", command="edit"):
            return True
        stdout_console().print("cancelled: nothing was changed", markup=False)
        return False

    outcome = execute_build(
        ctx,
        movie,
        change,
        mode=mode,
        concurrency=job_concurrency(concurrency),
        as_json=as_json,
        show_plan=False,
        offline=offline(providers),
        confirm=ask,
        on_built=lambda _: _refresh(ctx, movie, file, default_path),
    )
    if outcome.report is not None:
        _print_outcome(outcome, movie, edits, as_json=as_json, ctx=ctx)
        raise_for_outcome(outcome.report, movie)


def _dry_run(
    ctx: StorageContext, movie: str, change: Change, *, mode: Mode, offline: bool, as_json: bool
) -> None:
    """``--dry-run``: the edits and the plan, with every check a real edit makes; nothing is recorded."""
    from tutopanda.cli.build_commands import print_plan, resolver
    from tutopanda.core.engine.change import preview
    from tutopanda.core.engine.provider_contract import EnvSecretResolver
    from tutopanda.providers.wiring import check_offline, preflight

    assert change.edits is not None  # an edit's change always carries its edits
    plan = preview(ctx, movie, change, resolver=resolver(mode), mode=mode)
    if offline:
        check_offline(plan)
    preflight(plan, mode, EnvSecretResolver())  # a dry run reports a missing key too
    if as_json:
        print_json(
            {"movie": movie, "edits": change.edits.describe(), "plan": plan.to_dict(), "revision": None}
        )
        return
    _print_edits(change.edits)
    print_plan(plan)
    stdout_console().print("dry run: nothing was changed", markup=False)


def _print_outcome(
    outcome: Outcome, movie: str, edits: EditSet, *, as_json: bool, ctx: StorageContext | None = None
) -> None:
    """The new revision and the published movie (or, with ``--json``, the edits, plan and result)."""
    report, published = outcome.report, outcome.published
    assert report is not None  # only an edit that was built is printed
    if as_json:
        print_json(
            {
                "movie": movie,
                "edits": edits.describe(),
                "plan": outcome.plan.to_dict(),
                "revision": report.revision,
                "video": published.video if published else None,
                "failed": [{"jobId": o.job_id, "error": o.error} for o in report.failed],
            }
        )
        return
    from tutopanda.cli.build_commands import revision_line

    console = stdout_console()
    console.print(revision_line(report, ctx), markup=False)
    if published is not None:
        console.print(f"movie: {published.video}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``inspect`` and ``edit`` to ``app``."""
    app.command("inspect")(inspect_command)
    app.command("edit")(edit_command)
