"""``tutopanda viewer``: watch a movie in the browser, see where each piece came from, compare revisions.

Serves :func:`tutopanda.viewer.app.create_app` with uvicorn on 127.0.0.1 (the store stays private
unless ``--host`` says otherwise), prints the URL, optionally opens it, and stops cleanly on Ctrl-C.

The server is sized for one person's browser on a shared machine: the app answers only to the Host
names of the address it is bound to (DNS rebinding), a bounded number of connections are served at
once (more get 503 instead of memory), idle keep-alive connections are closed after a few seconds,
and Ctrl-C waits only briefly for downloads a stalled client will never finish.

``viewer --background`` starts the same command as a detached process that records itself in the
storage root (:mod:`tutopanda.cli.viewer_record`); ``viewer stop`` and ``viewer status`` find it there.
Why a record written by the viewer itself rather than by the starter: only the process that bound the
socket knows the port (a free one when 8765 is taken), and only a recorded pid that is alive and still
a viewer is believed, so a crash or a reboot leaves nothing that blocks the next start.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tutopanda.cli.build_commands import ModeOpt
from tutopanda.cli.options import JsonOpt
from tutopanda.cli.settings import state

if TYPE_CHECKING:
    import subprocess

    import uvicorn
    from rich.console import Console
    from starlette.types import ASGIApp

    from tutopanda.cli.viewer_record import ViewerRecord
    from tutopanda.core.store.storage import StorageContext
    from tutopanda.viewer.editing import Editor, ProviderChoice

__all__ = ["register"]

DEFAULT_PORT = 8765
MAX_CONNECTIONS = 64
"""Connections (and requests in flight) served at once; more get 503. A browser opens about six."""
KEEP_ALIVE_SECONDS = 5
"""An idle keep-alive connection is closed after this long, so idle clients hold no slot."""
SHUTDOWN_SECONDS = 2
"""How long Ctrl-C waits for responses in flight before cancelling them (a stalled download never ends)."""
START_SECONDS = 30
"""How long ``--background`` waits for the viewer process to record its URL before giving up."""

viewer_app = typer.Typer(name="viewer", invoke_without_command=True)
"""``viewer`` itself serves (its help is the callback's docstring); ``stop`` and ``status`` manage the
background one."""


def _bind(host: str, port: int | None) -> socket.socket:
    """A listening socket: ``port``, or 8765, or any free port when 8765 is taken and none was asked for."""
    from tutopanda.core.errors import UsageError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for candidate in [port] if port is not None else [DEFAULT_PORT, 0]:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as exc:
            sock.close()
            if port is None and candidate == DEFAULT_PORT:
                continue
            raise UsageError(
                f"cannot listen on {host}:{candidate}: {exc.strerror or exc}",
                "choose another --port (or leave it out to take a free one)",
            ) from None
        sock.listen(64)
        return sock
    raise AssertionError("unreachable")  # pragma: no cover - port 0 always binds


def server_config(app: ASGIApp, **where: Any) -> uvicorn.Config:
    """The uvicorn settings of the viewer (``where``: ``host``/``port`` when not serving a bound socket).

    Shared with the tests that start a real server, so they check the limits the command uses.
    """
    import uvicorn

    return uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
        backlog=64,
        **where,
    )


@viewer_app.callback(invoke_without_command=True)
def viewer_command(
    ctx: typer.Context,
    movie: Annotated[
        str | None,
        typer.Option(
            "--movie", "-m", help="Open this movie's page (default: the movie list).", show_default=False
        ),
    ] = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only).")
    ] = ("127.0.0.1"),
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            "-p",
            min=0,
            max=65535,
            help=f"Port (default {DEFAULT_PORT}, else a free one).",
            show_default=False,
        ),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in your web browser.")
    ] = True,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="Another name the viewer answers to (repeatable), e.g. this machine's LAN address "
            "with --host 0.0.0.0; requests naming any other host are refused.",
            show_default=False,
        ),
    ] = None,
    background: Annotated[
        bool,
        typer.Option(
            "--background",
            help="Run in the background and return (one per storage root; 'tutopanda viewer stop' ends it).",
        ),
    ] = False,
    record: Annotated[
        Path | None,
        typer.Option("--record", hidden=True, help="(internal) the folder to record this viewer in"),
    ] = None,
    allow_edits: Annotated[
        bool,
        typer.Option(
            "--allow-edits",
            help="Let the page edit a segment's narration or image prompt and rebuild (the plan, cost "
            "and confirmation as with 'tutopanda edit'). Only with --host 127.0.0.1 (or ::1).",
        ),
    ] = False,
    providers: ModeOpt = "live",
) -> None:
    """Serve a local web page to watch movies, see each segment's provenance and compare revisions.

    Read-only: it never changes the store, unless --allow-edits lets the page edit a segment's texts
    and rebuild (this machine only). Stop it with Ctrl-C; with --background it runs on after the
    command returns, until 'tutopanda viewer stop'.

    Example: tutopanda viewer --movie how-do-volcanoes-erupt-3f9a1c --no-open
    """
    if ctx.invoked_subcommand is not None:
        return
    store = _open_store(movie)
    editor = _editor(store, host, background, providers) if allow_edits else None
    if background:
        _start_background(movie, host, port, open_browser, allow_host or [])
    else:
        _serve(
            store, movie, host, port, allow_host=allow_host or [], record=record, editor=editor,
            providers=providers, open_browser=open_browser,
        )  # fmt: skip


def _open_store(movie: str | None) -> StorageContext:
    """The storage root, once ``movie`` (when given) is known to be one of its movies: a wrong
    ``--movie`` is reported here, before anything is served or started in the background."""
    from tutopanda.core.store.movie_paths import ensure_initialised
    from tutopanda.core.store.storage import StorageConfig, StorageContext, validate_movie_id

    store = StorageContext.open(StorageConfig(root=state.storage_root()))
    if movie is not None:
        ensure_initialised(store, validate_movie_id(movie))
    return store


def _serve(
    store: StorageContext,
    movie: str | None,
    host: str,
    port: int | None,
    *,
    allow_host: list[str],
    record: Path | None,
    editor: Editor | None,
    providers: str,
    open_browser: bool,
) -> None:
    """Serve in the foreground until Ctrl-C: bind, record this process (a ``--background`` child),
    say where, serve, clean up.

    The URL is known only once the socket is bound (port 0 or a taken 8765 gives a free port), so the
    record and the Host check are made from the bound address, not from the options.
    """
    from tutopanda.cli.output import stdout_console
    from tutopanda.viewer.app import allowed_hosts, create_app

    sock = _bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    base_url = f"http://{shown_host}:{bound_port}/"
    url = base_url + (f"movies/{movie}" if movie else "")
    if record is not None:
        _record_self(record, bound_host, bound_port, base_url)
    console = stdout_console()
    _announce(console, url, host, background_child=record is not None)
    hosts = allowed_hosts(bound_host, bound_port, [host, *allow_host])
    app = create_app(store, default_movie=movie, hosts=hosts, editor=editor)
    if editor is not None:
        console.print(f"edits allowed from the page (builds run with --providers {providers})", markup=False)
    _run_until_stopped(app, sock, url, open_browser=open_browser, record=record)
    console.print("viewer stopped", markup=False)


def _announce(console: Console, url: str, host: str, *, background_child: bool) -> None:
    """Print the URL, and notes on a background viewer of the same root and on a non-loopback host."""
    console.print(f"viewer: {url}  (Ctrl-C to stop)", markup=False, highlight=False)
    if not background_child:  # the background viewer itself has no other one to point to
        _note_background_viewer()
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(
            f"note: listening on {host}: anyone who can reach this machine can watch your movies",
            markup=False,
        )


def _run_until_stopped(
    app: ASGIApp, sock: socket.socket, url: str, *, open_browser: bool, record: Path | None
) -> None:
    """Run uvicorn on the bound socket until Ctrl-C; then close the socket and drop this viewer's record."""
    import uvicorn

    server = uvicorn.Server(server_config(app))
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(0.5, lambda: webbrowser.open(url)).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn shuts down on Ctrl-C, then raises it again; for the viewer it is the normal way out
        # (exit 0, as docs/cli.md says), not an interrupted command.
        pass
    finally:
        sock.close()
        if record is not None:
            from tutopanda.cli.viewer_record import remove_record

            remove_record(record, os.getpid())


def _editor(store: StorageContext, host: str, background: bool, providers: str) -> Editor:
    """The page's editor for ``--allow-edits``: refused unless the viewer listens on loopback only.

    Edits spend money and change movies, so only this machine's browser may make them: the Host
    check and the page's token stop other sites, binding to loopback stops other machines.
    """
    from tutopanda.cli.build_commands import offline_only, provider_mode
    from tutopanda.core.errors import UsageError
    from tutopanda.providers.wiring import price_file
    from tutopanda.viewer.editing import Editor

    if host not in ("127.0.0.1", "::1"):
        raise UsageError(
            f"--allow-edits needs --host 127.0.0.1 (this machine only), not {host}",
            "leave --host out to edit from this machine's browser",
        )
    if background:
        raise UsageError(
            "--allow-edits runs in the foreground only", "leave --background out to edit from the page"
        )
    mode = provider_mode(providers)
    choice: ProviderChoice = "local" if offline_only(providers) else mode
    return Editor(store, providers=choice, prices=price_file(state.storage_root()))


def _record_folder() -> Path:
    """The storage root as a local folder: the record of a background viewer lives there."""
    from tutopanda.cli.viewer_record import local_root
    from tutopanda.core.errors import UsageError

    folder = local_root(state.storage_root())
    if folder is None:
        raise UsageError(
            f"a background viewer needs a local storage root, not {state.storage_root()}",
            "run 'tutopanda viewer' in the foreground (Ctrl-C stops it)",
        )
    return folder


def _record_self(folder: Path, bound_host: str, bound_port: int, url: str) -> None:
    """Record this process as the root's background viewer (called once the socket is bound)."""
    from datetime import UTC, datetime

    from tutopanda.cli.viewer_record import LOG_NAME, ViewerRecord, write_record

    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_record(
        folder,
        ViewerRecord(
            pid=os.getpid(), host=bound_host, port=bound_port, url=url, root=state.storage_root(),
            log=str(folder / LOG_NAME), started_at=started,
        ),
    )  # fmt: skip


def _note_background_viewer() -> None:
    """A foreground viewer next to a background one works (another port), but say so: one may be
    looking for the other."""
    from tutopanda.cli.output import stderr_console
    from tutopanda.cli.viewer_record import local_root, running_viewer

    folder = local_root(state.storage_root())
    running = running_viewer(folder, note=False) if folder is not None else None
    if running is not None:
        stderr_console().print(
            f"note: a background viewer already serves this root at {running.url} (pid {running.pid})",
            markup=False,
            highlight=False,
        )


def _start_background(
    movie: str | None, host: str, port: int | None, open_browser: bool, allow_host: list[str]
) -> None:
    """Start ``tutopanda viewer`` detached, wait until it recorded its URL, print it and return.

    Refuses while the root's recorded viewer runs (naming its URL); a stale record is replaced.
    """
    import filelock

    from tutopanda.cli.output import stdout_console
    from tutopanda.cli.viewer_record import LOG_NAME, lock_path, running_viewer
    from tutopanda.core.errors import StorageError, TutopandaError
    from tutopanda.core.store.regular_file import open_for_append

    folder = _record_folder()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with filelock.FileLock(str(lock_path(folder)), timeout=START_SECONDS):
            running = running_viewer(folder)
            if running is not None:
                raise TutopandaError(
                    f"a viewer is already running in the background for this root: {running.url} "
                    f"(pid {running.pid})",
                    "open that URL, or stop it first with 'tutopanda viewer stop'",
                )
            command = [
                sys.executable, "-m", "tutopanda", "--root", state.storage_root(),
                *(["--debug"] if state.debug else []),
                "viewer", "--no-open", "--host", host, "--record", str(folder),
                *(["--port", str(port)] if port is not None else []),
                *(["--movie", movie] if movie is not None else []),
                *(arg for name in allow_host for arg in ("--allow-host", name)),
            ]  # fmt: skip
            log = folder / LOG_NAME
            out = open_for_append(log)
            try:
                child = _spawn(command, out)
            finally:
                os.close(out)
            started = _wait_for_record(folder, child, log)
    except filelock.Timeout:
        raise StorageError(
            f"another 'tutopanda viewer' is starting or stopping the background viewer ({lock_path(folder)})",
            "wait a moment and run the command again",
        ) from None
    url = started.url + (f"movies/{movie}" if movie else "")
    stdout_console().print(
        f"viewer: {url}  (in the background, pid {started.pid}; stop it with 'tutopanda viewer stop')",
        markup=False,
        highlight=False,
    )
    if open_browser:
        import webbrowser

        webbrowser.open(url)


def _spawn(command: list[str], out: int) -> subprocess.Popen[bytes]:
    """The detached viewer: its own session (a Ctrl-C in this terminal does not reach it), no stdin,
    its output appended to the log."""
    import subprocess

    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=out,
        start_new_session=True,
        close_fds=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _wait_for_record(folder: Path, child: subprocess.Popen[bytes], log: Path) -> ViewerRecord:
    """The child's record once it wrote it; its error (from the log) when it exited first."""
    import time

    from tutopanda.cli.viewer_record import read_record
    from tutopanda.core.errors import TutopandaError, UsageError

    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        record = read_record(folder)
        if record is not None and record.pid == child.pid:
            return record
        code = child.poll()
        if code is not None:
            error = TutopandaError if code != 2 else UsageError
            raise error(f"the background viewer did not start: {_last_error(log)}", f"its output is in {log}")
        time.sleep(0.05)
    child.terminate()
    raise TutopandaError(
        f"the background viewer did not record its URL within {START_SECONDS} s; stopped it",
        f"its output is in {log}",
    )


def _last_error(log: Path) -> str:
    """The last ``error: ...`` line the child wrote (the CLI's one-line errors), else its last line."""
    from tutopanda.core.store.regular_file import read_regular

    try:
        lines = read_regular(log).decode("utf-8", "replace").splitlines()[-40:]
    except (OSError, ValueError):
        return "no output"
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
    return errors[-1] if errors else (lines[-1] if lines else "no output")


@viewer_app.command("stop")
def stop_command() -> None:
    """Stop the viewer started with 'tutopanda viewer --background' (nothing to do is not an error).

    Example: tutopanda viewer stop
    """
    import filelock

    from tutopanda.cli.output import stdout_console
    from tutopanda.cli.viewer_record import RECORD_NAME, lock_path, remove_record, running_viewer, stop_viewer

    console = stdout_console()
    folder = _record_folder()
    if not (folder / RECORD_NAME).exists():
        console.print(f"no viewer is running in the background for {folder}", markup=False, highlight=False)
        return
    with filelock.FileLock(str(lock_path(folder)), timeout=START_SECONDS):
        running = running_viewer(folder)
        if running is None:
            console.print(
                f"no viewer is running in the background for {folder}", markup=False, highlight=False
            )
            return
        clean = stop_viewer(running)
        remove_record(folder, running.pid)
    how = "" if clean else " (it did not stop on SIGTERM within 10 s: killed)"
    console.print(f"viewer stopped: {running.url} (pid {running.pid}){how}", markup=False, highlight=False)


@viewer_app.command("status")
def status_command(as_json: JsonOpt = False) -> None:
    """Show the background viewer of this root: its URL, pid and log (or that none runs).

    Example: tutopanda viewer status --json
    """
    from tutopanda.cli.output import print_json, stdout_console
    from tutopanda.cli.viewer_record import local_root, running_viewer

    folder = local_root(state.storage_root())
    running = running_viewer(folder) if folder is not None else None
    if as_json:
        print_json({"running": running is not None, "viewer": running.to_json() if running else None})
        return
    text = (
        f"viewer: {running.url} (pid {running.pid}, since {running.started_at}; log {running.log})"
        if running is not None
        else "no viewer is running in the background"
    )
    stdout_console().print(text, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``viewer`` (and ``viewer stop``/``viewer status``) to ``app``."""
    app.add_typer(viewer_app)
