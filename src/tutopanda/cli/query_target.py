"""Which movie a ``query`` makes or continues: ``--movie``, ``--last``, an interrupted creation asking
the same question, or a new id made from the prompt.

Why a module of its own: the answer also fixes the state the change is checked against under the lock,
and it names (without continuing) a finished movie that already answers the question.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tutopanda.cli.output import stderr_console
from tutopanda.cli.settings import state
from tutopanda.core.movie.ids import new_movie_id

if TYPE_CHECKING:
    from tutopanda.core.engine.change import MovieState
    from tutopanda.core.store.storage import StorageContext
    from tutopanda.settings import Settings

__all__ = ["target_movie"]


def target_movie(
    prompt: str | None, movie: str | None, last: bool = False, *, quiet: bool = False
) -> tuple[StorageContext, Settings, str, bool, MovieState]:
    """The store, its settings, the movie's id, whether it exists, and the state it is changed from.

    Without ``--movie``: ``--last`` continues the movie changed most recently; otherwise a movie asking
    the same question whose creation was interrupted is continued (the same command again finishes what
    it started), and one that exists is named with the command that continues it (a new movie is still
    made: asking again on purpose is allowed).
    """
    from tutopanda.cli.settings import note_defaults
    from tutopanda.core.engine.change import movie_state
    from tutopanda.core.errors import UsageError
    from tutopanda.core.store.movie_paths import is_defined
    from tutopanda.core.store.storage import StorageConfig, StorageContext, validate_movie_id
    from tutopanda.settings import load_settings

    ctx = StorageContext.open(StorageConfig(root=state.storage_root()))
    settings = load_settings(ctx)
    note_defaults(settings)
    if last and movie is not None:
        raise UsageError("--last and --movie both name the movie to continue", "give one of them")
    if prompt is None and movie is None and not last:
        raise UsageError(
            "give the question the movie answers",
            'tutopanda query "How do volcanoes erupt?" (or --last to continue the last movie)',
        )
    if last:
        from tutopanda.core.movie.lookup import last_movie

        movie = last_movie(ctx)
    elif movie is None and prompt is not None:
        movie = _same_question(ctx, prompt, quiet=quiet)
    movie_id = validate_movie_id(movie) if movie is not None else new_movie_id(prompt or "movie")
    baseline = movie_state(ctx, movie_id)  # what the change is checked against under the lock
    existing = is_defined(ctx, movie_id)  # an interrupted creation is continued as a new movie
    if prompt is None and not existing:
        raise UsageError(
            f"movie '{movie_id}' does not exist yet: give the question it answers",
            f'tutopanda query "How do volcanoes erupt?" --movie {movie_id}',
        )
    return ctx, settings, movie_id, existing, baseline


def _same_question(ctx: StorageContext, prompt: str, *, quiet: bool) -> str | None:
    """The movie to continue for ``prompt`` (one whose creation was interrupted), else None; a note on
    stderr names a finished movie asking the same question and how to continue it."""
    from tutopanda.core.movie.lookup import movies_asking

    matches = movies_asking(ctx, prompt)
    interrupted = [movie for movie in matches if movie.interrupted]
    console = stderr_console()
    if interrupted:
        movie_id = interrupted[0].movie_id
        if not quiet:
            console.print(f"continuing movie '{movie_id}': its creation was interrupted", markup=False)
        return movie_id
    if matches and not quiet:
        movie_id = matches[0].movie_id
        console.print(
            f"note: movie '{movie_id}' already answers this question; this makes a new one "
            f"(continue that one with: tutopanda query --movie {movie_id}, or --last)",
            markup=False,
            highlight=False,
        )
    return None
