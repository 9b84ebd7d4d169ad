"""``tutopanda worker``: a process that runs build jobs from the DBOS queues until Ctrl-C.

Start one or many (on one machine with SQLite, on many with a shared PostgreSQL and a shared store);
``tutopanda build run --executor dbos`` submits builds they pick up. See ``docs/scale-out.md``.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Annotated

import typer

from tutopanda.cli.options import DatabaseOpt
from tutopanda.cli.settings import state

__all__ = ["database_url", "install_durable_probe", "launch_dbos", "queue_names", "register"]


def database_url(flag: str | None) -> str:
    """The DBOS system database: the flag/env, else ``[dbos] database_url`` in the settings, else
    ``sqlite:///<root>/dbos.sqlite``."""
    from pathlib import Path

    from tutopanda.core.errors import UsageError
    from tutopanda.settings import load_settings

    if flag:
        return flag
    root = state.storage_root()
    configured = load_settings(root).dbos.database_url
    if configured:
        return configured
    if "://" in root:
        raise UsageError(
            "a remote storage root needs a shared DBOS database",
            "pass --database-url postgresql://... (or set TUTOPANDA_DBOS_DATABASE_URL)",
        )
    path = Path(root).expanduser().resolve() / "dbos.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def launch_dbos(
    url: str,
    concurrency: int,
    executor_id: str | None = None,
    queues: list[str] | None = None,
    notify: Callable[[str], None] | None = None,
) -> None:
    """Start DBOS in this process with the registry's handlers (quietly)."""
    from tutopanda.providers.wiring import price_file, resolver_factory
    from tutopanda.workflow.dbos_executor import launch

    launch(
        url,
        resolver_factory=resolver_factory(price_file(state.storage_root())),
        concurrency=concurrency,
        executor_id=executor_id,
        queues=queues,
        notify=notify,
    )


def queue_names(given: str | None) -> list[str] | None:
    """``--queues openai,replicate,builds`` as DBOS queue names (``None``: every queue)."""
    from tutopanda.core.errors import UsageError
    from tutopanda.workflow.dbos_executor import BUILD_QUEUE, DEFAULT_QUEUE, KNOWN_PROVIDERS, queue_name

    if given is None:
        return None
    names: list[str] = []
    for raw in given.split(","):
        name = raw.strip()
        if name == "builds":
            names.append(BUILD_QUEUE)
        elif name == "default":
            names.append(DEFAULT_QUEUE)
        elif name in KNOWN_PROVIDERS:
            names.append(queue_name(name))
        else:
            choices = ", ".join(("builds", "default", *KNOWN_PROVIDERS))
            raise UsageError(f"--queues: unknown queue {name!r}", f"use a comma-separated list of: {choices}")
    return names


def worker_command(
    database: DatabaseOpt = None,
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", "-c", min=1, max=256, help="Jobs this worker runs at once, per queue."),
    ] = 4,
    queues: Annotated[
        str | None,
        typer.Option(
            "--queues",
            help="Take work only from these queues (comma-separated: builds, default, local, tutopanda, "
            "openai, replicate, elevenlabs). Default: all.",
            show_default=False,
        ),
    ] = None,
    worker_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            help="This worker's executor id (default: host-pid). Restarted with the same id, a worker "
            "resumes the workflows it was running when it died.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run build jobs from the DBOS queues (submitted by 'build run --executor dbos') until Ctrl-C.

    Example: tutopanda worker --database-url postgresql://builder@db.internal/tutopanda -c 8

    Example: tutopanda worker --queues openai,replicate -c 16   (a machine for the online providers)
    """
    from tutopanda.cli.output import stdout_console

    url = database_url(database)
    console = stdout_console()

    def notify(message: str) -> None:
        console.print(message, markup=False, highlight=False)

    from tutopanda.workflow.code_version import application_version

    launch_dbos(url, concurrency, worker_id, queue_names(queues), notify)
    shown = url.split("@")[-1] if "@" in url else url
    console.print(  # the version: builds submitted by other code wait for a worker of theirs
        f"worker {os.getpid()} on {shown}: running jobs of {application_version()}, "
        f"{concurrency} at once per queue (Ctrl-C to stop)",
        markup=False,
        highlight=False,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    stdout_console().print("worker stopped", markup=False)


def install_durable_probe() -> None:
    """Let every command's movie lock check durable builds.

    A durable build holds its movie through a lock record in the store (``core/store/durable_lock.py``);
    telling a live one from one that ended without releasing it (cancelled, say) needs the DBOS
    database, which only the workflow layer reads. The CLI's global options install it before any
    command runs, so ``edit``, ``gc``, ``movies clean`` and the rest all get it — and ``--help``, which
    runs no command, does not pay for importing the store.
    """
    from tutopanda.core.store.durable_lock import set_probe
    from tutopanda.workflow.durable_probe import probe

    set_probe(probe)


def register(app: typer.Typer) -> None:
    """Add ``worker`` to ``app``."""
    app.command("worker")(worker_command)
