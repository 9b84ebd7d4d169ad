"""Hypothesis strategies for plausible garbage: JSON-like values, and mutations of real documents.

Random bytes mostly die at the first parser; the bugs live one step further, in documents that parse
but are *almost* right. So besides random values and text, these strategies take a real document
(a bundled blueprint, an exported ``movie.toml``) and change one to three things in it: drop a key,
put a value of another type somewhere, duplicate a list item, rename a key, or edit the raw text.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

# Values that mean something to Tutopanda's parsers: names, references, paths, edge numbers.
INTERESTING_TEXT = [
    "",
    " ",
    "NumOfSegments",
    "segment",
    "image",
    "Script",
    "Script.NarrationScript",
    "Script.NarrationScript[segment]",
    "Script.NarrationScript[segment][image]",
    "Images.SegmentImage[0][0]",
    "Artifact:Script.MovieTitle",
    "Producer:Script.ScriptWriter",
    "Input:NumOfSegments",
    "narration",
    "modules/nope.yaml",
    "../../../etc/passwd",
    "/etc/passwd",
    "{{Nope}}",
    "{{Text}}",
    "local/espeak-ng",
    "openai/gpt-5-mini",
    "nope/nope",
    "16:9",
    "rev-0000",
    "rev-9999",
    "9" * 5000,
    "1e999",
    "NaN",
    "-1",
    "0",
    "true",
    "\x00",
    "é" * 3,
    "[",
    "{",
    "!!python/object/apply:os.system",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from([0, -1, 1, 10_000, 10**30, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(INTERESTING_TEXT),
)

json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=8), st.sampled_from(INTERESTING_TEXT)), children, max_size=4
        ),
    ),
    max_leaves=8,
)
"""Any JSON-like value (with NaN and infinities, which JSON itself refuses but YAML and TOML have)."""

toml_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from([s for s in INTERESTING_TEXT if "\x00" not in s]),
    st.datetimes(),
    st.dates(),
    st.times(),
)

toml_values = st.recursive(
    toml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=3),
    ),
    max_leaves=6,
)
"""Values TOML can write (no null; integers within 64 bits; dates and times, which JSON has not)."""


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for step in path[:-1]:
        node = node[step]
    return node


@st.composite
def mutated(draw: st.DrawFn, document: Any, values: st.SearchStrategy[Any] = json_values) -> Any:
    """A deep copy of ``document`` with one to three structural changes."""
    result = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [path for path in _paths(result) if path]
        if not paths:
            return draw(values)
        path = draw(st.sampled_from(paths))
        parent = _parent(result, path)
        key = path[-1]
        operation = draw(st.sampled_from(["delete", "replace", "replace", "wrap", "duplicate", "rename"]))
        if operation == "delete":
            del parent[key]
        elif operation == "replace":
            parent[key] = draw(values)
        elif operation == "wrap":
            parent[key] = [parent[key]] if draw(st.booleans()) else {"x": parent[key]}
        elif operation == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif operation == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(INTERESTING_TEXT[1:10]) | st.text(min_size=1, max_size=8))] = (
                parent.pop(key)
            )
        else:
            parent[key] = draw(values)
    return result


@st.composite
def text_edits(draw: st.DrawFn, text: str) -> str:
    """``text`` with one to four raw edits: characters inserted or deleted, a line duplicated or dropped."""
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        lines = text.splitlines(keepends=True)
        operation = draw(st.sampled_from(["insert", "delete", "duplicate-line", "drop-line", "indent"]))
        if operation in ("duplicate-line", "drop-line", "indent") and lines:
            index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
            if operation == "duplicate-line":
                lines.insert(index, lines[index])
            elif operation == "drop-line":
                del lines[index]
            else:
                lines[index] = draw(st.sampled_from([" ", "  ", "\t", "- "])) + lines[index]
            text = "".join(lines)
            continue
        position = draw(st.integers(min_value=0, max_value=len(text)))
        if operation == "insert":
            piece = draw(
                st.sampled_from(
                    [
                        ":",
                        "-",
                        "[",
                        "]",
                        "{",
                        "}",
                        "&a ",
                        "*a",
                        "!!int ",
                        "'",
                        '"',
                        "#",
                        "\n",
                        "= ",
                        "nan",
                        "1979-05-27",
                        "\\u0000",
                        "9" * 5000,
                    ]
                )
                | st.text(max_size=4)
            )
            text = text[:position] + piece + text[position:]
        else:
            text = text[:position] + text[position + draw(st.integers(min_value=1, max_value=20)) :]
    return text
