"""What an assistant can do with the movies of one storage root, as plain synchronous calls.

Why a layer apart from the protocol (:mod:`tutopanda.mcp_server.server`): every operation here is the
engine's own sequence — the values checked by the blueprint, the change previewed on a throw-away copy,
paid work refused unless confirmed, then recorded, built and published under the movie's build lock by
:func:`~tutopanda.core.engine.change.apply` — the same rules ``tutopanda query``, ``edit`` and ``build``
follow.
Keeping it free of MCP types makes it testable without a client, and keeps the server a thin mapping.

Paid builds: a change whose plan calls online providers that charge (``live`` mode) is only previewed
and returned with its plan and estimated cost unless the caller passed ``confirm=True``; nothing is
created or recorded then. Offline and mock builds never need it.

Errors are :class:`~tutopanda.core.errors.TutopandaError` (message + hint); the server turns them into
tool errors. A build whose jobs failed raises :class:`~tutopanda.core.errors.BuildFailedError` naming
them (what succeeded is committed, as in the CLI).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tutopanda.core.engine.planner import Plan
from tutopanda.core.engine.runner import JobOutcome
from tutopanda.core.errors import BuildFailedError, TutopandaError, UsageError
from tutopanda.core.store.storage import StorageConfig, StorageContext, validate_movie_id
from tutopanda.settings import OPTION_INPUTS, general_input_values

if TYPE_CHECKING:
    from tutopanda.core.blueprint import Blueprint
    from tutopanda.core.movie.document import MovieSnapshot
    from tutopanda.core.movie.edit import TextEdit
    from tutopanda.providers.local.script_markdown import ParsedScript
    from tutopanda.settings import Settings

__all__ = [
    "FLAG_INPUTS",
    "NOT_MCP_OPTIONS",
    "BuildEvents",
    "MovieOperations",
    "Providers",
    "plan_summary",
]

Providers = Literal["live", "local", "mock"]
"""As the CLI's ``--providers``: ``live`` runs the chosen variants (offline ones by default), ``local``
refuses any online job, ``mock`` runs the deterministic mocks."""

NOT_MCP_OPTIONS = frozenset({"burn_subtitles"})
"""Options of :data:`~tutopanda.settings.OPTION_INPUTS` that ``make_movie`` does not take by name.

``burn_subtitles``: the tool has no argument for it (:func:`tutopanda.mcp_server.server.create_server`'s
``make_movie``, and its row in docs/cli.md); an assistant draws subtitles into the picture through
``inputs={"BurnSubtitles": true}``, as for any input without an argument of its own. :data:`FLAG_INPUTS`
is exactly the tool's options, and an unknown option's hint lists it, so leaving ``burn_subtitles`` out
keeps that hint from offering an argument the tool does not have."""

FLAG_INPUTS = {option: name for option, name in OPTION_INPUTS.items() if option not in NOT_MCP_OPTIONS}
"""The make-movie options and the blueprint input each sets: ``tutopanda query``'s flags (the shared
table :data:`~tutopanda.settings.OPTION_INPUTS`) less :data:`NOT_MCP_OPTIONS`."""

_MAX_PLAN_JOBS = 200
"""Jobs listed one by one in a plan summary; the counts always cover every job."""


class BuildEvents:
    """Receives the build's progress (:class:`~tutopanda.core.engine.runner.ProgressSink`), from any thread.

    ``on_progress(done, total, message)`` is called once per finished job; the server forwards it as an
    MCP progress notification.
    """

    def __init__(self, on_progress: Callable[[int, int, str], None] | None = None) -> None:
        self.on_progress = on_progress
        self.total = 0
        self.done = 0

    def start(self, plan: Plan) -> None:
        self.total = len(plan.jobs)
        self.done = 0
        if self.on_progress is not None:
            self.on_progress(0, self.total, f"building {plan.movie_id}: {self.total} job(s)")

    def layer_started(self, index: int, jobs: int) -> None:
        """Layers are not reported: jobs are the unit a user follows."""

    def job_started(self, job_id: str) -> None:
        """Only finished jobs are reported."""

    def job_finished(self, outcome: JobOutcome) -> None:
        self.done += 1
        if self.on_progress is not None:
            self.on_progress(self.done, max(self.total, self.done), f"{outcome.status} {outcome.job_id}")

    def job_progress(self, job_id: str, fraction: float) -> None:
        """Within-job fractions are too chatty for a notification stream: dropped."""


def plan_summary(plan: Plan, *, paid: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The plan as an assistant needs it: counts, cost, and each job with why it runs."""
    data = plan.to_dict()
    jobs = [
        {
            "jobId": planned.job.id,
            "reasons": [reason.detail for reason in planned.reasons],
            "provider": f"{planned.job.variant.provider}/{planned.job.variant.model}",
            "estimatedCost": planned.estimated_cost,
        }
        for planned in plan.jobs[:_MAX_PLAN_JOBS]
    ]
    return {
        "revision": plan.revision,
        "blueprint": plan.blueprint_id,
        **data["summary"],
        "onlineProviders": dict(paid or {}),
        "jobs": jobs,
        "jobsListed": len(jobs),
    }


