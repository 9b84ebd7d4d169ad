"""``tutopanda verify`` and ``tutopanda gc``: check (and repair) a movie's store, and reclaim its space.

Thin commands over :mod:`tutopanda.core.upkeep.verify` and :mod:`tutopanda.core.upkeep.gc`: they open the
storage context, call one engine verb and render the report — a Rich table, a one-line ``ok`` per movie,
or JSON. ``verify`` exits 1 while errors remain; ``gc`` is a dry run unless ``--no-dry-run``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

import typer

from tutopanda.cli.options import JsonOpt
from tutopanda.cli.output import Col, make_table, print_json, stdout_console
from tutopanda.cli.settings import state

if TYPE_CHECKING:
    from tutopanda.core.store.storage import StorageContext
    from tutopanda.core.upkeep.gc import GcReport, GcSkipped
    from tutopanda.core.upkeep.verify import VerifyReport

__all__ = ["register"]

_HASH = re.compile(r"[0-9a-f]{64}")
_ROWS_SHOWN = 50
"""Files listed in the gc table; ``--json`` lists every one."""

OptionalMovieOpt = Annotated[
    str | None,
    typer.Option(
        "--movie",
        "-m",
        help="Movie id: letters, digits, '-' and '_' (the folder under <root>/builds/).",
        show_default=False,
    ),
]


def _context() -> StorageContext:
    from tutopanda.core.store.storage import StorageConfig, StorageContext

    return StorageContext.open(StorageConfig(root=state.storage_root()))


def size_text(size: int) -> str:
    """``512 B``, ``3.4 KB``, ``1.2 MB``, ``2.0 GB`` (decimal units)."""
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            return f"{value:.1f} {unit}"
    return f"{size} B"  # pragma: no cover - the loop always returns


def _age_text(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} d"


# -- verify --------------------------------------------------------------------------------------


def _short(text: str) -> str:
    """Blob hashes cut to 12 characters, so paths fit a terminal (``--json`` keeps them whole)."""
    return _HASH.sub(lambda match: match.group(0)[:12] + "…", text)


def _checked_text(report: VerifyReport) -> str:
    checked = report.checked
    return (
        f"{checked.manifests} manifest(s), {checked.blobs} blob(s) / {size_text(checked.blob_bytes)} "
        f"hashed, {checked.events} event(s), {checked.records} record(s)"
    )


def _print_verify(reports: list[VerifyReport], *, show_movie: bool) -> None:
    from rich.markup import escape

    console = stdout_console()
    for report in reports:
        for repair in report.repairs:
            action = escape(_short(repair.action))
            console.print(f"[green]repaired[/green] {escape(report.movie_id)}: {action}")
    problems = [(report.movie_id, problem) for report in reports for problem in report.problems]
    if problems:
        # severity and kind are short codes scripts grep for: never split them
        columns = (
            Col("severity", ident=True),
            Col("kind", ident=True),
            Col("path", drop=1),
            "problem",
            "what to do",
        )
        table = make_table(*((Col("movie", ident=True), *columns) if show_movie else columns))
        for movie_id, problem in problems:
            severity = "[red]error[/red]" if problem.severity == "error" else "[yellow]warning[/yellow]"
            what = problem.hint or ""
            if problem.repairable and problem.severity == "error" and not reports[0].repaired:
                what = f"{what} (repairable)" if what else "repairable"
            row = [
                severity,
                problem.kind,
                escape(_short(problem.path) or "-"),
                escape(problem.message),
                escape(what),
            ]
            table.add_row(*([escape(movie_id), *row] if show_movie else row))
        console.print(table)
    for report in reports:
        name = escape(report.movie_id)
        if report.ok:
            warned = f", {len(report.warnings)} warning(s)" if report.warnings else ""
            console.print(f"[green]ok[/green] {name}: {_checked_text(report)}{warned}")
        else:
            repairable = sum(1 for p in report.errors if p.repairable)
            advice = (
                f" ({repairable} repairable: run 'tutopanda verify --movie {name} --repair')"
                if repairable and not report.repaired
                else ""
            )
            console.print(
                f"[red]{len(report.errors)} error(s)[/red] {name}: {_checked_text(report)}{advice}",
            )


def verify_command(
    movie: OptionalMovieOpt = None,
    all_movies: Annotated[
        bool, typer.Option("--all", help="Verify every movie in the storage root.")
    ] = False,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Restore what can be restored (pointer, torn log tails, corrupt blobs, stale temp files); "
            "takes the movie's build lock.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check a movie's store: manifests, blobs (re-hashed), current.json, event logs, plan/run records.

    Every blob file is re-hashed, so this reads the whole movie. Exits 0 when no error remains (warnings
    such as history whose blobs gc removed do not count) and 1 otherwise. --repair re-points current.json
    at the newest complete manifest (or rebuilds one from the events), cuts torn log tails, removes corrupt
    blobs (the next build makes them again) and stale temp files, then checks again.

    Example: tutopanda verify --movie volcanoes --repair
    """
    from tutopanda.core.errors import CorruptDataError, UsageError
    from tutopanda.core.upkeep.verify import verify_all, verify_movie

    if (movie is None) == (not all_movies):
        raise UsageError(
            "give either --movie ID or --all",
            "e.g. 'tutopanda verify --movie volcanoes' or 'tutopanda verify --all'",
        )
    ctx = _context()
    if movie is not None:
        reports = [verify_movie(ctx, movie, repair=repair)]
    else:
        reports = verify_all(ctx, repair=repair)
    if as_json:
        if movie is not None:
            print_json(reports[0].to_dict())
        else:
            print_json({"ok": all(r.ok for r in reports), "movies": [r.to_dict() for r in reports]})
    elif not reports:
        stdout_console().print(f"no movies in {ctx.builds_dir()}")
    else:
        _print_verify(reports, show_movie=movie is None)
    failing = [report for report in reports if not report.ok]
    if not failing:
        return
    errors = sum(len(report.errors) for report in failing)
    names = ", ".join(f"'{report.movie_id}'" for report in failing[:3])
    repairable = any(p.repairable for report in failing for p in report.errors)
    if repairable and not repair:
        target = f"--movie {failing[0].movie_id}" if movie is not None else "--all"
        hint = f"run 'tutopanda verify {target} --repair' to restore what can be restored"
    else:
        hint = "what is left cannot be repaired here: see the 'what to do' column (--json: 'hint')"
    raise CorruptDataError(f"{errors} error(s) remain in movie {names}", hint)


