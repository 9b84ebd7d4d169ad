"""The error tree drawn in ``core/errors.py`` (and in docs/architecture.md) is the real one.

The drawing is what a contributor reads to decide which class to raise and which exit code a user will
see; it went stale once (a class missing, branches drawn under the wrong parent) because nothing checked
it. Here the tree is rendered from the live classes — the recursive ``__subclasses__()`` of
``TutopandaError`` once every module of every package (core, providers, viewer, workflow, mcp_server)
that defines one is imported — and both drawings must match it line for line (the hand-written
description column aside). ``.venv/bin/python tests/core/test_errors.py`` prints the rendered tree to
paste when a class is added or moved.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import tutopanda
from tutopanda.core import errors
from tutopanda.core.errors import TutopandaError, UsageError

ROOT = Path(__file__).resolve().parents[2]
ERRORS_MODULE = "tutopanda.core.errors"

# One drawn line: the structure (branch glyphs, name, exit code, defining module when not core.errors),
# then at least two spaces and a description.
LINE = re.compile(r"^(?P<struct>[│├└─ ]*\w+ \(\d\)(?: \[[\w.]+\])?)(?: {2,}(?P<desc>\S.*))?$")


CLASS = re.compile(r"^[ \t]*class (\w+)\(([^)]*)\)", re.M)
ALIAS = re.compile(r"\b(\w+) as (\w+)\b")


@functools.cache
def _modules_defining_errors() -> tuple[str, ...]:
    """Every tutopanda module with a class whose bases lead back to ``TutopandaError``, read from source.

    Why not import every module: the optional SDKs (mcp, openai, DBOS) take ~15 s to import on a busy
    machine, which this fast test would pay for nothing. Reading the source finds the same modules: a
    class counts when one of its bases (``Name``, ``module.Name`` or an ``import ... as`` alias) is an
    error class already found, repeated until nothing new turns up. (A regular expression, not ``ast``:
    parsing every module took ~13 s there too.) The slow test below checks the scan against a full
    import.
    """
    package = Path(tutopanda.__file__).parent
    classes: list[tuple[str, set[str], str]] = []  # (class name, base names, module)
    for path in sorted(package.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        module = ".".join(("tutopanda", *path.relative_to(package).with_suffix("").parts))
        aliases = {alias: name for name, alias in ALIAS.findall(source)}
        for name, bases in CLASS.findall(source):
            base_names = {base.strip().rsplit(".", 1)[-1] for base in bases.split(",") if "=" not in base}
            classes.append((name, {aliases.get(base, base) for base in base_names}, module))
    known, modules = {"TutopandaError"}, set[str]()
    while True:
        found = {(name, module) for name, bases, module in classes if bases & known and name not in known}
        if not found:
            return tuple(sorted(module.removesuffix(".__init__") for module in modules))
        known |= {name for name, _ in found}
        modules |= {module for _, module in found}


def _import_every_module() -> None:
    """Import every module that defines an error class, so that it is registered as a subclass."""
    for module in _modules_defining_errors():
        importlib.import_module(module)


def _order(cls: type) -> tuple[bool, str, int]:
    """Core's classes first in the order ``errors.py`` defines them, then other packages' by module."""
    names = list(vars(sys.modules[cls.__module__]))
    return (cls.__module__ != ERRORS_MODULE, cls.__module__, names.index(cls.__name__))


def _project_subclasses(cls: type[TutopandaError]) -> list[type[TutopandaError]]:
    """Direct subclasses defined in tutopanda itself (tests may subclass errors for their own fakes)."""
    found = [sub for sub in cls.__subclasses__() if sub.__module__.startswith("tutopanda.")]
    return sorted(found, key=_order)


def _label(cls: type[TutopandaError]) -> str:
    where = "" if cls.__module__ == ERRORS_MODULE else f" [{cls.__module__.removeprefix('tutopanda.')}]"
    return f"{cls.__name__} ({cls.exit_code}){where}"


def render_tree() -> list[str]:
    """The tree as ``errors.py`` should draw it, one line per class, without the descriptions."""
    _import_every_module()
    lines = [_label(TutopandaError)]

    def walk(cls: type[TutopandaError], prefix: str) -> None:
        children = _project_subclasses(cls)
        for index, child in enumerate(children):
            last = index == len(children) - 1
            lines.append(prefix + ("└── " if last else "├── ") + _label(child))
            walk(child, prefix + ("    " if last else "│   "))

    walk(TutopandaError, "")
    return lines


def _all_classes() -> list[type[TutopandaError]]:
    _import_every_module()
    pending, seen = [TutopandaError], []
    while pending:
        cls = pending.pop()
        seen.append(cls)
        pending.extend(_project_subclasses(cls))
    return seen


def _drawn_tree(text: str) -> list[re.Match[str]]:
    """The tree lines of a drawing: from the root's line to the first line that is not part of it."""
    lines = [line.strip("\n") for line in text.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("TutopandaError ("))
    indent = len(lines[start]) - len(lines[start].lstrip())
    drawn = []
    for line in lines[start:]:
        match = LINE.match(line[indent:])
        if not line.strip() or match is None:
            break
        drawn.append(match)
    return drawn


