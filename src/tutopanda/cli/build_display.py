"""How the CLI shows a build: the plan tables, a build's report, the revision line and a revision diff.

Why a module of its own: ``build plan``, ``build run``, ``query`` and ``edit`` all print the same plan
and the same closing lines; keeping the rendering here leaves the command modules to orchestrate (flags
in, one engine verb, these printers out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tutopanda.cli.output import Col, make_table, print_json, stdout_console

if TYPE_CHECKING:
    from tutopanda.core.engine.build import BuildReport
    from tutopanda.core.engine.planner import Plan
    from tutopanda.core.store.storage import StorageContext

__all__ = [
    "cost_text",
    "print_diff",
    "print_plan",
    "print_report",
    "provisional_lines",
    "report_dict",
    "revision_line",
]

_ROWS_PER_LAYER = 20
"""Jobs shown per layer in the plan table; ``--json`` lists every job."""


def cost_text(plan: Plan) -> str:
    """``estimated cost $0.0120`` (``+ 2 jobs without a price`` when some handlers cannot estimate)."""
    cost = plan.estimated_cost
    text = f"estimated cost ${cost:.4f}" if cost is not None else "estimated cost unknown"
    if plan.unpriced_jobs and cost is not None:
        text += f" + {plan.unpriced_jobs} job(s) without a price"
    return text


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


def report_dict(report: BuildReport) -> dict[str, Any]:
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


def print_report(report: BuildReport, *, dry_run: bool = False, ctx: StorageContext | None = None) -> None:
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
    summary = report_dict(report)
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


def print_diff(
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
