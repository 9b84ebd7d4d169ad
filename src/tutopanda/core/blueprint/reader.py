"""Field access on located YAML mappings, raising :class:`BlueprintError` at the right file and line.

Why: every field of a blueprint or module file is read through these few methods, so each one refuses
the wrong shape the same way (message naming the field, the key's line, a hint), and unknown keys are
always reported with a "did you mean" instead of being ignored.
"""

from __future__ import annotations

import math
import re
from typing import Any

from tutopanda.core.blueprint.located_yaml import LocatedDict, LocatedList, line_of
from tutopanda.core.blueprint.suggest import did_you_mean
from tutopanda.core.errors import BlueprintError

__all__ = ["NAME_PATTERN", "Reader", "number", "shown"]

NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
"""Names of inputs, loops, modules, producers and artefacts: they appear inside canonical ids."""


class Reader:
    """Field access on located mappings of one file, raising located BlueprintErrors."""

    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, message: str, hint: str, line: int | None) -> BlueprintError:
        """A BlueprintError in this file."""
        return BlueprintError(message, hint, file=self.file, line=line)

    def mapping(self, value: Any, what: str, line: int | None) -> LocatedDict:
        """``value`` if it is a mapping, else an error saying ``what`` should be a mapping."""
        if not isinstance(value, LocatedDict):
            raise self.error(
                f"{what} must be a mapping, got {shown(value)}", "write `key: value` lines", line
            )
        return value

    def sequence(self, value: Any, what: str, line: int | None) -> LocatedList:
        """``value`` if it is a list (None counts as empty), else an error."""
        if value is None:
            return LocatedList(line)
        if not isinstance(value, LocatedList):
            raise self.error(
                f"{what} must be a list, got {shown(value)}", "write one `- ...` item per entry", line
            )
        return value

    def keys(self, data: LocatedDict, allowed: set[str], what: str) -> None:
        """Refuse keys not in ``allowed``: a misspelt key must not be dropped silently."""
        for key in data:
            if key not in allowed:
                raise self.error(
                    f"unknown key {key!r} in {what}", did_you_mean(key, allowed, "keys"), line_of(data, key)
                )

    def text(
        self, data: LocatedDict, key: str, what: str, *, required: bool = False, default: str = ""
    ) -> str:
        """A text field (numbers are accepted and written as text, booleans are not)."""
        if key not in data or data[key] is None:
            if required:
                raise self.error(f"{what} needs a {key!r}", f"add `{key}: ...`", data.line)
            return default
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(
                f"{what}: {key} must be text, got {shown(value)}",
                f'quote it: {key}: "..."',
                line_of(data, key),
            )
        return str(value)

    def name(self, data: LocatedDict, key: str, what: str) -> str:
        """A required name usable inside canonical ids."""
        value = self.text(data, key, what, required=True)
        if not NAME_PATTERN.fullmatch(value):
            raise self.error(
                f"{what}: {key} {value!r} is not a valid name",
                "use letters, digits and _ only, starting with a letter (e.g. NumOfSegments)",
                line_of(data, key),
            )
        return value

    def flag(self, data: LocatedDict, key: str, what: str, default: bool) -> bool:
        """A boolean field."""
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.error(
                f"{what}: {key} must be true or false, got {shown(value)}",
                f"write {key}: true",
                line_of(data, key),
            )
        return value


def shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def number(reader: Reader, data: LocatedDict, key: str, what: str) -> int | float | None:
    """A finite number field (booleans refused), or None when absent."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise reader.error(
            f"{what}: {key} must be a number, got {shown(value)}", f"write {key}: 1", line_of(data, key)
        )
    return value
