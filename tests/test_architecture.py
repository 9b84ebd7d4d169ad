"""Dependencies point one way: core <- providers / viewer / workflow <- cli.

core imports none of the others; providers, the viewer and the workflow import only core; only the
CLI wires them together. The MCP server (``mcp_server``) sits beside the CLI as another front end: it
imports core and providers, and the CLI only starts it. The viewer reads through core; with
``--allow-edits`` it is a front end too and builds through :mod:`tutopanda.providers.wiring` (the
handlers and the checks every front end runs before recording), and through nothing else of providers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "tutopanda"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        (
            "core",
            (
                "tutopanda.settings",
                "tutopanda.providers",
                "tutopanda.cli",
                "tutopanda.viewer",
                "tutopanda.workflow",
                "tutopanda.mcp_server",
            ),
        ),
        (
            "providers",
            (
                "tutopanda.settings",
                "tutopanda.cli",
                "tutopanda.viewer",
                "tutopanda.workflow",
                "tutopanda.mcp_server",
            ),
        ),
        ("viewer", ("tutopanda.settings", "tutopanda.cli", "tutopanda.workflow", "tutopanda.mcp_server")),
        ("workflow", ("tutopanda.cli", "tutopanda.providers", "tutopanda.viewer", "tutopanda.mcp_server")),
        # the MCP server drives the engine and the providers, like the CLI, but never the CLI itself
        ("mcp_server", ("tutopanda.cli", "tutopanda.viewer", "tutopanda.workflow")),
    ],
)
def test_layers_do_not_import_upwards(layer: str, forbidden: tuple[str, ...]) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for name in _imports(path)
        if name.startswith(forbidden)
    ]
    assert offenders == []


def test_the_viewer_builds_only_through_the_provider_wiring() -> None:
    """The viewer's edits need handlers and the pre-recording checks, the same ones the CLI and the MCP
    server use: it may import ``providers.wiring`` (that front-end API), never a handler or registry."""
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted((PACKAGE / "viewer").rglob("*.py"))
        for name in _imports(path)
        if name.startswith("tutopanda.providers") and name != "tutopanda.providers.wiring"
    ]
    assert offenders == []


CORE_FLOORS = {"": 0, "store": 1, "blueprint": 1, "movie": 2, "engine": 3, "upkeep": 4}
"""Each room of ``core`` and its floor. A module imports only from its own room or a lower floor (the
root's few modules — errors, limits, clock, logger — are the ground): the store and the blueprint know
nothing of movies, a movie nothing of planning or running, and only upkeep (verify, gc) sees everything."""


def _core_room(module: str) -> str:
    parts = module.split(".")[2:]  # after "tutopanda.core"
    return parts[0] if parts and (PACKAGE / "core" / parts[0]).is_dir() else ""


def test_core_has_the_rooms_the_floors_name() -> None:
    rooms = {p.name for p in (PACKAGE / "core").iterdir() if (p / "__init__.py").is_file()}
    assert rooms == set(CORE_FLOORS) - {""}
    assert len(rooms) <= 6 and max(CORE_FLOORS.values()) < 6


def test_core_rooms_import_only_downwards() -> None:
    """Type-only imports count too: an upward arrow for a hint is still an upward arrow."""
    offenders = []
    for path in sorted((PACKAGE / "core").rglob("*.py")):
        room = _core_room(_module_name(path))
        for name in _imports(path):
            if not name.startswith("tutopanda.core."):
                continue
            target = _core_room(name)
            if target != room and CORE_FLOORS[target] >= CORE_FLOORS[room]:
                offenders.append(f"{path.relative_to(PACKAGE)} ({room or 'core'}) imports {name}")
    assert offenders == []


def test_no_grab_bag_modules() -> None:
    grab_bags = [p for p in PACKAGE.rglob("*.py") if p.stem in {"utils", "helpers", "misc", "common"}]
    assert grab_bags == []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules ``path`` imports when it runs (at the top or inside a function; names
    under ``if TYPE_CHECKING:`` are for the type checker only and never imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        for child in ast.walk(statement)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            # ``from package import module`` imports that module; ``from module import name``, the module
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def test_no_import_cycles_between_modules() -> None:
    """A circle of imports makes the import order decide what works; every arrow must point one way."""
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {name: _runtime_imports(path, set(paths)) - {name} for name, path in paths.items()}
    cycles: list[list[str]] = []
    for start in sorted(graph):  # a module that reaches itself again is on a cycle
        stack, seen = [(start, [start])], set()
        while stack:
            name, trail = stack.pop()
            for target in sorted(graph[name]):
                if target == start:
                    cycles.append(trail)
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*trail, target]))
            if cycles and cycles[-1][0] == start:
                break
    assert [" -> ".join(cycle) for cycle in cycles] == []
