"""The bundled blueprints without narration build through ``query``: under the mocks, and offline."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import CliRunner
from tutopanda.providers.render.ffmpeg import ffmpeg_exe, probe

# script, then per segment (2): image prompt, image, clip; music prompt, music, timeline, export
JOBS = {"image-only": 1 + 2 * 3 + 4, "music-only": 1 + 2 + 2 + 2, "video-only": 1 + 2 * 3 + 2}


@pytest.mark.parametrize("blueprint", sorted(JOBS))
def test_a_voiceless_movie_builds_under_the_mocks(cli: CliRunner, root: Path, blueprint: str) -> None:
    result = cli(
        "query", "How do tides work?", "--blueprint", blueprint, "--movie", "tides", "--segments", "2",
        "--providers", "mock", "--json",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    status = json.loads(cli("build", "status", "--movie", "tides", "--json").stdout)
    assert sum(p["jobs"] for p in status["producers"].values()) == JOBS[blueprint]
    assert not list((root / "builds" / "tides" / "prompts").glob("**/SegmentAudio*"))


def test_a_voiceless_flag_is_refused(cli: CliRunner) -> None:
    result = cli("query", "How do tides work?", "--blueprint", "music-only", "--voice", "en-us")
    assert result.code == 2
    assert "--voice" in result.stderr


@pytest.mark.slow
def test_music_only_builds_offline_at_the_target_loudness(cli: CliRunner, root: Path) -> None:
    result = cli(
        "query", "How do tides work?", "--blueprint", "music-only", "--movie", "tides", "--segments", "2",
        "--duration", "12", "--resolution", "480p", "--providers", "live",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    (movie,) = (root / "movies" / "tides").glob("*.mp4")
    info = probe(movie)
    assert info.duration == pytest.approx(12.0, abs=0.1)  # two 6 s cards: Duration, not a narration
    stderr = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(movie), "-map", "0:a",
         "-filter:a", "ebur128", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    integrated = float(stderr[stderr.rindex("Summary:") :].split("I:", 1)[1].split()[0])
    assert integrated == pytest.approx(-16.0, abs=0.6)