@dataclass
class _Prepared:
    """A change ready to apply, and what the caller will be told about it."""

    movie_id: str
    change: Any  # tutopanda.core.engine.change.Change (imported lazily with the engine)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class MovieOperations:
    """The operations on the movies under ``root``; ``providers`` is the default provider mode."""

    root: str
    providers: Providers = "live"
    concurrency: int = 2

    # -- plumbing ---------------------------------------------------------------------------------

    def _store(self) -> StorageContext:
        return StorageContext.open(StorageConfig(root=self.root))

    def _existing(self, ctx: StorageContext, movie: str) -> str:
        from tutopanda.core.store.movie_paths import is_defined

        movie_id = validate_movie_id(movie)
        if not is_defined(ctx, movie_id):
            raise UsageError(
                f"there is no movie '{movie_id}' in {ctx.builds_dir()}",
                "call list_movies to see the movies (or make_movie to create one)",
            )
        return movie_id

    @staticmethod
    def _mode(providers: Providers) -> Literal["live", "mock"]:
        if providers not in ("live", "local", "mock"):
            raise UsageError(f"providers must be live, local or mock, not {providers!r}", "leave it out")
        return "mock" if providers == "mock" else "live"

    def _resolver(self, providers: Providers) -> Any:
        from tutopanda.providers.wiring import price_file, resolver

        return resolver(self._mode(providers), prices=price_file(self.root))

    def _paid(self, plan: Plan, providers: Providers) -> dict[str, str]:
        from tutopanda.providers.wiring import online_jobs

        return online_jobs(plan) if self._mode(providers) == "live" else {}

    def _run(
        self,
        ctx: StorageContext,
        prepared: _Prepared,
        *,
        providers: Providers,
        confirm: bool,
        events: BuildEvents | None,
    ) -> dict[str, Any]:
        """Preview; without ``confirm``, stop at a paid plan; else apply (check, record, build, publish)."""
        from tutopanda.core.engine.change import apply, preview
        from tutopanda.core.engine.provider_contract import EnvSecretResolver
        from tutopanda.core.engine.runner import RunOptions
        from tutopanda.providers.wiring import check_offline, preflight

        mode = self._mode(providers)
        resolver = self._resolver(providers)
        secrets = EnvSecretResolver()

        def check(plan: Plan) -> None:
            if providers == "local":
                check_offline(plan)
            preflight(plan, mode, secrets)

        plan = preview(ctx, prepared.movie_id, prepared.change, resolver=resolver, mode=mode)
        check(plan)  # a missing key or an online job under "local" is an error even unconfirmed
        paid = self._paid(plan, providers)
        result: dict[str, Any] = {"movie": prepared.movie_id, **prepared.extra}
        if paid and not confirm:
            cost = plan.estimated_cost
            return {
                **result,
                "status": "needs-confirmation",
                "message": (
                    f"this build calls paid online providers ({', '.join(sorted(paid))}); estimated cost "
                    f"${cost or 0:.2f}{' + unpriced jobs' if plan.unpriced_jobs else ''}. Nothing was "
                    "recorded: call again with confirm: true to run it."
                ),
                "plan": plan_summary(plan, paid=paid),
            }

        def agree(actual: Plan) -> bool:  # the plan apply computed: a new paid job still needs the yes
            return confirm or not self._paid(actual, providers)

        outcome = apply(
            ctx,
            prepared.movie_id,
            prepared.change,
            confirm=agree,
            resolver=resolver,
            preflight=check,
            options=RunOptions(mode=mode, concurrency=self.concurrency),
            secrets=secrets,
            progress=events,
            on_start=events.start if events is not None else None,
        )
        if outcome.report is None:
            return {**result, "status": "needs-confirmation", "plan": plan_summary(outcome.plan, paid=paid)}
        report, published = outcome.report, outcome.published
        ran = [o for o in report.outcomes if o.attempts > 0]
        result.update(
            status="built" if not report.failed else "failed",
            revision=report.revision,
            plan=plan_summary(outcome.plan, paid=paid),
            jobsRun=[o.job_id for o in ran],
            calls=report.calls,
            cost=round(sum(o.cost or 0.0 for o in report.outcomes), 6),
            video=published.video if published else None,
            subtitles=list(published.extras) if published else [],
        )
        if report.failed or report.stopped:
            failed = ", ".join(f"{o.job_id} ({o.error or o.status})" for o in report.failed[:5])
            raise BuildFailedError(
                f"movie '{prepared.movie_id}': {len(report.failed)} job(s) failed: {failed}"
                + (f"; {report.stopped}" if report.stopped else ""),
                report.stopped_hint
                or "everything that succeeded is kept; call build_status, fix the cause and apply again "
                "(only the failed jobs run)",
            )
        return result

    # -- tools ------------------------------------------------------------------------------------

    def make_movie(
        self,
        *,
        prompt: str | None = None,
        script: str | None = None,
        movie: str | None = None,
        blueprint: str | None = None,
        options: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Any] | None = None,
        variants: Mapping[str, str] | None = None,
        providers: Providers | None = None,
        confirm: bool = False,
        events: BuildEvents | None = None,
    ) -> dict[str, Any]:
        """Create a movie from a question (or the user's Markdown script) and build it; on an existing
        ``movie``, change its inputs and rebuild what they touch (as ``tutopanda query --movie``)."""
        from tutopanda.core.blueprint import expand, load_blueprint, parse_model_options
        from tutopanda.core.engine.change import Change, ScriptText, movie_state
        from tutopanda.core.movie.definition import load_movie
        from tutopanda.core.movie.ids import new_movie_id
        from tutopanda.core.store.movie_paths import is_defined
        from tutopanda.movie_choice import (
            NewMovieChoices,
            new_movie_choices,
            offline_selection,
            settings_selection,
        )
        from tutopanda.settings import load_settings

        chosen = providers or self.providers
        self._mode(chosen)  # an unknown mode refused before any choice is made (the writer's probes)
        warnings: list[str] = []
        prompt, parsed = _question_and_script(prompt, script, movie)
        ctx = self._store()
        movie_id = validate_movie_id(movie) if movie is not None else new_movie_id(prompt or "movie")
        baseline = movie_state(ctx, movie_id)
        existing = is_defined(ctx, movie_id)
        if prompt is None and not existing:
            raise UsageError(f"movie '{movie_id}' does not exist yet: give its question (prompt)", None)
        settings = load_settings(ctx)
        recorded = load_movie(ctx, movie_id) if existing else None
        bp = (
            recorded.blueprint
            if recorded is not None
            else load_blueprint(blueprint or settings.general.blueprint)
        )
        values: dict[str, object] = {} if prompt is None else {"InquiryPrompt": prompt}
        values.update(_option_values(bp, options or {}))
        values.update(inputs or {})
        selection = parse_model_options([f"{module}={choice}" for module, choice in (variants or {}).items()])
        if parsed is not None:
            values["NumOfSegments"] = len(parsed.segments)
        made = NewMovieChoices(selection)
        if recorded is None:  # settings.toml and this machine fill in what was not given, as for `query`
            _fill_from_settings(values, settings, bp)
            selection = {**settings_selection(bp, settings), **selection}
            expand(bp, values, selection or None)  # every value checked before anything is created
            made = new_movie_choices(
                bp,
                settings,
                values,
                selection,
                live=chosen != "mock",
                offline=chosen == "local",
                warn=warnings.append,
            )
        elif chosen == "local":  # as `query --movie M --providers local`: online modules go offline
            made.selection.update(
                offline_selection(bp, {**recorded.definition.selection_pairs(), **selection})
            )
        change = Change(
            f"tutopanda mcp make_movie --movie {movie_id}",
            create=not existing,
            define=True,
            blueprint=None if existing else (blueprint or settings.general.blueprint),
            values=values,
            selection=made.selection,
            configs=made.configs,
            script=ScriptText(parsed.title, parsed.summary, parsed.segments) if parsed is not None else None,
            based_on=baseline,
        )
        extra: dict[str, Any] = {"created": not existing}
        if made.writer is not None and parsed is None:  # with the user's script no writer runs
            extra["scriptWriter"] = made.writer.describe()
        if warnings:
            extra["warnings"] = warnings
        prepared = _Prepared(movie_id, change, extra=extra)
        return self._run(ctx, prepared, providers=chosen, confirm=confirm, events=events)

    def show_plan(self, movie: str, *, providers: Providers | None = None) -> dict[str, Any]:
        """What a build of ``movie`` would run now, why, and what it would cost (nothing is run)."""
        from tutopanda.core.engine.change import Change, preview

        chosen = providers or self.providers
        ctx = self._store()
        movie_id = self._existing(ctx, movie)
        plan = preview(
            ctx,
            movie_id,
            Change("tutopanda mcp show_plan"),
            resolver=self._resolver(chosen),
            mode=self._mode(chosen),
        )
        return {"movie": movie_id, "plan": plan_summary(plan, paid=self._paid(plan, chosen))}

    def apply_edit(
        self,
        movie: str,
        *,
        narration: Mapping[str, str] | None = None,
        texts: Sequence[Mapping[str, Any]] | None = None,
        inputs: Mapping[str, Any] | None = None,
        providers: Providers | None = None,
        confirm: bool = False,
        events: BuildEvents | None = None,
    ) -> dict[str, Any]:
        """Replace texts (a segment's narration, an image or video prompt, the title, ...) and input
        values, then rebuild only what they touch (as ``tutopanda edit``)."""
        from tutopanda.core.engine.change import Change, movie_state
        from tutopanda.core.movie.document import take_snapshot
        from tutopanda.core.movie.edit import EditSet

        chosen = providers or self.providers
        ctx = self._store()
        movie_id = self._existing(ctx, movie)
        baseline = movie_state(ctx, movie_id)
        snapshot = take_snapshot(ctx, movie_id)
        wanted = _wanted_texts(narration or {}, texts or [])
        edits = EditSet(texts=_text_edits(snapshot, wanted), inputs=_changed_inputs(snapshot, inputs or {}))
        if edits.is_empty:
            return {
                "movie": movie_id,
                "status": "unchanged",
                "edits": [],
                "message": "nothing differs from the movie",
            }
        recorded = Change(
            f"tutopanda mcp apply_edit --movie {movie_id}", edits=edits, source="mcp", based_on=baseline
        )
        prepared = _Prepared(movie_id, recorded, extra={"edits": edits.describe()})
        result = self._run(ctx, prepared, providers=chosen, confirm=confirm, events=events)
        if result.get("status") == "built":
            _refresh_prompt_files(ctx, movie_id)
        return result

    def build_status(self, movie: str) -> dict[str, Any]:
        """The current revision, the last run and its failures, artefacts by kind, cost and time."""
        from tutopanda.core.engine.build_status import movie_status

        ctx = self._store()
        return movie_status(ctx, self._existing(ctx, movie))

    def list_movies(self) -> list[dict[str, Any]]:
        """Every movie of the root: id, title, revision, duration, cost, last change."""
        from tutopanda.core.movie.catalogue import list_movies

        return [summary.to_dict() for summary in list_movies(self._store())]

    def verify(self, movie: str | None = None, *, repair: bool = False) -> dict[str, Any]:
        """Check one movie's store (or every movie's); ``repair`` fixes what can be fixed under its lock."""
        from tutopanda.core.upkeep.verify import verify_all, verify_movie

        ctx = self._store()
        if movie is None:
            reports = verify_all(ctx, repair=repair)
            return {"ok": all(report.ok for report in reports), "movies": [r.to_dict() for r in reports]}
        return verify_movie(
            ctx, validate_movie_id(movie), repair=repair, command="tutopanda mcp verify"
        ).to_dict()

    # -- resources --------------------------------------------------------------------------------

    def manifest(self, movie: str) -> str:
        """The current manifest as JSON."""
        from tutopanda.core.store.manifest_store import ManifestStore

        ctx = self._store()
        manifest = ManifestStore(ctx, self._existing(ctx, movie)).load_current()
        return json.dumps(manifest.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False)

    def timeline(self, movie: str) -> str:
        """The timeline document (JSON) of the current revision."""
        from tutopanda.core.movie.catalogue import TIMELINE_ARTEFACT
        from tutopanda.core.store.blob_store import BlobStore
        from tutopanda.core.store.manifest_store import ManifestStore

        ctx = self._store()
        movie_id = self._existing(ctx, movie)
        entry = ManifestStore(ctx, movie_id).load_current().artefacts.get(TIMELINE_ARTEFACT)
        if entry is None:
            raise UsageError(f"movie '{movie_id}' has no timeline yet", "build it (make_movie or apply_edit)")
        return BlobStore(ctx, movie_id).get_bytes(entry.blob).decode("utf-8")

    def script(self, movie: str) -> str:
        """The movie's script as Markdown (``# title``, summary, one ``## Segment n`` per segment) — the
        same format ``make_movie`` takes as ``script``."""
        from tutopanda.core.movie.document import take_snapshot
        from tutopanda.providers.local.script_markdown import ParsedScript, render_script_markdown

        ctx = self._store()
        snapshot = take_snapshot(ctx, self._existing(ctx, movie))
        by_key: dict[tuple[int | None, str], str] = {}
        for entry in snapshot.layout.texts:
            text = snapshot.texts.get(entry.artefact_id)
            if text is not None and entry.item is None:
                by_key[(entry.segment, entry.key)] = text
        segments = [by_key.get((index, "NarrationScript"), "") for index in range(snapshot.layout.segments)]
        if not any(segments):
            raise UsageError(f"movie '{snapshot.movie_id}' has no script yet", "build it first")
        title = by_key.get((None, "MovieTitle"), snapshot.movie_id)
        return render_script_markdown(ParsedScript(title, by_key.get((None, "MovieSummary"), ""), segments))

    def published_files(self, movie: str) -> list[dict[str, Any]]:
        """The files published under ``<root>/movies/<id>/`` (the MP4 and its subtitles)."""
        from tutopanda.core.movie.publish import MOVIES_DIR

        ctx = self._store()
        movie_id = self._existing(ctx, movie)
        folder = ctx.join(ctx.root, MOVIES_DIR, movie_id)
        files = []
        for name in sorted(ctx.list_names(folder)) if ctx.exists(folder) else []:
            path = ctx.join(folder, name)
            files.append({"name": name, "path": path, "bytes": ctx.size(path), "uri": _file_uri(ctx, path)})
        return files


