"""Loading provider plugins from the ``tutopanda.providers`` entry-point group.

A plugin is any installed distribution declaring, in its ``pyproject.toml``::

    [project.entry-points."tutopanda.providers"]
    myplugin = "my_package.tutopanda_plugin:register"

where ``register(registry)`` calls ``registry.add(HandlerFactory(...))``. Tutopanda's own handlers are
the ``builtin`` plugin and go through the same path.

A plugin that fails to import or to register raises :class:`ProviderConfigError` naming it, rather than
being skipped: a silently missing provider would surface much later as a confusing "no handler"
error, possibly after paid jobs ran. The escape hatch is ``TUTOPANDA_DISABLE_PLUGINS`` (comma-separated
entry-point names), which skips the named plugins.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers.registry import ProviderRegistry

__all__ = ["BUILTIN_PLUGIN", "DISABLE_PLUGINS_ENV", "PLUGIN_GROUP", "default_registry", "load_plugins"]

PLUGIN_GROUP = "tutopanda.providers"
"""The entry-point group provider plugins register in."""

BUILTIN_PLUGIN = "builtin"
"""Entry-point name of Tutopanda's own handlers."""

DISABLE_PLUGINS_ENV = "TUTOPANDA_DISABLE_PLUGINS"
"""Comma-separated plugin names to skip (the way out when an installed plugin is broken)."""


def _disabled() -> set[str]:
    return {name.strip() for name in os.environ.get(DISABLE_PLUGINS_ENV, "").split(",") if name.strip()}


def _describe(entry_point: EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    package = f" from package {dist.name}" if dist is not None else ""
    return f"provider plugin {entry_point.name!r} ({entry_point.value}{package})"


def load_plugins(registry: ProviderRegistry, plugins: Iterable[EntryPoint] | None = None) -> list[str]:
    """Call ``register(registry)`` of every plugin (installed ones unless ``plugins`` is given).

    Returns the names loaded. A plugin already loaded into ``registry`` is not loaded twice.
    """
    candidates = list(entry_points(group=PLUGIN_GROUP)) if plugins is None else list(plugins)
    disabled = _disabled()
    loaded: list[str] = []
    seen: set[tuple[str, str]] = set()
    for entry_point in sorted(candidates, key=lambda ep: (ep.name != BUILTIN_PLUGIN, ep.name)):
        identity = (entry_point.name, entry_point.value)
        if identity in seen or entry_point.name in disabled or entry_point.name in registry.loaded_plugins:
            continue
        seen.add(identity)
        what = _describe(entry_point)
        try:
            register = entry_point.load()
            if not callable(register):
                raise TypeError(f"{entry_point.value} is not callable")
            with registry.registering_as(entry_point.name):
                register(registry)
        except ProviderConfigError:
            raise
        except Exception as exc:
            raise ProviderConfigError(
                f"{what} failed to load: {type(exc).__name__}: {exc}",
                "upgrade, fix or uninstall that package, or skip it with "
                f"{DISABLE_PLUGINS_ENV}={entry_point.name}",
            ) from exc
        registry.loaded_plugins.append(entry_point.name)
        loaded.append(entry_point.name)
    return loaded


@cache
def default_registry() -> ProviderRegistry:
    """The process-wide registry with every installed plugin loaded (built once).

    The built-ins are registered even when the package metadata is missing (a source checkout on
    ``PYTHONPATH``), unless ``builtin`` is disabled.
    """
    registry = ProviderRegistry()
    load_plugins(registry)
    if BUILTIN_PLUGIN not in registry.loaded_plugins and BUILTIN_PLUGIN not in _disabled():
        from tutopanda.providers import builtin

        with registry.registering_as(BUILTIN_PLUGIN):
            builtin.register(registry)
        registry.loaded_plugins.append(BUILTIN_PLUGIN)
    return registry
