"""A small JSON-path reader: ``$.segments[2]``, ``title``, ``scenes[0].prompt``.

Why our own: structured model output (an LLM answering with a JSON schema) is mapped to artefacts by
path — ``MovieTitle <- $.title``, ``NarrationScript[i] <- $.segments[i]`` — and a missing field must
fail *that artefact* with a message naming the path and what was there instead. Full JSONPath
(filters, wildcards, recursive descent) is not needed and would make those messages vaguer.

Grammar: an optional ``$`` then steps, each ``.name`` (or a leading ``name``), ``["name"]`` or ``[index]``
(a non-negative integer, or negative from the end).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["JsonPathError", "parse_json_path", "read_json_path"]

_STEP = re.compile(
    r"""\.?(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)   # .name or a leading name
      | \[(?P<index>-?\d+)\]                    # [3]
      | \[(?P<quote>["'])(?P<key>.*?)(?P=quote)\]  # ["key with spaces"]
    """,
    re.VERBOSE,
)


class JsonPathError(ValueError):
    """A path that does not parse, or that does not lead to a value in the document."""


def parse_json_path(path: str) -> tuple[str | int, ...]:
    """``$.a[0]["b c"]`` -> ``("a", 0, "b c")``; JsonPathError for anything else."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[str | int] = []
    position = 0
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None or match.end() == position or (match["name"] and position and text[position] != "."):
            raise JsonPathError(
                f"bad JSON path {path!r} at character {position + 1}: write e.g. $.segments[0]"
            )
        if match["name"] is not None:
            steps.append(match["name"])
        elif match["index"] is not None:
            steps.append(int(match["index"]))
        else:
            steps.append(match["key"])
        position = match.end()
    return tuple(steps)


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        keys = ", ".join(sorted(map(str, value))[:8])
        return f"an object with keys {keys or '(none)'}"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    return f"{type(value).__name__} {value!r}"[:80]


def read_json_path(document: Any, path: str) -> Any:
    """The value at ``path`` in ``document``; JsonPathError naming the first step that is missing."""
    value = document
    walked = "$"
    for step in parse_json_path(path):
        if isinstance(step, int):
            if not isinstance(value, Sequence) or isinstance(value, str):
                raise JsonPathError(f"{walked} is {_describe(value)}, not a list (path {path})")
            if not -len(value) <= step < len(value):
                raise JsonPathError(f"{walked} has {len(value)} items, no [{step}] (path {path})")
            value = value[step]
            walked += f"[{step}]"
        else:
            if not isinstance(value, Mapping):
                raise JsonPathError(f"{walked} is {_describe(value)}, not an object (path {path})")
            if step not in value:
                raise JsonPathError(f"{walked} has no field {step!r}; it is {_describe(value)} (path {path})")
            value = value[step]
            walked += f".{step}"
    return value
