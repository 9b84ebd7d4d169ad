"""What ``query`` shows: the one-line summary before a build, the question before paid online work,
a dry run's plan, and the result (where the movie is, and how to get a real script).

Why a module of its own: the command decides and builds; these only render what it decided, so the
wording users see (and the tests check) lives in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tutopanda.cli.build_display import cost_text, print_plan, provisional_lines, revision_line
from tutopanda.cli.build_execution import resolver
from tutopanda.cli.output import confirm, print_json, stdout_console
from tutopanda.cli.query_variants import script_variant

if TYPE_CHECKING:
    from tutopanda.cli.query_choice import QueryChoice
    from tutopanda.core.blueprint import Blueprint
    from tutopanda.core.engine.change import Change, Outcome
    from tutopanda.core.engine.planner import Plan
    from tutopanda.core.engine.provider_contract import Mode
    from tutopanda.core.store.storage import StorageContext

__all__ = [
    "PaidQuestion",
    "print_dry_run",
    "print_result",
    "real_script_hint",
    "start_printer",
    "summary_line",
]

_SECONDS_PER_SEGMENT = {"offline": 8.0, "local-model": 15.0}
"""Rough wall-clock per segment on a 2-core laptop (issue 14 targets): the offline media, and the extra
time of the in-process 1.5B script writer. Only for the one-line estimate before a build."""


def _input_value(blueprint: Blueprint, values: dict[str, object], name: str) -> object:
    if name in values:
        return values[name]
    spec = blueprint.input(name)
    return spec.default if spec is not None and spec.has_default else None


def summary_line(
    blueprint: Blueprint,
    values: dict[str, object],
    selection: dict[str, tuple[str, str]],
    *,
    movie_id: str,
    existing: bool,
    own_script: bool,
    cost_note: str | None,
    writer_told: bool = False,
) -> str:
    """The short line before the progress bars: what will be made, by which writer, time and cost.

    ``movie volcanoes-3f9a1c (new): 3 segments, ~30 s, style illustration, en; script: your --script;
    about 20 s, free (offline)``. The full plan table is for ``--plan`` and for builds that cost money.
    ``writer_told``: the writer's own line was printed already (a new movie's choice), so it is not
    repeated here.
    """
    parts = []
    for name, shown in (("NumOfSegments", "{} segment{}"), ("Duration", "~{} s{}"), ("Style", "style {}{}")):
        value = _input_value(blueprint, values, name)
        if value is not None and not existing:
            plural = "s" if name == "NumOfSegments" and value != 1 else ""
            parts.append(shown.format(value, plural))
    language = _input_value(blueprint, values, "Language")
    if language and not existing:
        parts.append(str(language))
    head = f"movie {movie_id} ({'continued' if existing else 'new'})"
    if parts:
        head += ": " + ", ".join(parts)
    script = script_variant(blueprint, selection)
    if own_script:
        writer = "your --script"
    elif script is None or existing:  # a continued movie keeps its script (maybe the user's own):
        writer = None  # naming the writer that would run for a new one would misname it
    elif script == ("local", "draft-script"):
        writer = "a marked draft (no script writer here)"
    else:
        writer = "/".join(script)
    tail = []
    if writer is not None and not writer_told:
        tail.append(f"script: {writer}")
    segments = _input_value(blueprint, values, "NumOfSegments")
    if cost_note is None and isinstance(segments, int) and not existing:
        per_segment = _SECONDS_PER_SEGMENT["offline"]
        in_process = script is not None and script[0] == "local" and script[1] in _LOCAL_WRITER_MODELS
        if in_process and not own_script:
            per_segment += _SECONDS_PER_SEGMENT["local-model"]
        tail.append(f"about {round(per_segment * segments + 5, -1):.0f} s, free (offline)")
    elif cost_note is not None:
        tail.append(cost_note)
    return head + ("; " + "; ".join(tail) if tail else "")


_LOCAL_WRITER_MODELS = ("qwen2.5-1.5b-instruct", "qwen2.5-0.5b-instruct")


def real_script_hint(hints: tuple[str, ...] | None) -> str:
    """The closing line after a movie whose script is the marked draft: how to get a real one."""
    from tutopanda.providers.writers.choice import writer_hints

    return "for a real script, next time: " + "; or ".join(hints or writer_hints())


@dataclass
class PaidQuestion:
    """Before recording: ask when the build calls paid online providers (and remember what was shown).

    Mocks and offline providers cost nothing and are never asked about; ``--yes`` skips the question,
    and ``--json`` cannot ask (a usage error suggesting ``--yes``).
    """

    mode: Mode
    yes: bool
    as_json: bool
    movie_id: str
    existing: bool
    paid: list[str] = field(default_factory=list)
    cost_note: str | None = None
    plan_shown: bool = False

    def __call__(self, plan: Plan) -> bool:
        from tutopanda.core.errors import UsageError
        from tutopanda.providers.wiring import online_jobs

        self.paid = list(online_jobs(plan)) if self.mode == "live" else []
        self.cost_note = cost_text(plan) if self.paid else None
        if not self.paid or self.yes:
            return True
        paid = ", ".join(self.paid)
        if self.as_json:
            raise UsageError(
                f"this build calls online providers ({paid}) and --json cannot ask first",
                "add --yes to run it, or --dry-run to see the plan",
            )
        print_plan(plan)
        self.plan_shown = True
        count = sum(1 for planned in plan.jobs if planned.job.module in self.paid)
        if confirm(f"Run {count} job(s) with online providers ({paid}; {cost_text(plan)})?", command="query"):
            return True
        stdout_console().print(
            f"cancelled: movie '{self.movie_id}' was not {'changed' if self.existing else 'created'}",
            markup=False,
        )
        return False


def start_printer(
    choice: QueryChoice, asked: PaidQuestion, *, plan_table: bool, as_json: bool
) -> Callable[[Plan], None]:
    """What is printed once the change is recorded (under the lock), before the first job: the summary
    line, then the plan table with ``--plan`` or when the build costs money (offline, the summary is
    enough) unless the paid question showed it already."""

    def start(plan: Plan) -> None:
        if as_json:
            return
        summary = choice.summary(asked.movie_id, asked.existing, asked.cost_note)
        stdout_console().print(summary, markup=False, highlight=False)
        if (plan_table or bool(asked.paid)) and not asked.plan_shown:
            print_plan(plan)

    return start


def print_dry_run(ctx: StorageContext, movie_id: str, change: Change, *, mode: Mode, as_json: bool) -> None:
    """``--dry-run``: the plan, computed on a throw-away copy; nothing is created or changed."""
    from tutopanda.core.engine.change import preview

    plan = preview(ctx, movie_id, change, resolver=resolver(mode), mode=mode)
    if as_json:
        print_json({"movie": movie_id, "dryRun": True, "plan": plan.to_dict()})
        return
    print_plan(plan)
    done = "created" if change.create else "changed"
    stdout_console().print(f"dry run: movie '{movie_id}' was not {done}", markup=False)


def print_result(
    outcome: Outcome,
    movie_id: str,
    choice: QueryChoice,
    *,
    mode: Mode,
    as_json: bool,
    ctx: StorageContext | None = None,
    existing: bool = False,
) -> None:
    """Where the movie is (or, with ``--json``, the build's outcome), and how to get a real script."""
    report, published = outcome.report, outcome.published
    assert report is not None  # only a build that ran is printed
    if as_json:
        print_json(
            {
                "movie": movie_id,
                "revision": report.revision,
                "video": published.video if published else None,
                "subtitles": list(published.extras) if published else [],
                "calls": report.calls,
                "failed": [{"jobId": o.job_id, "error": o.error} for o in report.failed],
            }
        )
        return
    console = stdout_console()
    if report.plan.is_empty and report.revision is not None:  # an undo: earlier outputs, no job run
        console.print(revision_line(report, ctx), markup=False, highlight=False)
    if published is not None:
        console.print(f"movie: {published.video}", markup=False, highlight=False)
        for extra in published.extras:
            console.print(f"subtitles: {extra}", markup=False, highlight=False)
    # The texts are changed through the files inspect writes, which only edit applies (build run refuses
    # pending file edits): point at that pair.
    console.print(
        f"movie id: {movie_id}  (to change it: tutopanda inspect --movie {movie_id}, edit the files, "
        f"then tutopanda edit --movie {movie_id})",
        markup=False,
        highlight=False,
    )
    for line in provisional_lines(report):
        console.print(line, markup=False, highlight=False)
    draft = script_variant(choice.blueprint, choice.variants) == ("local", "draft-script")
    # issue 14 §5: the one closing line, for a new movie only (a continued one keeps its script)
    if draft and not choice.own_script and not existing and mode == "live":
        hints = choice.writer.how_to_enable if choice.writer is not None else None
        console.print(real_script_hint(hints), markup=False, highlight=False)
