"""The README's main job, for real: ``tutopanda query`` makes a watchable narrated MP4 offline.

Runs the installed console script with the live (local) providers — eSpeak/Piper speech, Pillow slides,
numpy music, the ffmpeg renderer — then checks what a viewer would notice: streams, length, sound,
subtitles, and that an edit of one segment re-runs only what it touches.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.build_helpers import tutopanda_command
from tutopanda.core.movie.timeline import TimelineDocument
from tutopanda.providers.render.ffmpeg import ffmpeg_exe, probe

# Every test reads one real offline render (~90 s on 2 busy cores); the edit test takes ~40 s more.
pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"


def _tutopanda(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TUTOPANDA_PROVIDERS": "live"}
    return subprocess.run(
        [*tutopanda_command(), "--root", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def _manifest(root: Path, movie: str) -> dict[str, Any]:
    folder = root / "builds" / movie
    pointer = json.loads((folder / "current.json").read_text())
    manifest: dict[str, Any] = json.loads((folder / pointer["manifestPath"]).read_text())
    return manifest


def _blob(root: Path, movie: str, entry: dict[str, Any]) -> bytes:
    shard = root / "builds" / movie / "blobs" / entry["hash"][:2]
    data: bytes = next(shard.glob(entry["hash"] + ".*")).read_bytes()
    return data


def _rms_of_audio(video: Path) -> float:
    raw = subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(video),
            "-map",
            "0:a",
            "-ac",
            "1",
            "-ar",
            "8000",
            "-f",
            "s16le",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    import numpy as np

    samples = np.frombuffer(raw, dtype="<i2").astype("float64") / 32768.0
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def _srt_starts(text: str) -> list[float]:
    starts = []
    for hours, minutes, seconds, millis in re.findall(r"(\d+):(\d{2}):(\d{2}),(\d{3}) -->", text):
        starts.append(int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000)
    return starts


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The README's query, run once for the whole module (it is the slow part)."""
    section = README.read_text().split("## Quick start", 1)[1]
    quick_start = re.findall(r"```bash\n(.*?)```", section, flags=re.S)[0].strip()
    args = re.findall(r'"[^"]*"|\S+', quick_start.split("tutopanda", 2)[-1])
    args = [arg.strip('"') for arg in args]
    assert args[0] == "query"
    root = tmp_path_factory.mktemp("movie-store")
    result = _tutopanda(
        *args, "--movie", "volcanoes", "--segments", "2", "--duration", "16", "--json", root=root
    )
    assert result.returncode == 0, result.stderr
    return {"root": root, "report": json.loads(result.stdout)}


def test_the_movie_has_h264_video_aac_audio_and_a_subtitle_track(built: dict[str, Any]) -> None:
    video = Path(built["report"]["video"])
    assert video.is_file() and video.suffix == ".mp4"
    assert video.parent == built["root"] / "movies" / "volcanoes"
    info = probe(video)
    assert [s.codec for s in info.of_type("video")] == ["h264"]
    assert [s.codec for s in info.of_type("audio")] == ["aac"]
    assert len(info.of_type("subtitle")) == 1
    assert (info.of_type("video")[0].width, info.of_type("video")[0].height) == (1280, 720)


def test_the_movie_lasts_as_long_as_its_narration_and_is_not_silent(built: dict[str, Any]) -> None:
    root, movie = built["root"], "volcanoes"
    manifest = _manifest(root, movie)
    narration_seconds = []
    for key, entry in sorted(manifest["artefacts"].items()):
        if key.startswith("Artifact:Narration.SegmentAudio"):
            with wave.open(io.BytesIO(_blob(root, movie, entry))) as clip:
                narration_seconds.append(clip.getnframes() / clip.getframerate())
    assert len(narration_seconds) == 2
    timeline = TimelineDocument.model_validate_json(
        _blob(root, movie, manifest["artefacts"]["Artifact:Timeline.Timeline"])
    )
    for segment, seconds in zip(timeline.segments, narration_seconds, strict=True):
        assert segment.narration_duration == pytest.approx(seconds, abs=0.05)
        padding = segment.duration - segment.narration_duration
        assert 0 <= padding <= 1.5  # the lead-in and tail around each segment's speech
    duration = probe(Path(built["report"]["video"])).duration
    assert duration is not None
    assert duration == pytest.approx(sum(s.duration for s in timeline.segments), abs=0.5)
    assert _rms_of_audio(Path(built["report"]["video"])) > 0.01


def test_subtitles_cover_every_segment(built: dict[str, Any]) -> None:
    root, movie = built["root"], "volcanoes"
    manifest = _manifest(root, movie)
    timeline = TimelineDocument.model_validate_json(
        _blob(root, movie, manifest["artefacts"]["Artifact:Timeline.Timeline"])
    )
    srt = next(Path(p) for p in built["report"]["subtitles"] if p.endswith(".srt")).read_text()
    vtt = next(Path(p) for p in built["report"]["subtitles"] if p.endswith(".vtt")).read_text()
    assert vtt.startswith("WEBVTT")
    starts = _srt_starts(srt)
    for segment in timeline.segments:
        assert any(segment.start <= start < segment.end for start in starts), segment.index


def test_editing_one_segment_re_renders_only_what_it_touches(built: dict[str, Any], tmp_path: Path) -> None:
    root = built["root"]
    edit = tmp_path / "edit.json"
    edit.write_text(
        json.dumps(
            {
                "artefactId": "Artifact:Script.NarrationScript[1]",
                "producedBy": "Producer:Script.ScriptWriter",
                "payload": "Magma rises because it is lighter than the rock around it.",
            }
        )
    )
    assert (
        _tutopanda(
            "events:append", "--movie", "volcanoes", "--type", "artefact", "--file", str(edit), root=root
        ).returncode
        == 0
    )
    result = _tutopanda("build", "run", "--movie", "volcanoes", "--json", root=root)
    assert result.returncode == 0, result.stderr
    revision = json.loads(result.stdout)["revision"]
    record = json.loads((root / "builds" / "volcanoes" / "runs" / f"{revision}-run.json").read_text())
    called = sorted(job["jobId"] for job in record["jobs"] if job["attempts"] > 0)
    assert "Producer:Narration.Narrator[1]" in called
    assert "Producer:Narration.Narrator[0]" not in called
    assert "Producer:Clips.SegmentRenderer[1]" in called
    assert "Producer:Clips.SegmentRenderer[0]" not in called
    assert not any(job.startswith("Producer:Images.Illustrator[0]") for job in called)
    assert "Producer:Script.ScriptWriter" not in called
    assert {"Producer:Timeline.TimelineComposer", "Producer:Export.VideoExporter"} <= set(called)
