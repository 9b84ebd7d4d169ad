"""JSON paths for mapping structured model output to artefacts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutopanda.providers.json_path import JsonPathError, parse_json_path, read_json_path

DOC = {"title": "Tides", "segments": ["one", "two"], "meta": {"a b": [{"x": 1}]}}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("$.title", "Tides"),
        ("title", "Tides"),
        ("$.segments[1]", "two"),
        ("segments[-1]", "two"),
        ('$.meta["a b"][0].x', 1),
        ("$", DOC),
    ],
)
def test_paths_lead_to_values(path: str, value: Any) -> None:
    assert read_json_path(DOC, path) == value


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("$.summary", "$ has no field 'summary'"),
        ("$.segments[2]", "$.segments has 2 items, no [2]"),
        ("$.title[0]", "$.title is str 'Tides', not a list"),
        ("$.segments.x", "$.segments is a list of 2, not an object"),
        ("$..title", "bad JSON path"),
        ("$.segments[", "bad JSON path"),
    ],
)
def test_a_missing_step_is_named(path: str, message: str) -> None:
    with pytest.raises(JsonPathError) as caught:
        read_json_path(DOC, path)
    assert message in str(caught.value)


keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
steps = st.lists(st.one_of(keys, st.integers(min_value=0, max_value=3)), max_size=5)


@given(steps, st.integers())
def test_any_built_path_reads_back_what_was_put_there(path: list[str | int], leaf: int) -> None:
    document: Any = leaf
    for step in reversed(path):
        document = {step: document} if isinstance(step, str) else [None] * step + [document]
    text = "$" + "".join(f".{step}" if isinstance(step, str) else f"[{step}]" for step in path)
    assert parse_json_path(text) == tuple(path)
    assert read_json_path(document, text) == leaf