def _question_and_script(
    prompt: str | None, script: str | None, movie: str | None
) -> tuple[str | None, ParsedScript | None]:
    """The question and the parsed script of a ``make_movie`` call, each checked against the text limits.

    A script without a question asks the script's title; with neither, only an existing ``movie`` (whose
    inputs change) makes sense.
    """
    from tutopanda.core.limits import check_text
    from tutopanda.providers.local.script_markdown import parse_script_markdown

    if prompt is not None:
        check_text("the question (input InquiryPrompt)", prompt)
    parsed = None
    if script is not None:
        check_text("script", script)
        parsed = parse_script_markdown(script, "script")
        prompt = prompt or parsed.title
    if prompt is None and movie is None:
        raise UsageError(
            "give the question the movie answers (prompt) or a script", "prompt: 'How do tides work?'"
        )
    return prompt, parsed


def _option_values(bp: Blueprint, options: Mapping[str, Any]) -> dict[str, object]:
    """The blueprint inputs the make-movie ``options`` set (unset ones left out).

    An option the blueprint has no input for is an error rather than ignored: the caller asked for
    something the movie would silently not have.
    """
    values: dict[str, object] = {}
    for option, value in options.items():
        name = FLAG_INPUTS.get(option)
        if name is None:
            raise UsageError(f"unknown option {option!r}", f"use one of {', '.join(FLAG_INPUTS)}, or inputs")
        if value is None:
            continue
        if bp.input(name) is None:
            raise UsageError(
                f"option {option} does not apply to blueprint {bp.meta.id} (it has no {name} input)",
                f"leave {option} out (tutopanda blueprints describe {bp.meta.id} lists its inputs)",
            )
        values[name] = value
    return values


