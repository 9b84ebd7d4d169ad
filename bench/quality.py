"""Is the offline movie worth watching? Intelligibility, loudness, safe margins and speed, before/after.

Why: issue 14 ("Done when") asks for figures, not opinions, about the movie a user gets with no API key.
For 3 fixed scripts (``bench/quality_scripts/*.md``: volcanoes, tides, photosynthesis; 6 segments,
~60 s each) and each offline voice (Piper, the default when the ``neural`` extra is installed, and
eSpeak NG, forced with ``--voice en-us``), this builds the movie through the real CLI
(``python -m tutopanda query --script ...``) in a fresh temporary storage root, with API keys removed
from the environment, and prints per build:

* ``engine`` — the speech engine the build record says was used (so a mislabelled voice shows);
* ``query_wall`` — the whole ``query`` process (target <= 30 s for 6 segments on a 2-core machine),
  ``query_cpu`` — the CPU seconds it and its children (ffmpeg, speech workers) used, which a busy shared
  machine inflates far less than the wall time (on 2 idle cores, wall >= cpu / 2), and
  ``time_per_movie_minute`` — that wall time divided by the movie's length in minutes;
* ``wer`` — word error rate of pocketsphinx (offline) on the finished movie's audio against the script
  (see ``quality_measures``: a comparative figure; the recogniser itself errs on clean speech);
* ``loudness_integrated`` / ``loudness_range`` / ``true_peak`` — ffmpeg ``ebur128=peak=true``
  (target -16 LUFS, true peak <= -1.5 dBTP);
* ``safe_margin`` — when the tree has the slide renderer's ``draw_overlay(...)``, its text/accent alpha
  masks for the title card and every segment at 16:9, 9:16, 1:1 and 4:3 (default style; all six with
  ``--all-styles``), counting pixels outside the 5 % safe area (target 0); otherwise ``unavailable``.
  Always ``margin_proxy_frames``: the share of real frames (2 per second) whose sharp text-like edges
  reach the outer 5 % band — a weaker proxy, kept so old trees without the API can be compared.

``--before [REV]`` (default ``e08a7a0``, the last commit before issue 14's work) also measures an older
commit, checked out with ``git worktree`` and run through this same venv with ``PYTHONPATH=<tree>/src``.
Builds alternate old/new per prompt and voice, so a shared, noisy machine affects both sides alike;
compare ratios within one run, not across runs. ``--quick``: one prompt, one voice.

Run: ``.venv/bin/python bench/quality.py [--quick] [--before [REV]] [--after REV]``. Each build costs
its query plus ~15 s of measuring (mostly pocketsphinx), so about 4-5 min on an idle 2-core machine and
twice that with ``--before``; with the load average at 15 (the shared machine this was written on) a
``--before`` run took 34 min. Never run by the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality_measures import (  # bench scripts run as files, not as a package
    Loudness,
    MarginProxy,
    Script,
    Transcriber,
    decode_audio,
    frame_margin_proxy,
    measure_loudness,
    normalise_words,
    parse_script,
    word_errors,
)

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SCRIPTS = BENCH / "quality_scripts"
PROMPTS = ("volcanoes", "tides", "photosynthesis")
VOICES = {"piper": "default", "espeak": "en-us"}
"""Voice label -> ``--voice`` value: ``default`` is Piper when installed; an eSpeak voice id forces eSpeak."""
DEFAULT_BEFORE = "e08a7a0"
SAFE_FRACTION = 0.05
STYLES = ("illustration", "photorealistic", "watercolor", "anime", "diagram", "cinematic")
ASPECTS = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (720, 720), "4:3": (960, 720)}
QUERY_TARGET = 30.0
BUILD_TIMEOUT = 600
DROP_ENV_PREFIXES = ("TUTOPANDA_", "OPENAI_", "REPLICATE_", "ELEVENLABS_", "FAL_")
"""Removed from the builds' environment: the figures are for the offline default, whatever the shell has."""


@dataclass(frozen=True)
class Tree:
    """A source tree to measure: a label for the tables and the ``src`` directory to import from."""

    label: str
    name: str
    src: Path


@dataclass
class Figures:
    """Everything measured for one prompt x voice x tree."""

    engine: str
    query_wall: float
    query_cpu: float
    movie_seconds: float
    resolution: str
    reference_words: int
    errors: int
    heard: list[str]
    loudness: Loudness
    proxy: MarginProxy
    masks: dict[str, Any] | None = field(default=None)

    @property
    def wer(self) -> float:
        return 100.0 * self.errors / self.reference_words

    @property
    def per_minute(self) -> float:
        return self.query_wall / (self.movie_seconds / 60.0)

    def mask_outside(self) -> int | None:
        if not self.masks or not self.masks.get("available"):
            return None
        return sum(sum(counts) for counts in self.masks["outside"].values())


