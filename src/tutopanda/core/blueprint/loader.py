"""Finding and loading blueprints: bundled names, file paths, module files and prompt files.

Why here: name resolution (``image-audio`` vs ``./my.yaml``), reading files and turning I/O or YAML
problems into located :class:`BlueprintError`\\ s are the only parts of the subsystem that touch the file
system. Bundled blueprints are package data under :mod:`tutopanda.blueprints`, found with
:mod:`importlib.resources` (the wheel installs them as ordinary files).

A module's ``use:`` is either a bundled module name (``narration`` -> ``modules/narration.yaml`` in the
package) or a path ending in ``.yaml``/``.yml``, relative to the blueprint file. A variant's
``promptFile`` is relative to the file that declares it.

Module and prompt files must lie inside the blueprint's folder (its subfolders included), after
resolving symbolic links; the bundled modules' prompt files inside the bundled folder. A blueprint is a
file people share: one naming ``../../.ssh/id_rsa`` as a prompt would otherwise send that file to a
provider.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tutopanda.core.blueprint.located_yaml import LocatedDict, YamlLocationError, line_of, load_located_yaml
from tutopanda.core.blueprint.model import Blueprint, ModuleSpec, ProducerDef, Wire
from tutopanda.core.blueprint.parse import (
    parse_input,
    parse_loop,
    parse_meta,
    parse_producer,
    parse_source,
)
from tutopanda.core.blueprint.reader import Reader
from tutopanda.core.blueprint.suggest import SHORT_LIST, did_you_mean, listing
from tutopanda.core.blueprint.validate import check
from tutopanda.core.errors import BlueprintError, TutopandaError
from tutopanda.core.limits import MAX_BLUEPRINT_FILE_BYTES, check_file_size

__all__ = [
    "BlueprintSummary",
    "bundled_blueprint_names",
    "bundled_module_names",
    "bundled_root",
    "list_bundled_blueprints",
    "list_user_blueprints",
    "load_blueprint",
    "resolve_blueprint_path",
]

MAX_FILE_BYTES = MAX_BLUEPRINT_FILE_BYTES
"""Blueprint, module and prompt files larger than this are refused (they are hand-written text)."""


def bundled_root() -> Path:
    """The directory holding the bundled blueprints (``tutopanda/blueprints``)."""
    root = importlib.resources.files("tutopanda.blueprints")
    if not isinstance(root, Path):  # pragma: no cover - only zip imports, which we do not support
        raise BlueprintError("bundled blueprints are not on the file system", "install tutopanda unzipped")
    return root


def bundled_blueprint_names() -> list[str]:
    """Names of the bundled blueprints, sorted (``audio-only``, ``image-audio``, ...)."""
    return sorted(path.stem for path in bundled_root().glob("*.yaml"))


def bundled_module_names() -> list[str]:
    """Names usable in ``use:`` without a path (``narration``, ``image``, ...)."""
    return sorted(path.stem for path in (bundled_root() / "modules").glob("*.yaml"))


def _read_text(path: Path, *, what: str, file: str | None = None, line: int | None = None) -> str:
    def refuse(message: str, hint: str) -> BlueprintError:
        return BlueprintError(message, hint, file=file, line=line)

    try:
        if path.exists() and not path.is_file():  # a folder, a FIFO or a device would block or fail
            raise refuse(f"{what} {path} is not a regular file", "name a YAML or text file")
        check_file_size(f"{what} {path}", path.stat().st_size, limit=MAX_FILE_BYTES, error=refuse)
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BlueprintError(
            f"{what} {path} does not exist",
            "check the path (it is relative to the file that names it)",
            file=file,
            line=line,
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BlueprintError(
            f"cannot read {what} {path}: {exc}", "check the file is readable UTF-8 text", file=file, line=line
        ) from None


def _inside(path: Path, root: Path, *, what: str, named: str, reader: Reader, line: int | None) -> Path:
    """``path`` if it resolves (symbolic links followed) to a file inside ``root``, else a located error."""
    try:
        resolved = path.resolve()
        link = path.is_symlink()
    except OSError as exc:
        raise reader.error(f"{what} {named!r}: {exc.strerror or exc}", "check the path", line) from None
    if not resolved.is_relative_to(root):
        raise reader.error(
            f"{what} {named!r} is outside the blueprint's folder {root}"
            + (f" (it leads to {resolved})" if link else ""),
            "keep module and prompt files inside the blueprint's folder or below it "
            "(copy the file there; symbolic links may not point out of it)",
            line,
        )
    return path


def _parse_yaml(path: Path, text: str) -> Any:
    try:
        return load_located_yaml(text)
    except YamlLocationError as exc:
        raise BlueprintError(exc.message, exc.hint, file=str(path), line=exc.line) from None


def resolve_blueprint_path(name_or_path: str) -> Path:
    """A bundled name (``image-audio``) or a path to a YAML file -> the file to load."""
    candidate = Path(name_or_path)
    looks_like_path = candidate.suffix in {".yaml", ".yml"} or "/" in name_or_path or "\\" in name_or_path
    try:
        is_file = candidate.is_file()
    except OSError as exc:  # a name too long for the file system, a path through a file, ...
        raise BlueprintError(
            f"blueprint {name_or_path[:80]!r} cannot be a file: {exc.strerror or exc}",
            f"give a bundled name ({listing(bundled_blueprint_names())}) or the path of a YAML file",
        ) from None
    if looks_like_path or is_file:
        if not is_file:
            raise BlueprintError(
                f"blueprint file {name_or_path} does not exist",
                f"check the path, or use a bundled blueprint: {listing(bundled_blueprint_names())}",
            )
        return candidate
    names = bundled_blueprint_names()
    if name_or_path not in names:
        raise BlueprintError(
            f"unknown blueprint {name_or_path!r}",
            did_you_mean(name_or_path, names, "bundled blueprints")
            + ("" if len(names) <= SHORT_LIST else f" (bundled: {listing(names)})"),
        )
    return bundled_root() / f"{name_or_path}.yaml"


class _Loader:
    """One blueprint load: caches module files so a module used twice is read once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.root = path.parent.resolve()
        """Module and prompt files of this blueprint must resolve to a path inside this folder."""
        self.reader = Reader(str(path))
        self.producers: dict[Path, ProducerDef] = {}

    def prompt_reader(self, base: Path, reader: Reader, root: Path) -> Callable[[str, int | None], str]:
        """Reads a ``promptFile`` relative to ``base`` (inside ``root``); errors point at the naming line."""

        def read(relative: str, line: int | None) -> str:
            path = _inside(
                base / relative, root, what="prompt file", named=relative, reader=reader, line=line
            )
            return _read_text(path, what="prompt file", file=reader.file, line=line)

        return read

    def producer_file(self, uses: str, line: int | None) -> ProducerDef:
        if uses.endswith((".yaml", ".yml")):
            root = self.root
            path = _inside(
                self.path.parent / uses, root, what="module file", named=uses, reader=self.reader, line=line
            )
        else:
            modules = bundled_module_names()
            if uses not in modules:
                raise self.reader.error(
                    f"unknown bundled module {uses!r}",
                    f"{did_you_mean(uses, modules, 'modules')}; or give a path ending in .yaml",
                    line,
                )
            root = bundled_root().resolve()
            path = bundled_root() / "modules" / f"{uses}.yaml"
        key = path.resolve()
        if key not in self.producers:
            data = _parse_yaml(path, _read_text(path, what="module file", file=self.reader.file, line=line))
            reader = Reader(str(path))
            self.producers[key] = parse_producer(
                reader, data, 1, self.prompt_reader(path.parent, reader, root)
            )
        return self.producers[key]

    def module(self, data: Any, line: int | None) -> ModuleSpec:
        reader = self.reader
        data = reader.mapping(data, "a module", line)
        name = reader.name(data, "name", "a module")
        what = f"module {name}"
        reader.keys(data, {"name", "use", "define", "loop", "inputs"}, what)
        if ("use" in data) == ("define" in data):
            raise reader.error(
                f"{what} needs exactly one of use: or define:",
                "write use: narration (a bundled module), use: modules/x.yaml, or define: {...}",
                data.line,
            )
        uses: str | None = None
        if "use" in data:
            uses = reader.text(data, "use", what, required=True)
            producer = self.producer_file(uses, line_of(data, "use"))
        else:
            producer = parse_producer(
                reader,
                data["define"],
                line_of(data, "define"),
                self.prompt_reader(self.path.parent, reader, self.root),
            )
        loop = reader.name(data, "loop", what) if data.get("loop") is not None else None
        raw_wires = data.get("inputs")
        wires: dict[str, Wire] = {}
        if raw_wires is not None:
            raw_wires = reader.mapping(raw_wires, f"{what}: inputs", line_of(data, "inputs"))
            for target, raw in raw_wires.items():
                wires[target] = parse_source(reader, target, raw, line_of(raw_wires, target))
        return ModuleSpec(
            name=name,
            producer=producer,
            wires=MappingProxyType(wires),
            loop=loop,
            uses=uses,
            file=reader.file,
            line=data.line,
        )

    def load(self) -> Blueprint:
        reader = self.reader
        data = _parse_yaml(self.path, _read_text(self.path, what="blueprint file"))
        if not isinstance(data, LocatedDict):
            raise reader.error(
                "a blueprint must be a mapping with meta:, inputs:, loops: and modules:",
                "start the file with `meta:`",
                getattr(data, "line", 1),
            )
        reader.keys(data, {"meta", "inputs", "loops", "modules"}, "the blueprint")
        if "meta" not in data:
            raise reader.error(
                "the blueprint has no meta: section", "add meta: {id: my-blueprint, name: ...}", 1
            )
        meta = parse_meta(reader, data["meta"], line_of(data, "meta"))
        raw_inputs = reader.sequence(data.get("inputs"), "inputs", line_of(data, "inputs"))
        inputs = tuple(
            parse_input(reader, item, line_of(raw_inputs, i), producer=False)
            for i, item in enumerate(raw_inputs)
        )
        raw_loops = reader.sequence(data.get("loops"), "loops", line_of(data, "loops"))
        loops = tuple(parse_loop(reader, item, line_of(raw_loops, i)) for i, item in enumerate(raw_loops))
        raw_modules = reader.sequence(data.get("modules"), "modules", line_of(data, "modules"))
        modules = tuple(self.module(item, line_of(raw_modules, i)) for i, item in enumerate(raw_modules))
        return check(Blueprint(meta=meta, inputs=inputs, loops=loops, modules=modules, file=str(self.path)))


