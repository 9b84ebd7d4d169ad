"""``tutopanda query "PROMPT"``: one command from a question to a movie file.

Creates (or continues) a movie, records the given values, optionally takes the user's own script,
builds it with the local offline providers, and publishes the MP4 to ``<root>/movies/<id>/<title>.mp4``.
Every step is an engine verb; this module only maps flags to input values and prints the result.

Values of a new movie come from, in order of precedence: a flag, ``<root>/settings.toml`` (``[general]``
blueprint, language, audience, style, voice and the ``[[producers]]`` model choices), the blueprint's
default. An existing movie keeps its recorded values and selection: only flags change them, so editing
the settings file never dirties a movie. ``--concurrency`` falls back to the settings, then to 4.

Flags are checked before anything is created: ``--style``, ``--audience``, ``--language`` and
``--resolution`` against the vocabularies their inputs use (:mod:`tutopanda.core.blueprint.vocabulary`), and
``--voice`` against the voices of the speech provider the movie's narration module runs
(:func:`tutopanda.providers.voices.voices_for`). A bad value exits 2 with one line naming the flag and
the allowed values or a "did you mean".

The command only orchestrates: which movie (:mod:`.query_target`), what to record
(:mod:`.query_choice`), the build (:mod:`.build_execution`, through the engine's change verb) and what
it prints (:mod:`.query_report`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tutopanda.cli.build_execution import (
    ModeOpt,
    execute_build,
    offline_only,
    provider_mode,
    raise_for_outcome,
)
from tutopanda.cli.options import JsonOpt
from tutopanda.cli.query_choice import choose
from tutopanda.cli.query_inputs import check_prompt, read_script
from tutopanda.cli.query_report import (
    PaidQuestion,
    print_dry_run,
    print_result,
    start_printer,
)
from tutopanda.cli.query_target import target_movie
from tutopanda.cli.settings import CONCURRENCY_HELP, job_concurrency
from tutopanda.core.blueprint.vocabulary import VOCABULARIES
from tutopanda.core.limits import MAX_DURATION_SECONDS, MAX_LOOP_COUNT, MIN_DURATION_SECONDS

__all__ = ["register"]


_PromptArg = Annotated[
    str | None, typer.Argument(help="The question the movie answers (optional with --script).")
]
_ScriptOpt = Annotated[
    Path | None,
    typer.Option(
        "--script", help="Your own narration: Markdown with '# Title' and one '## ...' section per segment."
    ),
]
_MovieOpt = Annotated[
    str | None,
    typer.Option("--movie", "-m", help="Movie id to create or continue (default: from the prompt)."),
]
_BlueprintOpt = Annotated[
    str | None,
    typer.Option(
        "--blueprint",
        "-b",
        help="Blueprint of a new movie: a bundled name, one of yours in <root>/blueprints/, or a YAML "
        "file (default image-audio).",
        show_default=False,
    ),
]
_SegmentsOpt = Annotated[
    int | None, typer.Option("--segments", min=1, max=MAX_LOOP_COUNT, help="Number of segments.")
]
_DurationOpt = Annotated[
    int | None,
    typer.Option(
        "--duration", min=MIN_DURATION_SECONDS, max=MAX_DURATION_SECONDS, help="Total length in seconds."
    ),
]
_LastOpt = Annotated[
    bool, typer.Option("--last", help="Continue the movie changed most recently (instead of --movie ID).")
]
_StyleOpt = Annotated[
    str | None,
    typer.Option("--style", help=f"Visual style: {VOCABULARIES['style'].listing()}.", show_default=False),
]
_AudienceOpt = Annotated[
    str | None,
    typer.Option(
        "--audience", help=f"Who it is for: {VOCABULARIES['audience'].listing()}.", show_default=False
    ),
]
_VoiceOpt = Annotated[
    str | None,
    typer.Option(
        "--voice",
        help="Voice id of the narration's speech provider ('default' always works).",
        show_default=False,
    ),
]
_LanguageOpt = Annotated[
    str | None,
    typer.Option("--language", help="ISO 639-1 narration language (en, fr, de, ...).", show_default=False),
]
_ResolutionOpt = Annotated[
    str | None,
    typer.Option("--resolution", help=f"{VOCABULARIES['resolution'].listing()}.", show_default=False),
]
_SubtitlesOpt = Annotated[
    bool | None, typer.Option("--burn-subtitles/--soft-subtitles", help="Draw subtitles into the picture.")
]
_ProviderOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--provider",
        help="Run one producer with another variant: Module=provider/model (repeatable; "
        "see 'tutopanda blueprints describe'). Wins over settings.toml.",
        show_default=False,
    ),
]
_ConcurrencyOpt = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        "-c",
        min=1,
        max=256,
        help=CONCURRENCY_HELP,
        show_default=False,
    ),
]
_DryRunOpt = Annotated[
    bool,
    typer.Option("--dry-run", help="Show what would run and why (and its cost); create and change nothing."),
]
_YesOpt = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask before running paid (online) providers.")
]
_PlanOpt = Annotated[
    bool,
    typer.Option(
        "--plan",
        help="Print the full plan (every job, why it runs, its cost) before building; shown anyway "
        "when the build costs money.",
    ),
]


def query(
    prompt: _PromptArg = None,
    script: _ScriptOpt = None,
    movie: _MovieOpt = None,
    last: _LastOpt = False,
    blueprint: _BlueprintOpt = None,
    segments: _SegmentsOpt = None,
    duration: _DurationOpt = None,
    style: _StyleOpt = None,
    audience: _AudienceOpt = None,
    voice: _VoiceOpt = None,
    language: _LanguageOpt = None,
    resolution: _ResolutionOpt = None,
    burn_subtitles: _SubtitlesOpt = None,
    providers: ModeOpt = "live",
    provider: _ProviderOpt = None,
    concurrency: _ConcurrencyOpt = None,
    dry_run: _DryRunOpt = False,
    yes: _YesOpt = False,
    plan_table: _PlanOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Make a narrated movie from a question (offline by default), and print where it is.

    Asks before a build that calls paid online providers (--yes skips the question).

    Examples: tutopanda query "How do volcanoes erupt?" --segments 4 --style watercolor;
    tutopanda query --movie how-do-volcanoes-erupt-3f9a1c --voice en-us --dry-run; tutopanda query --last
    """
    mode = provider_mode(providers)
    if prompt is not None:  # before the prompt is slugged, hashed or copied anywhere
        check_prompt(prompt)
    parsed = read_script(script, segments) if script is not None else None
    if parsed is not None:
        segments, prompt = len(parsed.segments), prompt or parsed.title
    ctx, settings, movie_id, existing, baseline = target_movie(prompt, movie, last, quiet=as_json)
    flags = dict(segments=segments, duration=duration, style=style, audience=audience, voice=voice)
    flags.update(language=language, resolution=resolution, burn_subtitles=burn_subtitles)
    choice = choose(
        ctx,
        movie_id,
        existing=existing,
        blueprint=blueprint or (None if existing else settings.general.blueprint),
        settings=settings,
        prompt=prompt,
        flags=flags,
        providers=providers,
        provider=provider or [],
        own_script=parsed is not None,
        as_json=as_json,
        dry_run=dry_run,
    )
    change = choice.change(movie_id, existing=existing, script=parsed, based_on=baseline)
    if dry_run:
        print_dry_run(ctx, movie_id, change, mode=mode, as_json=as_json)
        return
    asked = PaidQuestion(mode=mode, yes=yes, as_json=as_json, movie_id=movie_id, existing=existing)

    outcome = execute_build(
        ctx,
        movie_id,
        change,
        mode=mode,
        concurrency=job_concurrency(concurrency, settings),
        as_json=as_json,
        offline=offline_only(providers),
        show_plan=False,
        confirm=asked,
        on_start=start_printer(choice, asked, plan_table=plan_table, as_json=as_json),
    )
    if outcome.report is not None:
        print_result(outcome, movie_id, choice, mode=mode, as_json=as_json, ctx=ctx, existing=existing)
        raise_for_outcome(outcome.report, movie_id)


def register(app: typer.Typer) -> None:
    """Add ``query`` to ``app``."""
    app.command("query")(query)
