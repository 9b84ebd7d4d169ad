"""``tutopanda mcp``: serve the movie operations to an assistant over the Model Context Protocol (stdio).

Thin on purpose: the server lives in :mod:`tutopanda.mcp_server` (it must not import the CLI); this
command only resolves the storage root and the provider mode the way every other command does, checks
that the optional ``mcp`` SDK is installed, and hands stdin/stdout to the server. Nothing else may
write to stdout meanwhile: it carries the protocol.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tutopanda.cli.build_commands import ModeOpt
from tutopanda.cli.settings import state

__all__ = ["register"]


def mcp_command(
    providers: ModeOpt = "live",
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=256, help="Jobs at once in each build.")
    ] = 2,
) -> None:
    """Serve Tutopanda to an assistant (Claude Desktop, an IDE agent) as an MCP server over stdio.

    Tools: make_movie, apply_edit, show_plan, build_status, list_movies, verify.

    Resources: tutopanda://movies, and each movie's manifest, timeline, script and files.

    Paid online builds run only when the assistant passes confirm: true.

    Needs the mcp extra: pip install 'tutopanda\\[mcp]'.

    Example (a client's configuration): {"command": "tutopanda", "args": ["mcp"]}
    """
    from tutopanda.core.errors import UsageError

    if providers not in ("live", "local", "mock"):
        raise UsageError(
            f"--providers must be live, local or mock, not {providers!r}", "see 'tutopanda mcp --help'"
        )
    try:
        from tutopanda.mcp_server.server import run_stdio
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] != "mcp":
            raise
        raise UsageError(
            "the MCP server needs the official MCP SDK, which is not installed",
            "pip install 'tutopanda[mcp]'",
        ) from None
    run_stdio(state.storage_root(), providers, concurrency)  # type: ignore[arg-type]  # checked above


def register(app: typer.Typer) -> None:
    """Add ``mcp`` to ``app``."""
    app.command("mcp")(mcp_command)
