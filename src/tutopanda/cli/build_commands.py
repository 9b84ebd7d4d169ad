"""``tutopanda build plan|run|diff|status``: the engine's build loop from the command line.

Each command opens the storage context, calls one engine verb (``tutopanda.core.engine.build`` and friends)
with handlers from the provider registry, and renders the result. Exit codes: 0 success, 1 when jobs
failed (everything that succeeded is committed and kept), 130 when interrupted with Ctrl-C.

The parts every building command shares live beside it: running a build (:mod:`.build_execution`),
showing plans and reports (:mod:`.build_display`) and durable builds (:mod:`.durable_builds`). The names
other command modules import from here (``ModeOpt``, ``execute_build``, ``print_plan``, ...) are
re-exported so they keep working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tutopanda.cli.build_display import (
    cost_text,
    print_diff,
    print_plan,
    print_report,
    provisional_lines,
    report_dict,
    revision_line,
)
from tutopanda.cli.build_execution import (
    PROVIDER_MODES,
    ModeOpt,
    confirm_paid_plan,
    execute_build,
    offline_only,
    open_root,
    provider_mode,
    raise_for_outcome,
    resolver,
)
from tutopanda.cli.durable_builds import (
    choose_executor,
    print_durable_builds,
    recent_durable_builds,
    run_on_dbos,
)
from tutopanda.cli.options import DatabaseOpt, JsonOpt, MovieOpt
from tutopanda.cli.output import Col, make_table, print_json, stdout_console
from tutopanda.cli.settings import CONCURRENCY_HELP, job_concurrency

if TYPE_CHECKING:
    from tutopanda.core.engine.build import BuildReport
    from tutopanda.core.engine.change import Outcome
    from tutopanda.core.movie.publish import PublishedMovie
    from tutopanda.core.store.storage import StorageContext

__all__ = [
    "PROVIDER_MODES",
    "ModeOpt",
    "confirm_paid_plan",
    "cost_text",
    "execute_build",
    "offline_only",
    "print_plan",
    "provider_mode",
    "provisional_lines",
    "raise_for_outcome",
    "register",
    "resolver",
    "revision_line",
]

build_app = typer.Typer(
    name="build",
    help="Plan, run, diff and inspect builds of a movie (only dirty jobs run).",
    no_args_is_help=True,
)

ForceOpt = Annotated[
    list[str] | None,
    typer.Option("--force", help="Run this job even if it is fresh (repeatable; a Producer:... id)."),
]


@build_app.command("plan")
def plan_command(
    movie: MovieOpt, providers: ModeOpt = "live", force: ForceOpt = None, as_json: JsonOpt = False
) -> None:
    """Show what a build would run and why, by layer, with the cost estimate; saves runs/<rev>-plan.json.

    Example: tutopanda build plan --movie volcanoes --json
    """
    from tutopanda.core.engine.build import plan_build

    mode = provider_mode(providers)
    plan = plan_build(open_root(), movie, resolver=resolver(mode), forced=force or (), mode=mode)
    if as_json:
        print_json(plan.to_dict())
    else:
        print_plan(plan)


_DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Run the plan against mocks in a scratch copy; change nothing.")
]
_DiffOpt = Annotated[bool, typer.Option("--diff", help="Show what changed from the previous revision.")]
_ConcurrencyOpt = Annotated[
    int | None, typer.Option("--concurrency", "-c", min=1, max=256, help=CONCURRENCY_HELP, show_default=False)
]
_UpToLayerOpt = Annotated[
    int | None, typer.Option("--up-to-layer", min=0, help="Stop after this layer (later layers wait).")
]
_YesOpt = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask before running jobs on paid online providers.")
]
_ExecutorOpt = Annotated[
    str | None,
    typer.Option(
        "--executor",
        envvar="TUTOPANDA_EXECUTOR",
        help="local (this process, asyncio) or dbos (a durable workflow run by 'tutopanda worker' "
        "processes; see docs/scale-out.md). Default: 'executor' in settings.toml, else local.",
        show_default=False,
    ),
]
_WaitOpt = Annotated[
    bool, typer.Option("--wait/--no-wait", help="With --executor dbos: wait for the build to finish.")
]


@build_app.command("run")
def run_command(
    movie: MovieOpt,
    providers: ModeOpt = "live",
    dry_run: _DryRunOpt = False,
    diff: _DiffOpt = False,
    concurrency: _ConcurrencyOpt = None,
    up_to_layer: _UpToLayerOpt = None,
    force: ForceOpt = None,
    yes: _YesOpt = False,
    executor: _ExecutorOpt = None,
    wait: _WaitOpt = True,
    database: DatabaseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build a movie: plan, run the dirty jobs layer by layer, commit a new revision.

    Before a live build that calls online (paid) providers it shows the plan and its estimated cost
    and asks; --yes skips the question.

    Example: tutopanda build run --movie volcanoes --diff
    """
    from contextlib import nullcontext

    from tutopanda.core.engine.change import Change
    from tutopanda.core.engine.scratch import scratch_copy

    local_only = (("--dry-run", dry_run), ("--diff", diff), ("--up-to-layer", up_to_layer is not None))
    executor = choose_executor(executor, (*local_only, ("--force", bool(force))))
    _refuse_pending_edits(open_root(), movie)  # edited prompts/ files are applied by edit, never skipped
    if executor == "dbos":
        jobs = job_concurrency(concurrency)
        run_on_dbos(movie, providers, database, wait=wait, concurrency=jobs, as_json=as_json, yes=yes)
        return
    mode = provider_mode("mock" if dry_run else providers)
    ctx = open_root()
    with scratch_copy(ctx, movie) if dry_run else nullcontext(ctx) as build_ctx:
        outcome = execute_build(
            build_ctx,
            movie,
            Change(command=f"tutopanda build run --movie {movie}"),
            mode=mode,
            concurrency=job_concurrency(concurrency),
            up_to_layer=up_to_layer,
            force=force or (),
            as_json=as_json,
            offline=offline_only(providers),
            ask_before_paid=not yes and not dry_run,
            publish=not dry_run,
        )
        report, published = _built(outcome)
        if as_json:
            data = report_dict(report)
            if dry_run:  # the scratch copy's commit is only what a real build would commit
                data["wouldCommit"], data["revision"] = data["revision"], None
            print_json({**data, "dryRun": dry_run, "video": published.video if published else None})
        else:
            print_report(report, dry_run=dry_run, ctx=None if dry_run else build_ctx)
            if published is not None:
                stdout_console().print(f"movie: {published.video}", markup=False, highlight=False)
            if diff and report.revision and not dry_run:
                print_diff(build_ctx, movie, None, report.revision, as_json=False)
    raise_for_outcome(report, movie)