def _log(message: str) -> None:
    print(f"[quality {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _environment(tree: Tree) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(DROP_ENV_PREFIXES)}
    env["PYTHONPATH"] = str(tree.src)
    env["COLUMNS"] = "120"
    return env


def _check_import(tree: Tree) -> None:
    """Make sure a process with this tree's PYTHONPATH really imports this tree's code."""
    done = subprocess.run(
        [sys.executable, "-c", "import tutopanda; print(tutopanda.__file__)"],
        env=_environment(tree), capture_output=True, text=True, check=True,
    )  # fmt: skip
    imported = Path(done.stdout.strip()).resolve()
    if not imported.is_relative_to(tree.src.resolve()):
        raise SystemExit(f"{tree.label}: PYTHONPATH={tree.src} imports {imported} instead")


@contextmanager
def _worktree(rev: str, parent: Path) -> Iterator[Path]:
    """A detached ``git worktree`` of ``rev`` under ``parent``, removed afterwards."""
    path = parent / f"tree-{rev}"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), rev],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    try:
        yield path
    finally:
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
            check=False, capture_output=True,
        )  # fmt: skip


def _manifest(root: Path, movie: str) -> dict[str, Any]:
    build = root / "builds" / movie
    pointer = json.loads((build / "current.json").read_text())
    manifest: dict[str, Any] = json.loads((build / pointer["manifestPath"]).read_text())
    return manifest


def _engine(manifest: dict[str, Any]) -> str:
    engines = sorted(
        {
            str(entry.get("diagnostics", {}).get("engine", "?"))
            for artefact_id, entry in manifest["artefacts"].items()
            if artefact_id.startswith("Artifact:Narration.")
        }
    )
    return "+".join(engines) or "?"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _build(tree: Tree, script: Path, voice: str, root: Path) -> tuple[float, float, Path, dict[str, Any]]:
    """Run ``query --script`` in a fresh root: (wall seconds, CPU seconds of the process and its children,
    the movie file, the current manifest)."""
    command = [
        sys.executable, "-m", "tutopanda", "--root", str(root), "query", "--script", str(script),
        "--movie", "quality", "--voice", voice, "--json",
    ]  # fmt: skip
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(
        command,
        env=_environment(tree),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=BUILD_TIMEOUT,
    )
    wall = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip()[-2000:]}")
    result = json.loads(done.stdout)
    return wall, cpu, Path(result["video"]), _manifest(root, "quality")


def _masks(tree: Tree, script: Script, styles: list[str | None]) -> dict[str, Any]:
    """Run ``quality_overlay.py`` inside ``tree``: the title card and every segment, at every aspect
    ratio, in each of ``styles`` (None: the default style, the one the built movies use)."""
    request = {
        "fraction": SAFE_FRACTION,
        "styles": styles,
        "title": script.title,
        "summary": script.summary,
        "sizes": {aspect: list(size) for aspect, size in ASPECTS.items()},
        "segments": [
            {"heading": heading, "text": body, "title": script.title}
            for heading, body in zip(script.headings, script.bodies, strict=True)
        ],
    }
    done = subprocess.run(
        [sys.executable, str(BENCH / "quality_overlay.py")],
        input=json.dumps(request), env=_environment(tree), capture_output=True, text=True, check=False,
        timeout=300,
    )  # fmt: skip
    if done.returncode != 0:
        return {"available": False, "error": (done.stderr or done.stdout).strip()[-300:]}
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _measure(tree: Tree, script_path: Path, voice: str, work: Path, transcribe: Transcriber) -> Figures:
    script = parse_script(script_path.read_text(encoding="utf-8"))
    root = Path(tempfile.mkdtemp(prefix="store-", dir=work))
    wall, cpu, video, manifest = _build(tree, script_path, voice, root)
    pcm = decode_audio(video)
    heard = transcribe(pcm)
    reference = normalise_words(script.narration)
    proxy = frame_margin_proxy(video, fraction=SAFE_FRACTION)
    final = manifest["artefacts"].get("Artifact:Export.FinalVideo", {}).get("diagnostics", {})
    clip = manifest["artefacts"].get("Artifact:Clips.SegmentClip[0]", {}).get("diagnostics", {})
    resolution = f"{clip.get('width', '?')}x{clip.get('height', '?')}" if clip else "?"
    figures = Figures(
        engine=_engine(manifest),
        query_wall=wall,
        query_cpu=cpu,
        movie_seconds=len(pcm) / 32000 or float(final.get("duration", 0.0)),
        resolution=resolution,
        reference_words=len(reference),
        errors=word_errors(reference, heard),
        heard=heard,
        loudness=measure_loudness(video),
        proxy=proxy,
    )
    shutil.rmtree(root, ignore_errors=True)
    return figures


