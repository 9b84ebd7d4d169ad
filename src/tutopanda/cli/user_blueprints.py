"""Blueprint names that reach the user's own blueprints, saved in ``<root>/blueprints/``.

Why: ``tutopanda blueprints list`` shows those blueprints by name, but the loader
(:func:`tutopanda.core.blueprint.load_blueprint`) knows only bundled names and file paths, and core
cannot know the storage root. So a front end turns a user blueprint's name into its path first; the
movie then records that absolute path, exactly as if the path had been given.

A name matches a user blueprint by the name ``blueprints list`` shows (its ``meta.id``; the file name
for one that does not load, so using it reports the file's own problem) or by its file name without
``.yaml``/``.yml``. A name that is also a bundled blueprint's is refused as ambiguous rather than
silently meaning one of the two: the bundled name keeps meaning what the docs and every other command
say, and the user's file is never ignored without a word.
"""

from __future__ import annotations

from pathlib import Path

from tutopanda.core.blueprint import BlueprintSummary, list_user_blueprints
from tutopanda.core.blueprint.loader import bundled_blueprint_names
from tutopanda.core.errors import UsageError

__all__ = ["resolve_blueprint_name", "user_blueprint_folder", "user_blueprints"]

USER_BLUEPRINTS_DIR = "blueprints"
"""The folder of the storage root that holds the user's own blueprints."""


def user_blueprint_folder(root: str) -> Path | None:
    """``<root>/blueprints`` for a local root; None for a remote one (a blueprint's module and prompt
    files are read from disk, so only a local root can hold loadable blueprints)."""
    if "://" in root and not root.startswith("file://"):
        return None
    return Path(root.removeprefix("file://")).expanduser() / USER_BLUEPRINTS_DIR


def user_blueprints(root: str) -> list[BlueprintSummary]:
    """The blueprints in ``<root>/blueprints/`` (valid or not), as ``blueprints list`` shows them."""
    folder = user_blueprint_folder(root)
    return list_user_blueprints(folder) if folder is not None else []


def resolve_blueprint_name(name: str, root: str) -> str:
    """``name`` as the loader should get it: the path of the user blueprint it names, else unchanged.

    Paths (and names of existing files) are left to the loader, as are names that match nothing (its
    error lists the bundled names). Exits 2 when the name is ambiguous: a bundled name that a user
    blueprint also has, or several user files with that name.
    """
    looks_like_path = Path(name).suffix in {".yaml", ".yml"} or "/" in name or "\\" in name
    if looks_like_path or _is_file(name):
        return name
    paths = sorted({s.path for s in user_blueprints(root) if name in (s.name, Path(s.path).stem)})
    if not paths:
        return name
    if name in bundled_blueprint_names():
        raise UsageError(
            f"blueprint {name!r} is both a bundled blueprint and your {paths[0]}",
            f"give your blueprint another id and file name (tutopanda blueprints list shows them), "
            f"or use it by its path: --blueprint {paths[0]}",
        )
    if len(paths) > 1:
        raise UsageError(
            f"blueprint {name!r} names {len(paths)} of your blueprints: {', '.join(paths)}",
            f"give each a different id and file name, or use one by its path: --blueprint {paths[0]}",
        )
    return paths[0]


def _is_file(name: str) -> bool:
    try:
        return Path(name).is_file()
    except OSError:  # a name too long for the file system: the loader reports it
        return False