def _refuse_pending_edits(ctx: StorageContext, movie: str) -> None:
    """Refuse to build over edits nobody applied: changed ``prompts/`` files or ``movie.toml`` values.

    Why: ``build run`` builds what is recorded, and file edits are recorded only by ``edit`` (which
    shows them and the plan first). Building without them said "up to date" while the user's new
    narration sat unused; naming them and the command that applies them is the honest answer.
    """
    from tutopanda.core.errors import TutopandaError, UsageError
    from tutopanda.core.movie.edit import pending_edits
    from tutopanda.core.store.movie_paths import is_defined

    if not is_defined(ctx, movie):
        return  # nothing exported yet, or a creation to continue: the build reports that itself
    try:
        edits = pending_edits(ctx, movie)
    except TutopandaError:
        return  # an unreadable or stale export is edit's to report; it never blocks a build
    if not edits.is_empty:
        names = [row["id"] for row in edits.describe()]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        raise UsageError(
            f"{len(names)} edit(s) in movie.toml or prompts/ not applied ({shown}): "
            f"run tutopanda edit --movie {movie}",
            f"'tutopanda edit --movie {movie}' shows them and the plan, then builds; "
            "or undo the edits to build without them",
        )


def _built(outcome: Outcome) -> tuple[BuildReport, PublishedMovie | None]:
    """The report of a build that ran (a declined paid build exits 0 before anything runs)."""
    if outcome.report is None:
        raise typer.Exit(0)
    return outcome.report, outcome.published


@build_app.command("diff")
def diff_command(
    movie: MovieOpt,
    source: Annotated[
        str | None, typer.Option("--from", help="Older revision (default: the base of --to).")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--to", help="Newer revision (default: the current one).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show inputs and artefacts added, changed and removed between two revisions.

    Example: tutopanda build diff --movie volcanoes --from rev-0001 --to rev-0003
    """
    print_diff(open_root(), movie, source, target, as_json)


@build_app.command("status")
def status_command(
    movie: MovieOpt,
    database: DatabaseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Summarise a movie: current revision, failed jobs, artefacts by kind, total cost and durations.

    Durable builds (--executor dbos) in progress or recent are listed with their job counts.

    Example: tutopanda build status --movie volcanoes
    """

    from tutopanda.core.engine.build_status import movie_status

    status = movie_status(open_root(), movie)
    durable = recent_durable_builds(movie, database)
    if durable is not None:
        status["durableBuilds"] = durable
    if as_json:
        print_json(status)
        return
    print_durable_builds(durable or [])
    console = stdout_console()
    console.print(
        f"[bold]{movie}[/bold] revision {status['revision'] or 'none'}; "
        f"{status['runs']} run(s), total cost ${status['totalCost']:.4f}, "
        f"total build time {status['totalDurationSeconds']:.2f}s"
    )
    kinds = ", ".join(f"{count} {kind}" for kind, count in status["artefactsByKind"].items()) or "none"
    console.print(f"artefacts: {kinds}")
    if status["failedJobs"]:
        console.print(f"[red]{len(status['failedJobs'])} job(s) failed in the last run[/red]")
        for failed in status["failedJobs"]:
            console.print(f"  {failed['jobId']}: {failed['error']}", markup=False)
    producers = make_table(
        Col("producer", ident=True),
        Col("jobs run", ident=True),
        Col("time", ident=True),
        Col("cost", ident=True, drop=1),
        title="by producer",
    )
    for name, item in status["producers"].items():
        producers.add_row(name, str(item["jobs"]), f"{item['durationSeconds']:.2f}s", f"${item['cost']:.4f}")
    console.print(producers)


def register(app: typer.Typer) -> None:
    """Add the ``build`` command group to ``app``."""
    app.add_typer(build_app)