def _fill_from_settings(values: dict[str, object], settings: Settings, bp: Blueprint) -> None:
    """Add the ``[general]`` settings a new movie was not given, where its blueprint has the input."""
    values.update(general_input_values(settings, lambda name: bp.input(name) is not None, values))


_WantedText = tuple[int | None, str, int | None, str]
"""A text an edit asks for: 1-based segment (None: movie-wide), key, 1-based item (None: unsaid), text."""


def _wanted_texts(narration: Mapping[str, str], texts: Sequence[Mapping[str, Any]]) -> list[_WantedText]:
    """``apply_edit``'s two ways of naming a text (narration by segment, and keyed texts) as one list."""
    wanted: list[_WantedText] = []
    for number, text in narration.items():
        wanted.append((_segment_number(number), "NarrationScript", None, text))
    for change in texts:
        key = change.get("key")
        if not isinstance(key, str) or not isinstance(change.get("text"), str):
            raise UsageError(
                "each of texts needs a key and a text",
                '{"segment": 2, "key": "ImagePrompt", "text": "..."}',
            )
        at, item = change.get("segment"), change.get("item")
        wanted.append(
            (
                None if at is None else _segment_number(at),
                key,
                None if item is None else _segment_number(item, what="item"),
                change["text"],
            )
        )
    return wanted