def _check_drawing(text: str, where: str) -> None:
    drawn = _drawn_tree(text)
    expected = render_tree()
    assert [m["struct"].rstrip() for m in drawn] == expected, (
        f"the error tree in {where} is not the real one; it should read (descriptions aside):\n"
        + "\n".join(expected)
    )
    undescribed = [m["struct"].strip("│├└─ ") for m in drawn if not m["desc"]]
    assert not undescribed, f"{where}: give each class a short description: {undescribed}"


def test_errors_docstring_draws_the_real_tree() -> None:
    assert errors.__doc__ is not None
    _check_drawing(errors.__doc__, "src/tutopanda/core/errors.py's docstring")


def test_architecture_doc_draws_the_same_tree() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Error handling") :]
    _check_drawing(section, "docs/architecture.md, 'Error handling'")


def test_exit_codes_follow_the_convention() -> None:
    """Usage and validation errors exit 2, every failure exits 1 — nothing else, nothing in between."""
    wrong = {
        f"{cls.__module__}.{cls.__name__}": cls.exit_code
        for cls in _all_classes()
        if cls.exit_code != (2 if issubclass(cls, UsageError) else 1)
    }
    assert not wrong, f"exit_code must be 2 under UsageError and 1 elsewhere: {wrong}"


def test_core_exports_every_core_error() -> None:
    """``from tutopanda.core.errors import *`` gives every class the tree draws for core."""
    core = {cls.__name__ for cls in _all_classes() if cls.__module__ == ERRORS_MODULE}
    assert core == set(errors.__all__)


def test_the_tree_draws_classes_outside_core() -> None:
    """The source scan really reaches the other packages (a scan that silently found nothing would pass)."""
    modules = {cls.__module__ for cls in _all_classes()}
    assert {"tutopanda.providers.model_store", "tutopanda.viewer.app"} <= modules


@pytest.mark.slow  # imports all of tutopanda, optional SDKs included: ~20 s on 2 busy cores
def test_the_source_scan_misses_no_error_class() -> None:
    """With every module imported (``__main__`` aside: it runs the CLI), no subclass appears that the
    cheap source scan behind the other tests did not find — an alias or a dynamic class would."""
    scanned = {f"{cls.__module__}.{cls.__name__}" for cls in _all_classes()}
    for info in pkgutil.walk_packages(tutopanda.__path__, "tutopanda."):
        if not info.name.endswith(".__main__"):
            importlib.import_module(info.name)
    assert {f"{cls.__module__}.{cls.__name__}" for cls in _all_classes()} == scanned


if __name__ == "__main__":
    print("\n".join(render_tree()))