def _print_block(prompt: str, voice: str, tree: Tree, figures: Figures) -> None:
    print(f"## {prompt} / {voice} / {tree.label} ({tree.name})")
    print(f"engine: {figures.engine}")
    print(f"resolution: {figures.resolution}")
    print(f"query_wall: {figures.query_wall:.2f} s  (target <= {QUERY_TARGET:.0f} s)")
    print(f"query_cpu: {figures.query_cpu:.2f} s  (user + system, the process and its children)")
    print(f"movie_duration: {figures.movie_seconds:.1f} s")
    print(f"time_per_movie_minute: {figures.per_minute:.1f} s/min")
    print(f"wer: {figures.wer:.1f} %  ({figures.errors} errors / {figures.reference_words} words)")
    print(f"loudness_integrated: {figures.loudness.integrated_lufs:.1f} LUFS  (target -16)")
    print(f"loudness_range: {figures.loudness.range_lu:.1f} LU")
    print(f"true_peak: {figures.loudness.true_peak_dbtp:.1f} dBTP  (target <= -1.5)")
    outside = figures.mask_outside()
    masks = figures.masks or {}
    if outside is None:
        reason = f"; {masks['error']}" if masks.get("error") else ""
        print(f"safe_margin: unavailable (no overlay API{reason})")
    else:
        detail = ", ".join(f"{aspect} {sum(counts)}" for aspect, counts in masks["outside"].items())
        print(
            f"safe_margin_outside: {outside} px  ({detail}; {masks['masks']} masks from "
            f"{masks['where']}.draw_overlay)"
        )
    print(
        f"margin_proxy_frames: {figures.proxy.touching_percent:.0f} %  ({figures.proxy.touching}/"
        f"{figures.proxy.frames} frames with text-like edges in the outer 5 % band, worst "
        f"{figures.proxy.worst_pixels} px; proxy from real 16:9 frames)"
    )
    print(f"heard: {' '.join(figures.heard[:40])}{' …' if len(figures.heard) > 40 else ''}")
    print(flush=True)


def _cell(values: list[str]) -> str:
    return " → ".join(values)


