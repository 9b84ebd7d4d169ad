"""The checks ``make_movie`` and ``apply_edit`` make before anything is recorded, each with its message
(and, where several things are wrong, which one is reported first)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tutopanda.core.errors import UsageError
from tutopanda.mcp_server.operations import MovieOperations


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> MovieOperations:
    """One mock movie of two segments, shared: every check below refuses before recording anything."""
    ops = MovieOperations(str(tmp_path_factory.mktemp("checks") / "store"), "mock")
    made = ops.make_movie(
        prompt="How do tides work?", movie="tides", blueprint="audio-only", options={"segments": 2}
    )
    assert made["status"] == "built"
    return ops


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give the question the movie answers"),
        ({"movie": "nowhere"}, "movie 'nowhere' does not exist yet"),
        (
            {"prompt": "Why?", "movie": "why", "options": {"colour": "red"}, "inputs": {"Nope": 1}},
            "unknown option 'colour'",
        ),
        ({"prompt": "Why?", "movie": "why", "options": {"style": None, "colour": None}}, "unknown option"),
    ],
)
def test_make_movie_checks(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    ops = MovieOperations(str(tmp_path / "store"), "mock")
    with pytest.raises(UsageError, match=message):
        ops.make_movie(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"narration": {"x": "a"}}, "segment 'x' is not a number"),
        ({"narration": {"0": "a"}}, "segment 0 is out of range"),
        ({"narration": {"5": "a"}}, "movie 'tides' has no NarrationScript at segment 5"),
        ({"texts": [{"key": "ImagePrompt"}]}, "each of texts needs a key and a text"),
        ({"texts": [{"segment": 1, "item": 0, "key": "NarrationScript", "text": "a"}]}, "item 0 is out"),
        ({"texts": [{"key": "NarrationScript", "text": "a"}]}, r"not a text of the movie \(no segment\)"),
        ({"texts": [{"segment": 1, "key": "MovieTitle", "text": "a"}]}, "'MovieTitle' is not a text of a"),
        ({"inputs": {"Nope": 1, "Style": "x"}}, r"unknown input\(s\) Nope"),
        ({"narration": {"1": " "}, "inputs": {"Nope": 1}}, "cannot be empty"),
    ],
)
def test_apply_edit_checks(built: MovieOperations, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        built.apply_edit("tides", **kwargs)


def test_inputs_equal_to_the_movies_change_nothing(built: MovieOperations) -> None:
    answer = built.apply_edit("tides", inputs={"NumOfSegments": 2})
    assert answer == {
        "movie": "tides",
        "status": "unchanged",
        "edits": [],
        "message": "nothing differs from the movie",
    }
