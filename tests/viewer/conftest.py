"""The viewer tests reuse the in-process CLI fixtures to build their movies."""

from __future__ import annotations

from tests.cli.conftest import cli, root

__all__ = ["cli", "root"]
