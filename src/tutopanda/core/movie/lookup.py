"""Finding a movie again without its id: the last one worked on, and the ones asking the same question.

Why: a new movie's id carries a random suffix (:mod:`tutopanda.core.movie.ids`), so typing the same
``query "..."`` twice makes two movies, and a person who lost the id has to go through ``movies list``.
``query --last`` continues :func:`last_movie`; a query for a question some movie already answers names
that movie and the command that continues it (:func:`movies_asking`), and a movie whose creation was
interrupted is continued by the same command rather than started again next to it.

Everything here reads the store only: each movie's ``current.json`` and its input log (the latest
``Input:InquiryPrompt`` event is the question the movie answers now).
"""

from __future__ import annotations

from dataclasses import dataclass

from tutopanda.core.errors import TutopandaError, UsageError
from tutopanda.core.store.event_log import input_log
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.movie_paths import creation_interrupted, is_initialised
from tutopanda.core.store.storage import StorageContext, validate_movie_id

__all__ = ["PROMPT_INPUT", "MovieActivity", "last_movie", "movie_activity", "movies_asking"]

PROMPT_INPUT = "Input:InquiryPrompt"


@dataclass(frozen=True)
class MovieActivity:
    """One movie as the lookups see it: the question it answers, when it last changed, and whether its
    creation was interrupted (the ``query`` that made it stopped before recording everything)."""

    movie_id: str
    prompt: str | None
    changed_at: str
    interrupted: bool


def movie_activity(ctx: StorageContext) -> list[MovieActivity]:
    """Every readable movie under the root (folders that are not movies, or cannot be read, are skipped)."""
    found: list[MovieActivity] = []
    for name in ctx.list_names(ctx.builds_dir()):
        try:
            validate_movie_id(name)
            if not is_initialised(ctx, name):
                continue
            prompt: str | None = None
            changed = ManifestStore(ctx, name).read_pointer().updated_at or ""
            for event in input_log(ctx, name):
                changed = max(changed, event.created_at)
                if event.id == PROMPT_INPUT and isinstance(event.payload, str):
                    prompt = event.payload
            found.append(MovieActivity(name, prompt, changed, creation_interrupted(ctx, name)))
        except (TutopandaError, OSError, ValueError):
            continue
    return found


def _same_question(first: str, second: str) -> bool:
    """Case and spacing aside, the same words: ``How do volcanoes erupt?`` == ``how do  volcanoes erupt?``."""
    return " ".join(first.casefold().split()) == " ".join(second.casefold().split())


def movies_asking(ctx: StorageContext, prompt: str) -> list[MovieActivity]:
    """The movies whose question is ``prompt`` (see :func:`_same_question`), most recently changed first."""
    matches = [m for m in movie_activity(ctx) if m.prompt and _same_question(m.prompt, prompt)]
    return sorted(matches, key=lambda movie: movie.changed_at, reverse=True)


def last_movie(ctx: StorageContext) -> str:
    """The id of the movie changed most recently (built, edited or created); a usage error when none."""
    movies = movie_activity(ctx)
    if not movies:
        raise UsageError(
            f"there is no movie in {ctx.builds_dir()} to continue",
            'start one with: tutopanda query "How do volcanoes erupt?"',
        )
    return max(movies, key=lambda movie: (movie.changed_at, movie.movie_id)).movie_id
