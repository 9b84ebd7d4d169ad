"""Where the CLI keeps its data: the storage root.

The root comes from ``--root``, else ``$TUTOPANDA_HOME``, else ``~/.tutopanda``. Movies live under
``<root>/builds/`` (see ``docs/storage.md``). ``tutopanda init`` adds ``<root>/settings.toml``; without
it every command works on the defaults, and says so once per root (:func:`note_defaults`).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutopanda.settings import Settings

__all__ = [
    "CONCURRENCY_HELP",
    "DEFAULTS_NOTED",
    "CliState",
    "default_root",
    "forget_env_files",
    "job_concurrency",
    "load_env_files",
    "note_defaults",
    "state",
]

DEFAULTS_NOTED = ".defaults-noted"
"""Marker in the root: the "running on defaults" note was shown there once already."""


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
    env_loaded: tuple[str, ...] = ()
    """Variables this invocation took from ``.env`` files (removed again when it ends)."""

    def storage_root(self) -> str:
        """The storage root for this invocation."""
        return self.root or default_root()


state = CliState()
"""The one process-wide CLI state, filled in by the top-level callback."""


CONCURRENCY_HELP = "Jobs at once (default: concurrency in settings.toml, else 4)."
"""The one help text of every ``--concurrency`` that falls back to the settings (query, edit, build run)."""


def job_concurrency(flag: int | None, settings: Settings | None = None) -> int:
    """``--concurrency``, else ``[general] concurrency`` of the root's settings.toml, else its default (4).

    One rule for ``query``, ``edit`` and ``build run``, so a value set once in the settings is what every
    build of the root uses, and ``tutopanda init`` writes the same default the help names.
    """
    if flag is not None:
        return flag
    if settings is None:
        from tutopanda.settings import load_settings

        settings = load_settings(state.storage_root())
    return settings.general.concurrency


def load_env_files(root: str | None) -> None:
    """Read ``./.env`` then ``<root>/.env`` into the environment (see :mod:`tutopanda.cli.env_file`).

    ``root`` is ``--root`` (None: the default root, which the current folder's ``.env`` may itself set
    through ``TUTOPANDA_HOME``, so that file is read first). Only a local root has a ``.env``; warnings
    name the file and line, never a value.
    """
    from tutopanda.cli.env_file import ENV_FILE_NAME
    from tutopanda.cli.env_file import load_env_files as load

    here = Path.cwd() / ENV_FILE_NAME
    result = load([here], os.environ)
    root_path = root or default_root()
    if "://" not in root_path:
        in_root = Path(root_path).expanduser() / ENV_FILE_NAME
        if in_root.absolute() != here.absolute():
            more = load([in_root], os.environ)
            result.loaded.update(more.loaded)
            result.warnings.extend(more.warnings)
    state.env_loaded = (*state.env_loaded, *result.loaded)
    if result.warnings:
        from tutopanda.cli.output import stderr_console

        for warning in result.warnings:
            stderr_console().print(f"warning: {warning}", markup=False, highlight=False)


def forget_env_files() -> None:
    """Remove what :func:`load_env_files` added, so one in-process run (tests) does not leak into the next."""
    for name in state.env_loaded:
        os.environ.pop(name, None)
    state.env_loaded = ()


def note_defaults(settings: Settings) -> None:
    """Tell the user, once per storage root, that there is no settings file and defaults apply.

    Once, because a note on every run is noise; the marker file lives in the root itself, so a new
    root gets the note again. Only local roots are marked (nothing is written to a remote store).
    """
    if settings.from_file:
        return
    if "://" in settings.path:
        return
    root = Path(settings.path).parent
    marker = root / DEFAULTS_NOTED
    if os.path.lexists(marker):  # a link planted there counts as "noted": it is never written through
        return
    from tutopanda.cli.output import stderr_console

    stderr_console().print(
        f"note: no {settings.path} yet, so the defaults apply "
        "(run 'tutopanda init' to write a settings file you can edit)",
        markup=False,
        highlight=False,
    )
    _mark(root, marker)


def _mark(root: Path, marker: Path) -> None:
    """Create ``marker`` in ``root`` without following a link planted at its name (or out of the root).

    Why not ``touch()``: it follows a symlink, so a link at ``<root>/.defaults-noted`` would create or
    touch a file wherever it points, on every command (a ``--dry-run`` too). The marker is only a
    courtesy, so a refusal is silent: the note is simply shown again next time.
    """
    from tutopanda.core.errors import StorageError
    from tutopanda.core.store.regular_file import check_inside, open_for_append

    with contextlib.suppress(OSError, StorageError):
        root.mkdir(parents=True, exist_ok=True)
        check_inside(root, marker)
        os.close(open_for_append(marker))
