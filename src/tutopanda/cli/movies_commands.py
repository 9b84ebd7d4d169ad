"""``tutopanda movies list|clean``: see the movies in the storage root, and delete one.

``clean`` asks before deleting anything (``--yes`` skips the question). Answering no deletes nothing and
exits 0; with no input to read an answer from (a script, ``</dev/null``) it exits 2 and says to pass
``--yes``. A movie whose build is running is never deleted (exit 1, naming the build's process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tutopanda.cli.options import JsonOpt
from tutopanda.cli.output import Col, confirm, make_table, print_json, stdout_console
from tutopanda.cli.settings import state

if TYPE_CHECKING:
    from tutopanda.core.movie.catalogue import MovieSummary
    from tutopanda.core.store.storage import StorageContext

__all__ = ["movies_app", "register"]

movies_app = typer.Typer(
    name="movies",
    help="List the movies in the storage root, or delete one (its builds and published files).",
    no_args_is_help=True,
)


def _context() -> StorageContext:
    from tutopanda.core.store.storage import StorageConfig, StorageContext

    return StorageContext.open(StorageConfig(root=state.storage_root()))


def _duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def _size_text(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _updated_text(updated: str | None) -> str:
    """``2026-12-06 01:56`` (UTC) for ``2026-12-06T01:56:54.250Z``: minutes are enough in a listing."""
    if not updated:
        return "never built"
    return updated[:16].replace("T", " ") if len(updated) >= 16 else updated


def _print_table(ctx: StorageContext, movies: list[MovieSummary]) -> None:
    from rich.markup import escape

    console = stdout_console()
    if not movies:
        console.print(f"no movies in {escape(ctx.builds_dir())}")
        console.print('start one with: tutopanda query "How do volcanoes erupt?"')
        return
    table = make_table(
        Col("id", ident=True),
        "title",
        Col("revision", ident=True, drop=2),
        Col("duration", ident=True, drop=1),
        Col("cost", ident=True, drop=3),
        Col("updated", ident=True, drop=4),
    )
    for movie in movies:
        title = escape(movie.title or "-")
        if movie.error:
            title = f"[red]unreadable: {escape(movie.error)}[/red]"
        table.add_row(
            escape(movie.id),
            title,
            movie.revision or "-",
            _duration_text(movie.duration),
            "-" if movie.cost is None else f"${movie.cost:.4f}",
            _updated_text(movie.updated),
        )
    console.print(table)


@movies_app.command("list")
def list_command(as_json: JsonOpt = False) -> None:
    """List the movies: id, title, revision, duration, total cost and last update.

    Example: tutopanda movies list --json
    """
    from tutopanda.core.movie.catalogue import list_movies

    ctx = _context()
    movies = list_movies(ctx)
    if as_json:
        print_json([movie.to_dict() for movie in movies])
    else:
        _print_table(ctx, movies)


@movies_app.command("clean")
def clean_command(
    movie_id: Annotated[str, typer.Argument(metavar="ID", help="The movie to delete (see 'movies list').")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> None:
    """Delete a movie: its build folder (every revision, blob and log) and its published files.

    Asks first unless --yes. Refused while a build of the movie is running.

    Example: tutopanda movies clean movie-1a2b3c4d --yes
    """
    from tutopanda.core.movie.catalogue import clean_movie, movie_footprint

    ctx = _context()
    footprint = movie_footprint(ctx, movie_id)
    summary = f"{footprint.files} files, {_size_text(footprint.bytes)}"
    console = stdout_console()
    if not yes and not confirm(f"Delete movie {movie_id} ({summary})?", command="movies clean"):
        console.print(f"nothing deleted: movie '{movie_id}' is unchanged")
        return
    from rich.markup import escape

    result = clean_movie(ctx, movie_id)
    console.print(
        f"deleted movie '{movie_id}' ({result.files} files, {_size_text(result.bytes)}): "
        + escape(", ".join(result.removed))
    )


def register(app: typer.Typer) -> None:
    """Add the ``movies`` command group to ``app``."""
    app.add_typer(movies_app)
