"""How every building command runs a build: the handler mode, the registry's handlers, the questions
before paid work, the progress bars, and the exit code a build's outcome maps to.

Why a module of its own: ``query``, ``edit``, ``build run`` and the viewer all build through the one
engine verb (:func:`tutopanda.core.engine.change.apply`) with the same CLI parts; each command module
imports them from here instead of from another command.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Annotated

import typer

from tutopanda.cli.build_display import cost_text, print_plan
from tutopanda.cli.output import confirm, stdout_console
from tutopanda.cli.settings import state

if TYPE_CHECKING:
    from tutopanda.core.engine.build import BuildReport
    from tutopanda.core.engine.change import Change, Outcome
    from tutopanda.core.engine.planner import Plan
    from tutopanda.core.engine.provider_contract import HandlerResolver, Mode
    from tutopanda.core.store.storage import StorageContext

__all__ = [
    "PROVIDER_MODES",
    "ModeOpt",
    "confirm_paid_plan",
    "execute_build",
    "offline_only",
    "open_root",
    "provider_mode",
    "raise_for_outcome",
    "resolver",
]

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


def open_root() -> StorageContext:
    """The storage context of this invocation's root (``--root``, else the default)."""
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
