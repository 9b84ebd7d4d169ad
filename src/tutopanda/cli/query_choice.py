"""Everything a ``query`` decides before it records anything: the blueprint, the input values, each
module's variant and config, and the script writer, combined from flags, settings and this machine.

Why a module of its own: the precedence (a flag, else ``settings.toml`` for a new movie, else the
blueprint's default; an existing movie keeps its recorded values) and the validation of all of it,
before anything is created, are the one place query's choices are made. The pieces live in
:mod:`.query_inputs`, :mod:`.query_variants`, :mod:`.script_writer_choice` and (shared with the MCP
server) :mod:`tutopanda.movie_choice`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tutopanda.cli.build_execution import offline_only, provider_mode
from tutopanda.cli.output import stderr_console, stdout_console
from tutopanda.cli.query_inputs import flag_values, settings_values
from tutopanda.cli.query_report import summary_line
from tutopanda.cli.query_variants import check_voice
from tutopanda.cli.script_writer_choice import offer_local_model
from tutopanda.cli.settings import state
from tutopanda.cli.user_blueprints import resolve_blueprint_name
from tutopanda.movie_choice import new_movie_choices, offline_selection, settings_selection

if TYPE_CHECKING:
    from tutopanda.core.blueprint import Blueprint
    from tutopanda.core.engine.change import Change, MovieState
    from tutopanda.core.store.storage import StorageContext
    from tutopanda.providers.local.script_markdown import ParsedScript
    from tutopanda.providers.writers.choice import WriterChoice
    from tutopanda.settings import Settings

__all__ = ["QueryChoice", "choose"]


@dataclass
class QueryChoice:
    """What a query records: the values, the variant choices and their configs, and why (for printing).

    ``selection`` is what this query records; ``recorded`` is an existing movie's own selection, which
    together with it decides the variants that run.
    """

    blueprint: Blueprint
    blueprint_ref: str | None
    values: dict[str, object]
    selection: dict[str, tuple[str, str]]
    recorded: dict[str, tuple[str, str]] = field(default_factory=dict)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    writer: WriterChoice | None = None
    own_script: bool = False

    @property
    def variants(self) -> dict[str, tuple[str, str]]:
        return {**self.recorded, **self.selection}

    def change(
        self, movie_id: str, *, existing: bool, script: ParsedScript | None, based_on: MovieState
    ) -> Change:
        """The engine's :class:`Change`: create (or continue) the movie, define it, take the script."""
        from tutopanda.core.engine.change import Change, ScriptText

        return Change(
            f"tutopanda query --movie {movie_id}",
            create=not existing,
            define=True,
            blueprint=self.blueprint_ref,
            values=self.values,
            selection=self.selection,
            configs=self.configs,
            script=ScriptText(script.title, script.summary, script.segments) if script is not None else None,
            based_on=based_on,
        )

    def summary(self, movie_id: str, existing: bool, cost_note: str | None) -> str:
        """The one line printed before the build (:func:`.query_report.summary_line`)."""
        return summary_line(
            self.blueprint,
            self.values,
            self.variants,
            movie_id=movie_id,
            existing=existing,
            own_script=self.own_script,
            cost_note=cost_note,
            writer_told=self.writer is not None,
        )


def choose(
    ctx: StorageContext,
    movie_id: str,
    *,
    existing: bool,
    blueprint: str | None,
    settings: Settings,
    prompt: str | None,
    flags: dict[str, Any],
    providers: str,
    provider: list[str],
    own_script: bool,
    as_json: bool,
    dry_run: bool,
) -> QueryChoice:
    """Flags, then (for a new movie) settings.toml, the local voice and the script writer: what to record.

    Everything is validated here, before anything is created: a bad flag or setting exits 2.
    """
    from tutopanda.core.blueprint import expand, load_blueprint, parse_model_options
    from tutopanda.core.errors import UsageError

    if blueprint is not None:  # a name of the user's own blueprint becomes its path (recorded as one)
        blueprint = resolve_blueprint_name(blueprint, state.storage_root())
    if existing:  # its own blueprint decides which flags apply (define_movie refuses another one)
        from tutopanda.core.movie.definition import load_movie

        loaded = load_movie(ctx, movie_id)
        choice = QueryChoice(loaded.blueprint, blueprint, {}, {}, loaded.definition.selection_pairs())
    else:
        choice = QueryChoice(load_blueprint(blueprint or ""), blueprint, {}, {})
    choice.own_script = own_script
    choice.values = flag_values(choice.blueprint, prompt, flags)
    chosen = parse_model_options(provider)  # flags: always applied, also to an existing movie
    choice.selection = dict(chosen)
    if not existing:  # settings fill in what no flag gave; an existing movie keeps its recorded values
        from_settings = settings_values(choice.blueprint, settings, choice.values)
        choice.values.update(from_settings)
        choice.selection = {**settings_selection(choice.blueprint, settings), **chosen}
        try:  # validate before creating anything
            expand(choice.blueprint, choice.values, choice.selection or None)
        except UsageError as exc:
            if not from_settings:
                raise
            names = ", ".join(sorted(from_settings))
            raise UsageError(
                exc.message, f"{exc.hint or 'fix the value'} ({names} came from {settings.path})"
            ) from exc
    if not existing:  # the best voice and writer here, recorded so the variants name what runs
        _choose_for_new_movie(choice, settings, providers=providers, as_json=as_json, dry_run=dry_run)
    elif offline_only(providers):
        choice.selection.update(offline_selection(choice.blueprint, choice.variants))
    if flags.get("voice") is not None:
        check_voice(choice.blueprint, str(flags["voice"]), choice.variants)
    return choice


def _choose_for_new_movie(
    choice: QueryChoice, settings: Settings, *, providers: str, as_json: bool, dry_run: bool
) -> None:
    """A new movie's remaining variants and configs (:func:`tutopanda.movie_choice.new_movie_choices`,
    as the MCP server makes them), plus what only the CLI does: the offer to download the local model
    and the line naming the script writer."""
    blueprint, offline = choice.blueprint, offline_only(providers)

    def offer(selection: dict[str, tuple[str, str]]) -> None:  # once, before the writer is chosen
        if (
            not offline
            and not choice.own_script
            and not (as_json or dry_run)
            and not any(m.kind == "script" and m.name in selection for m in blueprint.modules)
            and not os.environ.get("OPENAI_BASE_URL")
        ):
            offer_local_model()

    def warn(line: str) -> None:
        stderr_console().print(line, markup=False, highlight=False)

    live = provider_mode(providers) == "live"
    made = new_movie_choices(
        blueprint,
        settings,
        choice.values,
        choice.selection,
        live=live,
        offline=offline,
        warn=warn,
        before_writer=offer,
    )
    choice.selection, choice.configs, choice.writer = made.selection, made.configs, made.writer
    if choice.writer is not None and not as_json and not choice.own_script:  # --script: no writer runs
        stdout_console().print(choice.writer.describe(), markup=False, highlight=False)
