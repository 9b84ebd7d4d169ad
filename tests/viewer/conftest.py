"""The viewer tests reuse the in-process CLI fixtures to build their movies."""

from __future__ import annotations

from tests.cli.conftest import cli, root

__all__ = ["LOCAL", "cli", "root"]

LOCAL = "http://127.0.0.1:8765"
"""The base URL of in-process test clients: the viewer answers only to its own (loopback) names."""