# -- gc ------------------------------------------------------------------------------------------


def _print_gc(reports: list[GcReport], skipped: list[GcSkipped], *, dry_run: bool) -> None:
    from rich.markup import escape

    console = stdout_console()
    rows = [
        (report, item, "blob" if item.hash else "temp file")
        for report in reports
        for item in (*report.blobs, *report.temps)
    ]
    if rows:
        title = "would remove" if dry_run else "removed"
        table = make_table(
            Col("movie", ident=True, drop=1),
            Col("file", ident=True),
            Col("kind", drop=2),
            Col("size", ident=True),
            Col("age", ident=True, drop=3),
            title=title,
        )
        for report, item, kind in rows[:_ROWS_SHOWN]:
            table.add_row(
                escape(report.movie_id),
                escape(_short(item.relative)),
                kind,
                size_text(item.size),
                _age_text(item.age(report.now)),
            )
        console.print(table)
        if len(rows) > _ROWS_SHOWN:
            console.print(f"… and {len(rows) - _ROWS_SHOWN} more (--json lists every file)")
    blobs = sum(len(report.blobs) for report in reports)
    temps = sum(len(report.temps) for report in reports)
    size = sum(report.remove_bytes for report in reports)
    kept = sum(report.kept_blobs for report in reports)
    kept_bytes = sum(report.kept_bytes for report in reports)
    young = sum(len(report.young) for report in reports)
    verb = "would remove" if dry_run else "removed"
    console.print(
        f"{'dry run: ' if dry_run else ''}{verb} {blobs} blob(s) and {temps} temp file(s), "
        f"{size_text(size)}, from {len(reports)} movie(s); kept {kept} blob(s), {size_text(kept_bytes)}"
    )
    if young:
        console.print(f"kept {young} unreferenced blob(s) younger than the grace period (1 h)")
    for skip in skipped:
        console.print(f"[yellow]skipped[/yellow] {escape(skip.movie_id)}: {escape(skip.message)}")
    if dry_run and (blobs or temps):
        console.print("nothing was removed; run again with --no-dry-run to remove them")


def gc_command(
    movie: OptionalMovieOpt = None,
    keep_revisions: Annotated[
        int | None,
        typer.Option(
            "--keep-revisions",
            help="Protect only the blobs of the newest N manifests (and the current one); manifests "
            "themselves are kept. Default: every revision.",
            show_default=False,
        ),
    ] = None,
    prune_trace: Annotated[
        bool,
        typer.Option(
            "--prune-trace",
            help="Also remove blobs only committed artefact events name (older takes kept for free "
            "undo): undoing to them calls the providers again. Manual edits stay protected.",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run/--no-dry-run",
            help="Only show what would be removed (the default); --no-dry-run removes.",
        ),
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Remove blobs no kept revision and no event references (a dry run unless --no-dry-run).

    By default every blob an event names is kept (events are the memo table behind free undo), so gc
    removes what crashed or failed writes left behind; --prune-trace and --keep-revisions reclaim more.
    Refused while a build holds the movie; files younger than an hour are never removed.

    Example: tutopanda gc --movie volcanoes --keep-revisions 3 --prune-trace --no-dry-run
    """
    from tutopanda.core.errors import StorageError
    from tutopanda.core.upkeep.gc import gc_all, gc_movie

    ctx = _context()
    if movie is not None:
        reports = [
            gc_movie(ctx, movie, keep_revisions=keep_revisions, prune_trace=prune_trace, dry_run=dry_run)
        ]
        skipped: list[GcSkipped] = []
    else:
        reports, skipped = gc_all(
            ctx, keep_revisions=keep_revisions, prune_trace=prune_trace, dry_run=dry_run
        )
    if as_json:
        if movie is not None:
            print_json(reports[0].to_dict())
        else:
            print_json(
                {
                    "dryRun": dry_run,
                    "movies": [report.to_dict() for report in reports],
                    "skipped": [skip.to_dict() for skip in skipped],
                    "remove": {
                        "count": sum(len(r.blobs) + len(r.temps) for r in reports),
                        "bytes": sum(r.remove_bytes for r in reports),
                    },
                }
            )
    else:
        _print_gc(reports, skipped, dry_run=dry_run)
    if skipped:
        first = skipped[0]
        raise StorageError(
            f"{len(skipped)} movie(s) skipped: {first.movie_id}: {first.message}",
            first.hint or "run gc again when nothing else uses them",
        )


def register(app: typer.Typer) -> None:
    """Add ``verify`` and ``gc`` to ``app``."""
    app.command("verify")(verify_command)
    app.command("gc")(gc_command)
