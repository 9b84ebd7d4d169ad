"""``tutopanda viewer``: watch a movie in the browser, see where each piece came from, compare revisions.

Serves :func:`tutopanda.viewer.app.create_app` with uvicorn on 127.0.0.1 (the store stays private
unless ``--host`` says otherwise), prints the URL, optionally opens it, and stops cleanly on Ctrl-C.

The server is sized for one person's browser on a shared machine: the app answers only to the Host
names of the address it is bound to (DNS rebinding), a bounded number of connections are served at
once (more get 503 instead of memory), idle keep-alive connections are closed after a few seconds,
and Ctrl-C waits only briefly for downloads a stalled client will never finish.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tutopanda.cli.settings import state

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

__all__ = ["register"]

DEFAULT_PORT = 8765
MAX_CONNECTIONS = 64
"""Connections (and requests in flight) served at once; more get 503. A browser opens about six."""
KEEP_ALIVE_SECONDS = 5
"""An idle keep-alive connection is closed after this long, so idle clients hold no slot."""
SHUTDOWN_SECONDS = 2
"""How long Ctrl-C waits for responses in flight before cancelling them (a stalled download never ends)."""


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


def viewer_command(
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
) -> None:
    """Serve a local web page to watch movies, see each segment's provenance and compare revisions.

    Read-only: it never changes the store. Stop it with Ctrl-C.

    Example: tutopanda viewer --movie how-do-volcanoes-erupt-3f9a1c --no-open
    """
    import uvicorn

    from tutopanda.cli.output import stdout_console
    from tutopanda.core.movie_layout import ensure_initialised
    from tutopanda.core.storage import StorageConfig, StorageContext, validate_movie_id
    from tutopanda.viewer.app import allowed_hosts, create_app

    ctx = StorageContext.open(StorageConfig(root=state.storage_root()))
    if movie is not None:
        ensure_initialised(ctx, validate_movie_id(movie))
    sock = _bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    url = f"http://{shown_host}:{bound_port}/" + (f"movies/{movie}" if movie else "")
    console = stdout_console()
    console.print(f"viewer: {url}  (Ctrl-C to stop)", markup=False, highlight=False)
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(
            f"note: listening on {host}: anyone who can reach this machine can watch your movies",
            markup=False,
        )
    hosts = allowed_hosts(bound_host, bound_port, [host, *(allow_host or [])])
    server = uvicorn.Server(server_config(create_app(ctx, default_movie=movie, hosts=hosts)))
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
    console.print("viewer stopped", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``viewer`` to ``app``."""
    app.command("viewer")(viewer_command)
