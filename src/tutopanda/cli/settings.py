"""Where the CLI keeps its data: the storage root.

The root comes from ``--root``, else ``$TUTOPANDA_HOME``, else ``~/.tutopanda``. Movies live under
``<root>/builds/`` (see ``docs/storage.md``). The ``init`` command of a later issue adds a settings file;
until then these defaults are the whole configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CliState", "default_root", "state"]


def default_root() -> str:
    """``$TUTOPANDA_HOME`` if set, else ``~/.tutopanda``."""
    env = os.environ.get("TUTOPANDA_HOME")
    if env:
        return env
    return str(Path.home() / ".tutopanda")


@dataclass
class CliState:
    """Options given before the command name (``tutopanda --root DIR --debug storage:init ...``)."""

    root: str | None = None
    debug: bool = False

    def storage_root(self) -> str:
        """The storage root for this invocation."""
        return self.root or default_root()


state = CliState()
"""The one process-wide CLI state, filled in by the top-level callback."""
