"""Snapshot tests: the expanded graph of each bundled blueprint, as committed JSON.

A change to a bundled blueprint, a module file, a prompt or the expansion rules shows up here as a
readable diff. When the change is intended, regenerate with::

    TUTOPANDA_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/core/blueprint -q

and review the JSON diff in the commit.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest

from tutopanda.core.blueprint import expand, load_blueprint

SNAPSHOTS = Path(__file__).parent / "snapshots"

CASES = {
    "audio-only": {"NumOfSegments": "2"},
    "image-audio": {"NumOfSegments": "2", "NumOfImagesPerSegment": "2"},
    "video-audio-music": {"NumOfSegments": "2"},
    "image-only": {"NumOfSegments": "2", "NumOfImagesPerSegment": "2"},
    "music-only": {"NumOfSegments": "2"},
    "video-only": {"NumOfSegments": "2"},
}


def _render(name: str) -> str:
    graph = expand(load_blueprint(name), CASES[name])
    return json.dumps(graph.to_dict(), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", sorted(CASES))
def test_expanded_graph_matches_snapshot(name: str) -> None:
    path = SNAPSHOTS / f"{name}.json"
    actual = _render(name)
    if os.environ.get("TUTOPANDA_UPDATE_SNAPSHOTS") == "1":
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}; run with TUTOPANDA_UPDATE_SNAPSHOTS=1 to create it"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"snapshots/{path.name}",
                "expanded now",
                n=2,
            )
        )
        pytest.fail(
            f"the expanded graph of {name} changed (TUTOPANDA_UPDATE_SNAPSHOTS=1 to accept):\n{diff}",
            pytrace=False,
        )
