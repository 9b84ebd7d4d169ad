"""How ``tutopanda --help`` is laid out: the everyday commands first, the plumbing last.

Why one module: the commands register themselves in their own modules, but what a newcomer sees first is
one decision about the whole CLI. :func:`arrange` sorts the registered commands into rich help panels
(everyday work, providers and models, store upkeep, plumbing), :class:`PanelGroup` lists them in the
order of :data:`PANELS`, and :func:`arrange` hides
the old ``x:y`` spellings (``manifest:show``, ``providers:list``, …), which stay accepted as aliases of
the subcommands so scripts written against them keep working.

Flags: Typer 0.29 renders every boolean flag with a ``<bool>`` type, as if it took a value
(``--yes <bool>``). There is no public hook for that column, so :func:`show_flags_as_flags` overrides
the one method that fills it, once, for every option (help options included): a flag shows no type.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup, TyperOption
from typer.models import TyperInfo

__all__ = ["HIDDEN_ALIASES", "PANELS", "PanelGroup", "arrange", "show_flags_as_flags"]

PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Make and edit movies", ("query", "inspect", "edit", "build", "viewer", "movies", "init")),
    ("Providers, models and blueprints", ("providers", "models", "blueprints", "mcp")),
    ("Store upkeep and durable builds", ("verify", "gc", "worker")),
    ("Plumbing (the storage engine, step by step)", ("storage", "events", "manifest")),
)
"""Each help panel and its commands, in the order ``--help`` shows them."""

HIDDEN_ALIASES = frozenset(
    {"storage:init", "events:append", "manifest:build", "manifest:show", "providers:list"}
)
"""The first CLI's ``group:command`` spellings: still accepted, no longer listed."""


def arrange(app: typer.Typer) -> None:
    """Give each of ``app``'s commands and groups its panel and order; hide :data:`HIDDEN_ALIASES`."""
    panel_of = {name: panel for panel, names in PANELS for name in names}
    for command in app.registered_commands:
        name = command.name or ""
        if name in HIDDEN_ALIASES:
            command.hidden = True
        elif name in panel_of:
            command.rich_help_panel = panel_of[name]
    for group in app.registered_groups:
        name = _group_name(group)
        if name in panel_of:
            group.rich_help_panel = panel_of[name]


def _group_name(group: TyperInfo) -> str:
    """A group's name: given to ``add_typer`` or, as here, to the sub-app's ``typer.Typer(name=...)``."""
    name = group.name if isinstance(group.name, str) else None
    if name is None and group.typer_instance is not None:
        own = group.typer_instance.info.name
        name = own if isinstance(own, str) else None
    return name or ""


_ORDER = {name: position for position, name in enumerate(name for _, names in PANELS for name in names)}


class PanelGroup(TyperGroup):
    """The root group: lists its commands in :data:`PANELS` order (Typer lists plain commands before
    groups, which would put ``verify`` above ``build``)."""

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        names = super().list_commands(ctx)
        return sorted(names, key=lambda name: _ORDER.get(name, len(_ORDER)))


_typed_display = TyperOption.display_type_rich


def _flag_display(self: TyperOption, ctx: Any) -> str | None:  # Typer's vendored Click context
    """No type for a flag (``--yes``), Typer's own rendering for an option that takes a value."""
    if self.is_flag and self.metavar is None:
        return None
    return _typed_display(self, ctx)


def show_flags_as_flags() -> None:
    """Render boolean flags without a ``<bool>`` type in every help page (see the module docstring)."""
    TyperOption.display_type_rich = _flag_display  # type: ignore[method-assign]