def load_blueprint(name_or_path: str) -> Blueprint:
    """Load and validate a bundled blueprint by name, or a blueprint file by path."""
    return _Loader(resolve_blueprint_path(name_or_path)).load()


@dataclass(frozen=True)
class BlueprintSummary:
    """One line of ``tutopanda blueprints list``."""

    name: str
    description: str
    path: str
    input_count: int
    producer_count: int
    source: str = "bundled"
    """``bundled`` (package data) or ``user`` (a file under the storage root's ``blueprints/``)."""
    error: str | None = None
    """Why a user blueprint does not load (the counts are then 0); bundled ones always load."""


def list_bundled_blueprints() -> list[BlueprintSummary]:
    """Every bundled blueprint, sorted by name, with counts (loads and validates each one)."""
    summaries = []
    for name in bundled_blueprint_names():
        blueprint = load_blueprint(name)
        summaries.append(
            BlueprintSummary(
                name,
                blueprint.meta.description,
                blueprint.file,
                len(blueprint.inputs),
                len(blueprint.modules),
            )
        )
    return summaries


def list_user_blueprints(folder: Path) -> list[BlueprintSummary]:
    """The blueprint files directly in ``folder`` (``*.yaml``/``*.yml``, sorted by file name).

    Why not only the valid ones: a user's own blueprint that stopped loading should show up in the
    listing with its problem, not vanish. Sub-folders (``modules/``) hold module files, not blueprints,
    and are not searched; links and non-regular files are skipped (the folder is user data).
    """
    try:
        entries = sorted(folder.iterdir()) if folder.is_dir() else []
    except OSError:
        return []
    summaries = []
    for path in entries:
        if path.suffix not in {".yaml", ".yml"} or path.is_symlink() or not path.is_file():
            continue
        try:
            blueprint = _Loader(path).load()
        except TutopandaError as exc:  # any load problem: a located blueprint error, a bad value, ...
            summaries.append(BlueprintSummary(path.stem, "", str(path), 0, 0, "user", exc.message))
            continue
        summaries.append(
            BlueprintSummary(
                blueprint.meta.id,
                blueprint.meta.description,
                str(path),
                len(blueprint.inputs),
                len(blueprint.modules),
                "user",
            )
        )
    return summaries
