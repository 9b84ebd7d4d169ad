"""``tutopanda build plan|run|diff|status``: the engine's build loop from the command line.

Each command opens the storage context, calls one engine verb (``tutopanda.core.engine.build`` and friends)
with handlers from the provider registry, and renders the result. Exit codes: 0 success, 1 when jobs
failed (everything that succeeded is committed and kept), 130 when interrupted with Ctrl-C.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tutopanda.cli.options import DatabaseOpt, JsonOpt, MovieOpt
from tutopanda.cli.output import Col, confirm, make_table, print_json, stderr_console, stdout_console
from tutopanda.cli.settings import CONCURRENCY_HELP, job_concurrency, state

if TYPE_CHECKING:
    from tutopanda.core.engine.build import BuildReport
    from tutopanda.core.engine.change import Change, Outcome
    from tutopanda.core.engine.planner import Plan
    from tutopanda.core.engine.provider_contract import HandlerResolver, Mode
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
    "raise_for_outcome",
    "register",
    "resolver",
]

build_app = typer.Typer(
    name="build",
    help="Plan, run, diff and inspect builds of a movie (only dirty jobs run).",
    no_args_is_help=True,
)

_ROWS_PER_LAYER = 20
"""Jobs shown per layer in the plan table; ``--json`` lists every job."""

ModeOpt = Annotated[
    str,
    typer.Option(
        "--providers",
        envvar="TUTOPANDA_PROVIDERS",
        help="Which handlers run the jobs: live (each module's selected provider; the defaults are the "
        "offline local ones), local (live, but refuse anything that would use the network) or mock "
        "(deterministic stand-ins, for tests and trials).",
        show_default=True,
    ),
]
ForceOpt = Annotated[
    list[str] | None,
    typer.Option("--force", help="Run this job even if it is fresh (repeatable; a Producer:... id)."),
]


def _context() -> StorageContext:
    from tutopanda.core.store.storage import StorageConfig, StorageContext

    return StorageContext.open(StorageConfig(root=state.storage_root()))


PROVIDER_MODES = ("live", "local", "mock")


def provider_mode(value: str) -> Mode:
    """The handler mode for a ``--providers`` value (``local`` runs live handlers, offline ones only)."""
    from tutopanda.core.blueprint.suggest import closest
    from tutopanda.core.errors import UsageError

    if value not in PROVIDER_MODES:
        best = closest(value, PROVIDER_MODES)
        raise UsageError(
            f"--providers {value!r} is not a provider mode",
            (f"did you mean '{best}'? " if best else "") + "use live, local or mock",
        )
    return "mock" if value == "mock" else "live"


def offline_only(value: str) -> bool:
    """True for ``--providers local``: every job must run on a provider that needs no network."""
    return value == "local"


def resolver(mode: Mode) -> HandlerResolver:
    """Handlers for ``mode`` from the default registry, priced with ``<root>/prices.toml``."""
    from tutopanda.providers.wiring import price_file
    from tutopanda.providers.wiring import resolver as registry_resolver

    return registry_resolver(mode, prices=price_file(state.storage_root()))


def cost_text(plan: Plan) -> str:
    """``estimated cost $0.0120`` (``+ 2 jobs without a price`` when some handlers cannot estimate)."""
    cost = plan.estimated_cost
    text = f"estimated cost ${cost:.4f}" if cost is not None else "estimated cost unknown"
    if plan.unpriced_jobs and cost is not None:
        text += f" + {plan.unpriced_jobs} job(s) without a price"
    return text


def confirm_paid_plan(plan: Plan, *, as_json: bool, command: str) -> bool:
    """Before a live build calls online (paid) providers: show the plan and its cost, and ask.

    Returns whether the plan was printed. Exits 0 when the user declines (nothing has run or been
    written); with ``--json`` there is no one to ask, so it is a usage error suggesting ``--yes``.
    """
    from tutopanda.core.errors import UsageError
    from tutopanda.providers.wiring import online_jobs

    online = online_jobs(plan)
    if not online:
        return False
    modules = ", ".join(online)
    if as_json:
        raise UsageError(
            f"this build calls online providers ({modules}) and --json cannot ask first",
            "add --yes to run it, or look at 'tutopanda build plan --json' first",
        )
    print_plan(plan)
    count = sum(1 for planned in plan.jobs if planned.job.module in online)
    if not confirm(
        f"Run {count} job(s) with online providers ({modules}; {cost_text(plan)})?", command=command
    ):
        stdout_console().print("cancelled: nothing ran and nothing was changed", markup=False)
        raise typer.Exit(0)
    return True


def print_plan(plan: Plan) -> None:
    """The plan as tables: dirty jobs by producer and reason, then by layer with why and cost."""
    from rich.markup import escape

    console = stdout_console()
    jobs = plan.jobs
    if not jobs:  # a revision may still be committed: outputs of earlier builds reused (an undo)
        console.print(f"movie '{plan.movie_id}': no job to run ({plan.total_jobs} jobs fresh)")
        return
    console.print(
        f"[bold]{plan.movie_id}[/bold] plan for {plan.revision} (base {plan.base_revision or 'none'}): "
        f"{len(jobs)} of {plan.total_jobs} jobs dirty, {cost_text(plan)}"
    )
    groups: dict[tuple[str, str], int] = {}
    for planned in jobs:
        producer = f"{planned.job.module}.{planned.job.producer}"
        for code in sorted({reason.code for reason in planned.reasons}):
            groups[(producer, code)] = groups.get((producer, code), 0) + 1
    summary = make_table(
        Col("producer", ident=True),
        Col("reason", ident=True),
        Col("jobs", ident=True),
        title="dirty jobs by producer and reason",
    )
    for (producer, code), count in groups.items():
        summary.add_row(producer, code, str(count))
    console.print(summary)
    layers = make_table(
        Col("layer", ident=True),
        Col("job", ident=True),
        "why",
        Col("cost", ident=True, drop=1),
        title="layers",
    )
    for index, layer in enumerate(plan.layers):
        if len(layer) > _ROWS_PER_LAYER:
            hidden = len(layer) - _ROWS_PER_LAYER
            layers.add_row(str(index), f"… and {hidden} more (see --json)", "", "")
        for planned in layer[:_ROWS_PER_LAYER]:
            why = "; ".join(f"{reason.code}: {reason.detail}" for reason in planned.reasons)
            job_cost = "-" if planned.estimated_cost is None else f"${planned.estimated_cost:.4f}"
            layers.add_row(str(index), planned.job.id, escape(why), job_cost)
    console.print(layers)


@build_app.command("plan")
def plan_command(
    movie: MovieOpt, providers: ModeOpt = "live", force: ForceOpt = None, as_json: JsonOpt = False
) -> None:
    """Show what a build would run and why, by layer, with the cost estimate; saves runs/<rev>-plan.json.

    Example: tutopanda build plan --movie volcanoes --json
    """
    from tutopanda.core.engine.build import plan_build

    mode = provider_mode(providers)
    plan = plan_build(_context(), movie, resolver=resolver(mode), forced=force or (), mode=mode)
    if as_json:
        print_json(plan.to_dict())
    else:
        print_plan(plan)


def _report_dict(report: BuildReport) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for outcome in report.outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    costs = [o.cost for o in report.outcomes if o.cost is not None]
    return {
        "movie": report.plan.movie_id,
        "plannedRevision": report.plan.revision,
        "revision": report.revision,
        "status": "interrupted" if report.interrupted else ("failed" if report.failed else "succeeded"),
        "jobs": counts,
        "calls": report.calls,
        "cost": round(sum(costs), 6) if costs else 0.0,
        "durationSeconds": round(report.duration, 3),
        "failed": [{"jobId": o.job_id, "status": o.status, "error": o.error} for o in report.failed],
    }


def revision_line(report: BuildReport, ctx: StorageContext | None = None) -> str:
    """``committed rev-0004``, or what a build that ran no job did: nothing, or reuse (an undo).

    Why the second form: after an undo the plan is empty (every job finds its earlier output), yet a
    revision is committed with those outputs; "nothing to build" then read as "nothing happened".
    """
    if report.revision is None:
        return "no new revision (nothing changed)"
    if not report.plan.is_empty or ctx is None or report.plan.base_revision is None:
        return f"committed {report.revision}"
    from tutopanda.core.store.manifest_store import ManifestStore

    store = ManifestStore(ctx, report.plan.movie_id)
    before = store.load_revision(report.plan.base_revision).artefacts
    after = store.load_revision(report.revision).artefacts
    reused = sum(1 for key, entry in after.items() if key not in before or before[key].hash != entry.hash)
    return f"reused {reused} artefact(s) from earlier builds, committed {report.revision}, 0 jobs run"


def _print_report(report: BuildReport, *, dry_run: bool = False, ctx: StorageContext | None = None) -> None:
    from rich.markup import escape

    console = stdout_console()
    committed = (
        f"would commit {report.revision} (dry run: the movie is unchanged)"
        if dry_run
        else revision_line(report, ctx)
    )
    if report.plan.is_empty:
        console.print(committed if report.revision else "no new revision (nothing changed)")
        return
    summary = _report_dict(report)
    jobs = ", ".join(f"{count} {status}" for status, count in sorted(summary["jobs"].items())) or "no jobs"
    console.print(
        f"{jobs}; {summary['calls']} provider call(s), ${summary['cost']:.4f}, "
        f"{summary['durationSeconds']:.2f}s"
    )
    console.print(committed if report.revision else "no new revision (nothing changed)")
    for failed in report.failed:
        console.print(f"[red]failed[/red] {escape(failed.job_id)}: {escape(failed.error or 'unknown error')}")
    for line in provisional_lines(report):
        console.print(line, markup=False, highlight=False)


def provisional_lines(report: BuildReport) -> list[str]:
    """Closing lines for jobs a stand-in wrote (the writer chain's draft): they are kept but provisional,
    and the next ``build run`` asks the real producer again (see ``core/engine/planner.py``)."""
    jobs = [outcome.job_id for outcome in report.outcomes if outcome.provisional]
    if not jobs:
        return []
    more = f" and {len(jobs) - 1} more" if len(jobs) > 1 else ""
    return [
        f"note: {jobs[0]}{more} written by an offline stand-in (a draft), because the chosen "
        f"writer was unavailable; once it answers, `tutopanda build run --movie {report.plan.movie_id}` "
        "rewrites it"
    ]


def _print_diff(
    ctx: StorageContext, movie: str, source: str | None, target: str | None, as_json: bool
) -> None:
    from rich.markup import escape

    from tutopanda.core.engine.manifest_diff import diff_manifests
    from tutopanda.core.store.manifest_store import ManifestStore

    store = ManifestStore(ctx, movie)
    after = store.load_revision(target) if target else store.load_current()
    if source:
        before = store.load_revision(source)
    elif after.base_revision:
        before = store.load_revision(after.base_revision)
    else:
        before = store.load_revision("rev-0000")
    diff = diff_manifests(before, after)
    if as_json:
        print_json(diff.to_dict())
        return
    console = stdout_console()
    console.print(f"[bold]{movie}[/bold]: {diff.source} -> {diff.target}")
    if diff.is_empty:
        console.print("no differences")
    for section, changes in (("input", diff.inputs), ("artefact", diff.artefacts)):
        for kind, items in changes.items():
            for change in items:
                detail = f" ({escape(change.detail)})" if change.detail else ""
                console.print(f"  {kind:>7} {section} {escape(change.id)}{detail}")


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
    executor = _executor(executor, (*local_only, ("--force", bool(force))))
    _refuse_pending_edits(_context(), movie)  # edited prompts/ files are applied by edit, never skipped
    if executor == "dbos":
        jobs = job_concurrency(concurrency)
        _run_on_dbos(movie, providers, database, wait=wait, concurrency=jobs, as_json=as_json, yes=yes)
        return
    mode = provider_mode("mock" if dry_run else providers)
    ctx = _context()
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
            data = _report_dict(report)
            if dry_run:  # the scratch copy's commit is only what a real build would commit
                data["wouldCommit"], data["revision"] = data["revision"], None
            print_json({**data, "dryRun": dry_run, "video": published.video if published else None})
        else:
            _print_report(report, dry_run=dry_run, ctx=None if dry_run else build_ctx)
            if published is not None:
                stdout_console().print(f"movie: {published.video}", markup=False, highlight=False)
            if diff and report.revision and not dry_run:
                _print_diff(build_ctx, movie, None, report.revision, as_json=False)
    raise_for_outcome(report, movie)


def _executor(flag: str | None, local_only: tuple[tuple[str, bool], ...]) -> str:
    """``--executor`` (else ``executor`` in settings.toml): ``local`` or ``dbos``, which refuses the
    given flags only a local build has."""
    from tutopanda.core.errors import UsageError

    if flag is None:
        from tutopanda.settings import load_settings

        flag = load_settings(state.storage_root()).general.executor
    if flag not in ("local", "dbos"):
        raise UsageError(f"--executor {flag!r} is not an executor", "use --executor local or --executor dbos")
    unsupported = [name for name, given in local_only if given]
    if flag == "dbos" and unsupported:
        raise UsageError(
            f"{', '.join(unsupported)} cannot be used with --executor dbos",
            "drop it, or build with the local executor (--executor local)",
        )
    return flag


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


def _run_on_dbos(
    movie: str,
    providers: str,
    database: str | None,
    *,
    wait: bool,
    concurrency: int,
    as_json: bool,
    yes: bool,
) -> None:
    """Submit the build as a DBOS workflow; with ``wait``, this process also works and waits for it."""
    import os
    import socket

    from tutopanda.cli.worker_command import database_url, launch_dbos
    from tutopanda.workflow.dbos_executor import submit_build
    from tutopanda.workflow.durable_probe import database_label

    mode = provider_mode(providers)
    ctx = _context()
    plan = _durable_preview(ctx, movie, providers, yes=yes, as_json=as_json)
    # A submitter that waits also works, under its own executor id: if it is killed, the live workers
    # (or the next submitter) find its lock free and resume its work (workflow/liveness.py). One that
    # does not wait takes no work at all: it would leave with it.
    url = database_url(database)
    submitter = f"{socket.gethostname()}-submit-{os.getpid()}"
    launch_dbos(url, concurrency, submitter if wait else None, None if wait else [])
    # Locks the movie for the build's whole life (core/store/durable_lock.py): refused here, exit 1, while
    # a local command or another durable build holds it.
    handle = submit_build(
        ctx.url, movie, mode, database=database_label(url), command=f"tutopanda build run --movie {movie}"
    )
    if not wait:
        _print_submitted(handle.get_workflow_id(), len(plan.jobs), movie, as_json=as_json)
        return
    if not as_json:
        stdout_console().print(
            f"build {handle.get_workflow_id()}: {len(plan.jobs)} dirty job(s) on the DBOS queues",
            markup=False,
        )
    _finish_durable(ctx, movie, handle.get_workflow_id(), handle.get_result(), as_json=as_json)


def _durable_preview(ctx: StorageContext, movie: str, providers: str, *, yes: bool, as_json: bool) -> Plan:
    """What a durable build would run, checked and (for paid providers) confirmed before it is submitted."""
    from tutopanda.core.engine.change import Change, preview
    from tutopanda.core.engine.provider_contract import EnvSecretResolver
    from tutopanda.core.store.movie_paths import ensure_initialised
    from tutopanda.providers.wiring import check_offline, preflight

    mode = provider_mode(providers)
    ensure_initialised(ctx, movie)
    change = Change(f"tutopanda build run --movie {movie}")
    plan = preview(ctx, movie, change, resolver=resolver(mode), mode=mode)
    preflight(plan, mode, EnvSecretResolver())
    if offline_only(providers):
        check_offline(plan)
    if not yes and mode == "live":
        confirm_paid_plan(plan, as_json=as_json, command=f"build run --movie {movie}")
    return plan


def _print_submitted(workflow: str, jobs: int, movie: str, *, as_json: bool) -> None:
    """``--no-wait``: the submitted workflow, and the code version whose workers take it."""
    from tutopanda.workflow.code_version import application_version

    version = application_version()  # only workers of this code version take it
    if as_json:
        print_json(
            {"movie": movie, "workflowId": workflow, "status": "submitted", "applicationVersion": version}
        )
    else:
        stdout_console().print(
            f"submitted build {workflow} ({jobs} dirty job(s)) for workers of {version}", markup=False
        )


def _finish_durable(ctx: StorageContext, movie: str, workflow: str, result: Any, *, as_json: bool) -> None:
    """A durable build that finished: publish it when no job failed, print it, exit 1 on failures."""
    from tutopanda.core.errors import BuildFailedError

    failed = [job for job in result["jobs"] if job["status"] in ("failed", "blocked")]
    published = None
    if not failed:
        from tutopanda.core.movie.publish import publish_current

        published = publish_current(ctx, movie)
    if as_json:
        video = published.video if published else None
        print_json({"movie": movie, "workflowId": workflow, **result, "video": video})
    else:
        console = stdout_console()
        console.print(
            f"committed {result['revision']}" if result["revision"] else "no new revision", markup=False
        )
        if published is not None:
            console.print(f"movie: {published.video}", markup=False, highlight=False)
    if failed:
        raise BuildFailedError(
            f"{len(failed)} job(s) failed: {failed[0]['jobId']} ({failed[0].get('error')})",
            f"fix the cause and run 'tutopanda build run --movie {movie}' again: the failed jobs and what "
            "depends on them run, everything that succeeded is reused",
        )


def execute_build(
    ctx: StorageContext,
    movie: str,
    change: Change,
    *,
    mode: Mode,
    concurrency: int = 4,
    up_to_layer: int | None = None,
    force: Collection[str] = (),
    as_json: bool = False,
    show_plan: bool = True,
    offline: bool = False,
    ask_before_paid: bool = False,
    confirm: Callable[[Plan], bool] | None = None,
    on_start: Callable[[Plan], None] | None = None,
    on_built: Callable[[BuildReport], None] | None = None,
    publish: bool = True,
) -> Outcome:
    """Apply ``change`` through the engine (:func:`tutopanda.core.engine.change.apply`) with the CLI's parts.

    The CLI supplies the registry's handlers, the preflight (and the ``--providers local`` refusal),
    the questions (``confirm``, then the paid-build one when ``ask_before_paid``), the plan table
    (unless ``show_plan`` is off or a question showed it) and the progress bars.
    """
    from tutopanda.cli.build_progress import BuildProgress
    from tutopanda.core.engine.change import apply
    from tutopanda.core.engine.provider_contract import EnvSecretResolver
    from tutopanda.core.engine.runner import RunOptions
    from tutopanda.providers.wiring import check_offline, preflight

    progress = None if as_json else BuildProgress(animated=sys.stdout.isatty())
    secrets = EnvSecretResolver()
    shown = False

    def check(plan: Plan) -> None:
        if offline:
            check_offline(plan)
        preflight(plan, mode, secrets)

    def ask(plan: Plan) -> bool:
        nonlocal shown
        if confirm is not None and not confirm(plan):
            return False
        if ask_before_paid and mode == "live":
            shown = confirm_paid_plan(
                plan, as_json=as_json, command=change.command.removeprefix("tutopanda ")
            )
        return True

    def start(plan: Plan) -> None:
        if on_start is not None:
            on_start(plan)
        if progress is not None:
            if show_plan and not shown:
                print_plan(plan)
            progress.start(len(plan.jobs))

    try:
        return apply(
            ctx,
            movie,
            change,
            confirm=ask,
            resolver=resolver(mode),
            preflight=check,
            options=RunOptions(mode=mode, concurrency=concurrency, up_to_layer=up_to_layer),
            secrets=secrets,
            forced=force,
            progress=progress,
            on_start=start,
            on_built=on_built,
            publish=publish,
        )
    finally:
        if progress is not None:
            progress.stop()


def raise_for_outcome(report: BuildReport, movie: str) -> None:
    """Exit 130 after Ctrl-C; raise :class:`BuildFailedError` (exit 1) when jobs failed."""
    from tutopanda.core.errors import BuildFailedError

    if report.interrupted:
        from tutopanda.cli.output import print_error

        print_error(
            "interrupted: finished jobs are kept and committed",
            f"run 'tutopanda build run --movie {movie}' to continue where it stopped",
        )
        raise typer.Exit(130)
    if report.stopped:
        kept = sum(1 for outcome in report.outcomes if outcome.status == "succeeded")
        raise BuildFailedError(
            f"the build stopped: {report.stopped}; {kept} job(s) finished and are kept",
            f"{(report.stopped_hint or 'fix the account or key').rstrip('.')}; then run "
            f"'tutopanda build run --movie {movie}': only what is missing will run",
        )
    if report.failed:
        named = "; ".join(f"{o.job_id} ({o.status}: {o.error or 'unknown error'})" for o in report.failed[:3])
        more = f"; and {len(report.failed) - 3} more" if len(report.failed) > 3 else ""
        raise BuildFailedError(
            f"{len(report.failed)} job(s) failed: {named}{more}; everything that succeeded is kept",
            f"fix the cause and run 'tutopanda build run --movie {movie}' again: the failed jobs and what "
            "depends on them run, everything that succeeded is reused",
        )


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
    _print_diff(_context(), movie, source, target, as_json)


def _durable_builds(movie: str, database: str | None) -> list[dict[str, Any]] | None:
    """The movie's newest DBOS builds, when a DBOS database is configured or exists under the root."""
    from pathlib import Path

    from tutopanda.cli.worker_command import database_url

    root = state.storage_root()
    local_database = "://" not in root and (Path(root).expanduser() / "dbos.sqlite").exists()
    if database is None and not local_database:
        from tutopanda.settings import load_settings

        if load_settings(root).dbos.database_url is None:
            return None  # never built durably here (or nowhere to look): no database to read
    from tutopanda.workflow.build_progress import durable_builds

    try:
        return durable_builds(database_url(database), movie)
    except Exception as exc:  # a status report must not fail because the workflow database is away
        from tutopanda.workflow.dbos_executor import without_credentials

        reason = without_credentials(str(exc).splitlines()[0][:160] if str(exc) else "", database or "")
        stderr_console().print(
            f"warning: could not read durable builds: {type(exc).__name__}: {reason}", markup=False
        )
        return None


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

    status = movie_status(_context(), movie)
    durable = _durable_builds(movie, database)
    if durable is not None:
        status["durableBuilds"] = durable
    if as_json:
        print_json(status)
        return
    console = stdout_console()
    for build in durable or []:
        jobs = build["jobs"]
        planned = build["plannedJobs"]
        done = jobs["succeeded"] + jobs["cached"]
        console.print(
            f"durable build {build['workflowId']}: {build['status'].lower()} on {build['executor']}, "
            f"{done}/{planned if planned is not None else '?'} job(s) done, {jobs['running']} running, "
            f"{jobs['queued']} queued, {jobs['failed'] + jobs['blocked']} failed",
            markup=False,
            highlight=False,
        )
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
