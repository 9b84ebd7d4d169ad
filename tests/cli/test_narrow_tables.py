"""Listings stay readable in an 80-column terminal: ids are never cut, columns are left out instead.

The ``--json`` form of each listing keeps every field whatever the width.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.conftest import CliRunner
from tutopanda.cli import output

ROOT = Path(__file__).resolve().parents[2]
WIDTH = 80


@pytest.fixture(autouse=True)
def _narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    monkeypatch.setattr(output, "_consoles", {})  # a console made by an earlier test keeps its width


def _assert_fits(text: str) -> None:
    """Every table line fits (a sentence above a table may wrap as the terminal wraps it)."""
    for line in text.splitlines():
        if line[:1] in ("┏", "┃", "┡", "│", "└"):
            assert len(line) <= WIDTH, line


def test_listings_fit_80_columns_without_cutting_ids(cli: CliRunner) -> None:
    script = str(ROOT / "examples" / "volcanoes.md")
    made = cli(
        "query",
        "--script",
        script,
        "--movie",
        "how-do-volcanoes-erupt-3f9a1c",
        "--providers",
        "mock",
        "--yes",
    )
    assert made.code == 0, made.stderr
    movie = ("--movie", "how-do-volcanoes-erupt-3f9a1c")

    listing = cli("movies", "list")
    _assert_fits(listing.stdout)
    assert "how-do-volcanoes-erupt-3f9a1c" in listing.stdout  # whole, on one line

    shown = cli("manifest", "show", *movie)
    _assert_fits(shown.stdout)
    for artefact in ("Artifact:ImagePrompts.ImagePrompt[0][0]", "Artifact:Clips.SegmentClip[2]"):
        assert artefact in shown.stdout
    assert "not shown at this width: type, produced by (see --json)" in shown.stdout
    full = json.loads(cli("manifest", "show", *movie, "--json").stdout)
    assert all(entry["producedBy"] for entry in full["artefacts"].values())

    providers = cli("providers", "list")
    _assert_fits(providers.stdout)
    for model in ("replicate/black-forest-labs/flux-schnell", "elevenlabs/eleven_multilingual_v2"):
        assert model in providers.stdout
    rows = json.loads(cli("providers", "list", "--json").stdout)["providers"]
    assert {"producer", "environment", "mode", "handler", "price"} <= set(rows[0])

    for argv in (
        ("models", "list"),
        ("blueprints", "list"),
        ("build", "status", *movie),
        ("verify", "--all"),
    ):
        result = cli(*argv)
        assert result.code == 0, (argv, result.stderr)
        _assert_fits(result.stdout)
        assert not re.search(r"Produc\s*│?\s*\n", result.stdout)