def _print_summary(
    results: dict[tuple[str, str, str], Figures],
    prompts: tuple[str, ...],
    voices: list[str],
    trees: list[Tree],
) -> None:
    print(
        "## summary"
        + ("  (cells: " + " → ".join(tree.label for tree in trees) + ")" if len(trees) > 1 else "")
    )
    columns = ("prompt", "voice", "engine", "query s", "cpu s", "s/min", "WER %", "LUFS", "LRA", "TP dBTP",
               "mask px out", "proxy %")  # fmt: skip
    rows: list[list[str]] = []
    for prompt in prompts:
        for voice in voices:
            got = [results.get((prompt, voice, tree.label)) for tree in trees]

            def cell(render: Any, got: list[Figures | None] = got) -> str:
                return _cell([render(figures) if figures else "failed" for figures in got])

            rows.append([
                prompt, voice,
                cell(lambda f: f.engine),
                cell(lambda f: f"{f.query_wall:.1f}"),
                cell(lambda f: f"{f.query_cpu:.1f}"),
                cell(lambda f: f"{f.per_minute:.1f}"),
                cell(lambda f: f"{f.wer:.1f}"),
                cell(lambda f: f"{f.loudness.integrated_lufs:.1f}"),
                cell(lambda f: f"{f.loudness.range_lu:.1f}"),
                cell(lambda f: f"{f.loudness.true_peak_dbtp:.1f}"),
                cell(lambda f: "n/a" if f.mask_outside() is None else str(f.mask_outside())),
                cell(lambda f: f"{f.proxy.touching_percent:.0f}"),
            ])  # fmt: skip
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)]
    print("  ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)))
    print()
    for tree in trees:
        mine = [figures for (_, _, label), figures in results.items() if label == tree.label]
        if not mine:
            continue
        for voice in voices:
            voiced = [f for (p, v, label), f in results.items() if label == tree.label and v == voice]
            if voiced:
                errors = sum(f.errors for f in voiced)
                words = sum(f.reference_words for f in voiced)
                print(f"wer_{voice}_{tree.label}: {100.0 * errors / words:.1f} %  ({errors}/{words} words)")
        walls = [f.query_wall for f in mine]
        minutes = sum(f.movie_seconds for f in mine) / 60.0
        print(f"query_wall_mean_{tree.label}: {sum(walls) / len(walls):.2f} s  (max {max(walls):.2f} s)")
        cpus = [f.query_cpu for f in mine]
        print(f"query_cpu_mean_{tree.label}: {sum(cpus) / len(cpus):.2f} s")
        print(f"time_per_movie_minute_{tree.label}: {sum(walls) / minutes:.1f} s/min")
        lufs = [f.loudness.integrated_lufs for f in mine]
        print(f"loudness_integrated_mean_{tree.label}: {sum(lufs) / len(lufs):.1f} LUFS")
    if len(trees) == 2:
        old, new = trees
        pairs = [
            (results[(p, v, old.label)], results[(p, v, new.label)])
            for p in prompts
            for v in voices
            if (p, v, old.label) in results and (p, v, new.label) in results
        ]
        if pairs:
            ratio = sum(b.query_wall for _, b in pairs) / sum(a.query_wall for a, _ in pairs)
            print(f"query_wall_ratio_{new.label}_over_{old.label}: {ratio:.2f} x  (same run, same machine)")
            ratio = sum(b.query_cpu for _, b in pairs) / sum(a.query_cpu for a, _ in pairs)
            print(f"query_cpu_ratio_{new.label}_over_{old.label}: {ratio:.2f} x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="one prompt (volcanoes), one voice (piper)")
    parser.add_argument(
        "--before", nargs="?", const=DEFAULT_BEFORE, default=None, metavar="REV",
        help=f"also measure this older commit side by side (default {DEFAULT_BEFORE})",
    )  # fmt: skip
    parser.add_argument(
        "--after", default=None, metavar="REV", help="measure a commit instead of the working tree"
    )
    parser.add_argument(
        "--all-styles",
        action="store_true",
        help="check the overlay masks in all six styles, not only the default",
    )
    parser.add_argument("--voices", default=None, help="comma-separated subset of: " + ", ".join(VOICES))
    parser.add_argument("--prompts", default=None, help="comma-separated subset of: " + ", ".join(PROMPTS))
    options = parser.parse_args()

    prompts = PROMPTS[:1] if options.quick else PROMPTS
    voices = ["piper"] if options.quick else list(VOICES)
    if options.prompts:
        prompts = tuple(options.prompts.split(","))
    if options.voices:
        voices = options.voices.split(",")
    unknown = [name for name in voices if name not in VOICES] + [
        name for name in prompts if name not in PROMPTS
    ]
    if unknown:
        parser.error(f"unknown voice or prompt: {', '.join(unknown)}")
    styles: list[str | None] = [*STYLES] if options.all_styles else [None]
    started = time.perf_counter()
    print(f"cpu_count: {os.cpu_count()}")
    print(f"load_average_start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="tutopanda-quality-") as temp:
        work = Path(temp)
        with _trees(options.before, options.after, work) as trees:
            for tree in trees:
                _check_import(tree)
                print(f"tree_{tree.label}: {tree.name}  ({tree.src})")
            print(flush=True)
            transcribe = Transcriber()
            results: dict[tuple[str, str, str], Figures] = {}
            for prompt in prompts:
                script_path = SCRIPTS / f"{prompt}.md"
                script = parse_script(script_path.read_text(encoding="utf-8"))
                masks = {tree.label: _masks(tree, script, styles) for tree in trees}
                for voice in voices:
                    for tree in trees:
                        _log(f"{prompt} / {voice} / {tree.label}")
                        try:
                            figures = _measure(tree, script_path, VOICES[voice], work, transcribe)
                        except (RuntimeError, subprocess.SubprocessError, ValueError) as error:
                            print(f"## {prompt} / {voice} / {tree.label}\nbuild: failed ({error})\n")
                            continue
                        figures.masks = masks[tree.label]
                        results[(prompt, voice, tree.label)] = figures
                        _print_block(prompt, voice, tree, figures)
            _print_summary(results, prompts, voices, trees)
    print(f"load_average_end: {os.getloadavg()[0]:.2f}")
    print(f"bench_wall: {time.perf_counter() - started:.0f} s")


@contextmanager
def _trees(before: str | None, after: str | None, work: Path) -> Iterator[list[Tree]]:
    """The trees to measure: the optional ``before`` commit first, then ``after`` (or the working tree)."""
    with _optional_worktree(before, work) as old, _optional_worktree(after, work) as new:
        trees = []
        if before is not None and old is not None:
            trees.append(Tree("before", _describe(before), old / "src"))
        if after is not None and new is not None:
            trees.append(Tree("after", _describe(after), new / "src"))
        else:
            trees.append(Tree("after", f"working tree at {_describe('HEAD')}", REPO / "src"))
        yield trees


@contextmanager
def _optional_worktree(rev: str | None, work: Path) -> Iterator[Path | None]:
    if rev is None:
        yield None
        return
    with _worktree(rev, work) as path:
        yield path


def _describe(rev: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), "log", "-1", "--format=%h %s", rev],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()[:72]


if __name__ == "__main__":
    main()
