"""``tutopanda query`` end to end with the mock providers (fast); the real render has its own e2e test."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import CliRunner
from tutopanda.core.manifest_store import ManifestStore
from tutopanda.core.publish import movie_file_stem
from tutopanda.core.storage import StorageConfig, StorageContext


def test_query_creates_builds_and_publishes_a_movie(cli: CliRunner, root: Path) -> None:
    result = cli("query", "How do tides work?", "--providers", "mock", "--segments", "2", "--json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    movie = report["movie"]
    assert movie.startswith("how-do-tides-work-")
    video = Path(report["video"])
    assert video.is_file() and video.parent == root / "movies" / movie
    ctx = StorageContext.open(StorageConfig(root))
    manifest = ManifestStore(ctx, movie).load_current()
    assert video.read_bytes()[4:8] == b"ftyp"
    final = next(entry for key, entry in manifest.artefacts.items() if key.endswith("FinalVideo"))
    assert len(video.read_bytes()) == final.blob.size


def test_query_again_on_the_same_movie_is_a_no_op(cli: CliRunner) -> None:
    first = cli(
        "query", "Why is the sky blue?", "--movie", "sky", "--providers", "mock", "--segments", "2", "--json"
    )
    assert first.code == 0, first.stderr
    again = cli("query", "Why is the sky blue?", "--movie", "sky", "--providers", "mock", "--json")
    assert again.code == 0, again.stderr
    assert json.loads(again.stdout)["calls"] == 0
    assert json.loads(again.stdout)["revision"] is None


def test_query_rejects_flags_the_blueprint_lacks_and_bad_values(cli: CliRunner) -> None:
    no_style = cli("query", "Q?", "--blueprint", "audio-only", "--style", "anime", "--providers", "mock")
    assert no_style.code == 2
    assert "--style does not apply to blueprint audio-only" in no_style.stderr
    bad = cli("query", "Q?", "--style", "neon", "--providers", "mock")
    assert bad.code == 2 and "Style" in bad.stderr
    assert cli("query", "--providers", "mock").code == 2


def test_movie_file_stem_is_safe() -> None:
    assert movie_file_stem("Fire: how volcanoes / erupt?", "x") == "Fire how volcanoes erupt"
    assert movie_file_stem("Éruptions — volcaniques", "x") == "Eruptions volcaniques"
    assert movie_file_stem("../../", "fallback") == "fallback"