def _text_edits(snapshot: MovieSnapshot, wanted: Sequence[_WantedText]) -> list[TextEdit]:
    """The wanted texts that differ from the movie's, each found in its layout and checked.

    Every wanted text is checked (it exists, within the limits, not empty), even one equal to the
    current text, so a mistake is reported rather than passing as "unchanged".
    """
    from tutopanda.core.limits import check_text
    from tutopanda.core.movie.edit import TextEdit

    layout = snapshot.layout
    edits: list[TextEdit] = []
    for segment, key, position_number, text in wanted:
        index = None if segment is None else segment - 1
        keys = layout.keys(segment=index is not None)
        if key not in keys:
            where = "a segment" if index is not None else "the movie (no segment)"
            raise UsageError(f"{key!r} is not a text of {where}", f"use one of: {', '.join(keys) or 'none'}")
        position = (
            (position_number - 1) if position_number is not None else (0 if layout.is_list(key) else None)
        )
        entry = layout.by_place.get((index, key, position))
        if entry is None:
            raise UsageError(
                f"movie '{snapshot.movie_id}' has no {key} at segment {segment}"
                + (f", item {position_number}" if position_number is not None else ""),
                f"segments are numbered 1 to {layout.segments}",
            )
        check_text(f"{entry.label}", text, error=UsageError)
        if not text.strip():
            raise UsageError(f"{entry.label}: a text cannot be empty", "give the new text")
        if snapshot.texts.get(entry.artefact_id) != text:
            edits.append(TextEdit(entry.artefact_id, entry.producer_id, text, "mcp"))
    return edits


