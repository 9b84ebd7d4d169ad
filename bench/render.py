"""The offline movie: full ``query`` time, one-segment edit rebuild, and MoviePy side by side.

Scenario (2-core machine): a 6-segment, ~60 s, 720p movie from ``--script`` (our own narration, so no
draft script), built with the local providers (speech, slides, music, per-segment clips, join).

- ``query_wall``: the whole ``tutopanda query --script`` process (target <= 30 s, 2x faster than real time).
- ``render_wall``: the part of it spent rendering: from the first clip job's call to the end of the
  export (clips render concurrently), from the run record.
- ``edit_rebuild_wall``: after replacing one segment's narration, the whole ``build run`` process (speech,
  that segment's clip, timeline, join); target <= 25 % of the full render.
- ``moviepy_wall``: MoviePy (the ``bench`` extra) rendering the same stills, narration and music at the
  same resolution, codec, preset and frame rate with the canonical recipe; target: ours >= 3x faster.

Prints ``name: value unit`` lines. Run: ``.venv/bin/python bench/render.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SEGMENTS = [
    "Deep below our feet, rock gets so hot that it melts. This melted rock is called magma, "
    "and it is lighter than the solid rock around it.",
    "Because it is lighter, magma slowly rises. It gathers in a chamber a few kilometres under the "
    "volcano, where gas and pressure build up over many years.",
    "Gas dissolved in the magma behaves like the bubbles in a shaken bottle of soda. When the pressure "
    "drops, the bubbles grow very fast.",
    "When the pressure becomes too strong for the rock above, the magma breaks through the crust. "
    "That moment is an eruption.",
    "Some eruptions are gentle rivers of lava. Others are violent explosions of ash and rock, "
    "depending on how thick the magma is and how much gas it holds.",
    "Scientists watch volcanoes with sensors that feel small earthquakes and measure gas, so that "
    "people living nearby can be warned in time.",
]


def _tutopanda() -> list[str]:
    script = Path(sys.executable).with_name("tutopanda")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tutopanda"]


def _run(args: list[str], root: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [*_tutopanda(), "--root", str(root), *args], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"tutopanda {' '.join(args)} failed:\n{done.stderr}")
    return wall, done.stdout


def _render_seconds(root: Path, revision: str) -> float:
    """Wall time of the render: first clip call starting to the export call ending (from the run record)."""
    path = root / "builds" / "bench" / "runs" / f"{revision}-run.json"
    record: dict[str, Any] = json.loads(path.read_text())
    jobs = [
        job for job in record["jobs"]
        if job["kind"] in ("clip", "timeline", "export") and job["startSeconds"] is not None
    ]  # fmt: skip
    return float(max(job["endSeconds"] for job in jobs) - min(job["startSeconds"] for job in jobs))


def _moviepy(root: Path, work: Path) -> float | None:
    """Time the canonical MoviePy recipe on our own stills, narration and music; None if not installed."""
    try:
        from moviepy import (
            AudioFileClip,
            CompositeAudioClip,
            CompositeVideoClip,
            ImageClip,
            afx,
            concatenate_audioclips,
            concatenate_videoclips,
            vfx,
        )
    except ImportError:
        return None
    manifest_path = root / "builds" / "bench" / "current.json"
    pointer = json.loads(manifest_path.read_text())
    manifest = json.loads((root / "builds" / "bench" / pointer["manifestPath"]).read_text())
    blobs = root / "builds" / "bench" / "blobs"

    def blob(artefact_id: str) -> str:
        entry = manifest["artefacts"][artefact_id]
        found = next((blobs / entry["hash"][:2]).glob(entry["hash"] + ".*"))
        return str(found)

    narrations = [AudioFileClip(blob(f"Artifact:Narration.SegmentAudio[{i}]")) for i in range(len(SEGMENTS))]
    slides = [
        CompositeVideoClip(
            [
                ImageClip(blob(f"Artifact:Images.SegmentImage[{i}][0]"), duration=narration.duration)
                .with_effects([vfx.Resize(lambda t, d=narration.duration: 1 + 0.08 * t / d)])
                .with_position("center")
            ],
            size=(1280, 720),
        )
        for i, narration in enumerate(narrations)
    ]
    video = concatenate_videoclips(slides)
    music = AudioFileClip(blob("Artifact:Music.Music")).with_effects(
        [afx.AudioLoop(duration=video.duration), afx.MultiplyVolume(0.3)]
    )
    video = video.with_audio(CompositeAudioClip([concatenate_audioclips(narrations), music]))
    start = time.perf_counter()
    video.write_videofile(
        str(work / "moviepy.mp4"),
        fps=30,
        codec="libx264",
        preset="veryfast",
        audio_codec="aac",
        threads=2,
        ffmpeg_params=["-crf", "23", "-pix_fmt", "yuv420p"],
        logger=None,
    )
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tutopanda-render-") as temp:
        work = Path(temp)
        root = work / "store"
        script = work / "volcanoes.md"
        sections = "\n\n".join(f"## Part {i + 1}\n\n{text}" for i, text in enumerate(SEGMENTS))
        script.write_text(f"# How volcanoes erupt\n\nWhy the ground opens.\n\n{sections}\n", encoding="utf-8")
        query_wall, _ = _run(
            [
                "query",
                "--script",
                str(script),
                "--movie",
                "bench",
                "--resolution",
                "720p",
                "--duration",
                "60",
                "--json",
            ],
            root,
        )
        render_full = _render_seconds(root, "rev-0001")

        edit = work / "edit.json"
        edit.write_text(
            json.dumps(
                {
                    "artefactId": "Artifact:Script.NarrationScript[2]",
                    "producedBy": "Producer:Script.ScriptWriter",
                    "payload": "Gas in magma acts like bubbles in a shaken bottle: they grow.",
                }
            )
        )
        _run(["events:append", "--movie", "bench", "--type", "artefact", "--file", str(edit)], root)
        rebuild_wall, _ = _run(["build", "run", "--movie", "bench", "--providers", "live", "--json"], root)
        render_edit = _render_seconds(root, "rev-0002")

        moviepy_wall = _moviepy(root, work)

    print(f"query_wall: {query_wall:.2f} s  (6 segments, ~60 s of 720p, from --script)")
    print(f"render_wall: {render_full:.2f} s  (first clip call to end of export)")
    print(f"edit_rebuild_wall: {rebuild_wall:.2f} s  (whole build run process)")
    print(f"edit_render_wall: {render_edit:.2f} s")
    print(f"edit_rebuild_vs_full_render: {100 * rebuild_wall / render_full:.0f} %")
    print(f"edit_render_vs_full_render: {100 * render_edit / render_full:.0f} %")
    if moviepy_wall is None:
        print("moviepy_wall: skipped (pip install -e '.[bench]')")
    else:
        print(f"moviepy_wall: {moviepy_wall:.2f} s")
        print(f"moviepy_vs_ours: {moviepy_wall / render_full:.1f} x")
    print(f"cpu_count: {os.cpu_count()}")


if __name__ == "__main__":
    main()
