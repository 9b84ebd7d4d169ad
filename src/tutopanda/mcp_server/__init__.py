"""``tutopanda mcp``: a Model Context Protocol server, so assistants can make and edit movies.

Beside :mod:`tutopanda.viewer` and :mod:`tutopanda.workflow`: it imports the engine (``core``) and the
providers, never the CLI (``tests/test_architecture.py``). Named ``mcp_server``, not ``mcp``, so it never
shadows the official SDK it is built on (the ``mcp`` extra). :mod:`.operations` holds what an assistant
can do (no MCP types); :mod:`.server` maps it onto tools, resources and progress notifications.
"""

from __future__ import annotations

__all__: list[str] = []
