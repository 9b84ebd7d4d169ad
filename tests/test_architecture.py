"""Dependencies point one way: core <- providers / viewer / workflow <- cli.

core imports none of the others; providers, the viewer and the workflow import only core; only the
CLI wires them together.
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
        ("core", ("tutopanda.providers", "tutopanda.cli", "tutopanda.viewer", "tutopanda.workflow")),
        ("providers", ("tutopanda.cli", "tutopanda.viewer", "tutopanda.workflow")),
        ("viewer", ("tutopanda.cli", "tutopanda.providers", "tutopanda.workflow")),
        ("workflow", ("tutopanda.cli", "tutopanda.providers", "tutopanda.viewer")),
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


def test_no_grab_bag_modules() -> None:
    grab_bags = [p for p in PACKAGE.rglob("*.py") if p.stem in {"utils", "helpers", "misc", "common"}]
    assert grab_bags == []
