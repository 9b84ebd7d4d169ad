"""``tutopanda query`` end to end with the mock providers (fast); the real render has its own e2e test."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import CliRunner
from tutopanda.core.movie.publish import movie_file_stem
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.storage import StorageConfig, StorageContext


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
    assert bad.code == 2 and "--style: 'neon' is not a style" in bad.stderr
    assert cli("query", "--providers", "mock").code == 2


def test_movie_file_stem_is_safe() -> None:
    assert movie_file_stem("Fire: how volcanoes / erupt?", "x") == "Fire how volcanoes erupt"
    assert movie_file_stem("Éruptions — volcaniques", "x") == "Eruptions volcaniques"
    assert movie_file_stem("../../", "fallback") == "fallback"


def test_provider_flag_selects_a_variant_for_new_and_existing_movies(cli: CliRunner) -> None:
    created = cli(
        "query",
        "Q?",
        "--movie",
        "p",
        "--segments",
        "2",
        "--provider",
        "Narration=openai/gpt-4o-mini-tts",
        "--json",
    )
    assert created.code == 0, created.stderr
    built = cli("build", "plan", "--movie", "p", "--force", "Producer:Narration.Narrator[0]", "--json")
    job = json.loads(built.stdout)["layers"][1]["jobs"][0]
    assert (job["jobId"], job["provider"], job["model"]) == (
        "Producer:Narration.Narrator[0]",
        "openai",
        "gpt-4o-mini-tts",
    )
    switched = cli(
        "query", "--movie", "p", "--provider", "Narration=elevenlabs/eleven_multilingual_v2", "--json"
    )
    assert switched.code == 0, switched.stderr
    assert json.loads(switched.stdout)["calls"] > 0  # a new variant changes the narration jobs' traces
    again = cli("query", "--movie", "p", "--json")
    assert json.loads(again.stdout)["calls"] == 0
    unknown = cli("query", "--movie", "p", "--provider", "Narration=nobody/nothing")
    assert unknown.code == 2 and "Narration" in unknown.stderr
