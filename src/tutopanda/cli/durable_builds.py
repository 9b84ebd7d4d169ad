"""``build run --executor dbos`` and the durable side of ``build status``: builds run as DBOS workflows.

Why a module of its own: a durable build is submitted, confirmed and finished differently from a local
one (the workers run the jobs; this process may only wait), and ``build status`` reads the workflow
database. Keeping that here leaves ``build_commands`` to the commands themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tutopanda.cli.build_execution import confirm_paid_plan, offline_only, open_root, provider_mode, resolver
from tutopanda.cli.output import print_json, stderr_console, stdout_console
from tutopanda.cli.settings import state

if TYPE_CHECKING:
    from tutopanda.core.engine.planner import Plan
    from tutopanda.core.store.storage import StorageContext

__all__ = ["choose_executor", "print_durable_builds", "recent_durable_builds", "run_on_dbos"]


def choose_executor(flag: str | None, local_only: tuple[tuple[str, bool], ...]) -> str:
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


def run_on_dbos(
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
    ctx = open_root()
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


def recent_durable_builds(movie: str, database: str | None) -> list[dict[str, Any]] | None:
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


def print_durable_builds(durable: list[dict[str, Any]]) -> None:
    """One line per durable build of the movie: its state, executor and job counts."""
    console = stdout_console()
    for build in durable:
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