def _changed_inputs(snapshot: MovieSnapshot, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The ``inputs`` whose value differs from the movie's; an input the movie does not have is an error."""
    changed = {name: value for name, value in inputs.items() if snapshot.inputs.get(name) != value}
    unknown = sorted(set(changed) - set(snapshot.specs))
    if unknown:
        raise UsageError(f"unknown input(s) {', '.join(unknown)}", f"inputs are: {', '.join(snapshot.specs)}")
    return changed


def _segment_number(value: Any, *, what: str = "segment") -> int:
    """A 1-based number given as an int or a numeric string (JSON object keys are strings)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{what} {value!r} is not a number", f"{what}s are numbered from 1") from None
    if number < 1:
        raise UsageError(f"{what} {number} is out of range", f"{what}s are numbered from 1")
    return number


def _file_uri(ctx: StorageContext, path: str) -> str | None:
    from pathlib import Path

    return Path(path).resolve().as_uri() if ctx.is_local else None


def _refresh_prompt_files(ctx: StorageContext, movie_id: str) -> None:
    """Prompt files the user exported (``inspect``) follow the new texts, as after ``tutopanda edit``."""
    from tutopanda.core.movie.document import prompt_index, take_snapshot, write_prompt_files

    try:
        if prompt_index(ctx, movie_id):
            write_prompt_files(ctx, movie_id, take_snapshot(ctx, movie_id))
    except TutopandaError:  # the build is committed; stale prompt files are reported by the next edit
        return
