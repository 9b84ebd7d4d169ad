"""Oversized inputs — a 50 MB prompt, 10,000 segments — are refused early, naming the field and the limit.

"Early" is measured: the Python memory allocated while the command runs (tracemalloc's peak) stays a
small fraction of the input, so the refusal comes before the value is copied, hashed or expanded. The
50 MB question is passed in-process (a real ``argv`` string may not exceed 128 KiB on Linux); files are
also refused by a real subprocess.
"""

from __future__ import annotations

import subprocess
import tracemalloc
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest
import yaml

from tests.badinput.clean_errors import CliResult, assert_clean_error, run_cli
from tests.e2e.build_helpers import tutopanda_command
from tutopanda.core import limits
from tutopanda.core.blueprint import load_blueprint

T = TypeVar("T")
MB = 1_000_000
BIG = 50 * MB
MOVIE = "big"
ROOT_DOCS = Path(__file__).resolve().parents[2] / "docs"


def traced(call: Callable[[], T]) -> tuple[T, int]:
    """``call()``'s result and the peak bytes Python allocated while it ran."""
    tracemalloc.start()
    try:
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def refused(result: CliResult, *needles: str) -> str:
    message = assert_clean_error(result, codes=(2,))
    for needle in needles:
        assert needle in message, message
    return message


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A built one-segment movie (mock providers) with its exported movie.toml and prompt files."""
    root = tmp_path_factory.mktemp("big") / "store"
    made = run_cli(
        "--root", str(root), "query", "Why?", "--movie", MOVIE, "--segments", "1", "--providers", "mock"
    )
    assert made.code == 0, made.stderr
    assert run_cli("--root", str(root), "inspect", "--movie", MOVIE).code == 0
    yield root


def big_file(path: Path, head: bytes = b"", fill: bytes = b"x", tail: bytes = b"") -> Path:
    with path.open("wb") as out:
        out.write(head)
        out.write(fill * (BIG // len(fill)))
        out.write(tail)
    return path


# -- a 50 MB prompt --------------------------------------------------------------------------------


def test_a_50_mb_question_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    root = tmp_path / "store"
    question = "Why " * (BIG // 4)
    result, peak = traced(lambda: run_cli("--root", str(root), "query", question))
    refused(result, "InquiryPrompt", "50,000,000 characters", "limit of 100,000 characters")
    assert peak < 20 * MB
    assert not (root / "builds").exists()


def test_a_50_mb_inputs_file_is_refused_unread(tmp_path: Path) -> None:
    file = big_file(tmp_path / "inputs.toml", b'InquiryPrompt = "', b"x", b'"\n')
    for argv in (
        ["blueprints", "validate", "image-audio", "--inputs", str(file)],
        ["storage:init", "--movie", "m", "--blueprint", "image-audio", "--inputs", str(file)],
    ):
        result, peak = traced(partial(run_cli, "--root", str(tmp_path / "store"), *argv))
        refused(result, "inputs file", "50,000,0", "limit of 16,000,000 bytes")
        assert peak < 20 * MB
    process = subprocess.run(
        [*tutopanda_command(), "--root", str(tmp_path / "store"), "blueprints", "validate", "image-audio",
         "--inputs", str(file)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    refused(CliResult(process.returncode, process.stdout, process.stderr), "limit of 16,000,000 bytes")


def test_a_long_question_in_a_small_inputs_file_names_the_input(tmp_path: Path) -> None:
    file = tmp_path / "inputs.yaml"
    file.write_text(yaml.safe_dump({"InquiryPrompt": "y" * (2 * limits.MAX_TEXT_CHARS)}), encoding="utf-8")
    result = run_cli(
        "--root", str(tmp_path / "store"), "blueprints", "validate", "image-audio", "--inputs", str(file)
    )
    refused(result, "input InquiryPrompt is 200,000 characters long", "limit of 100,000 characters")


def test_a_50_mb_script_is_refused_unread(tmp_path: Path) -> None:
    script = big_file(tmp_path / "script.md", b"# Title\n\n## One\n", b"word ")
    result, peak = traced(
        lambda: run_cli("--root", str(tmp_path / "store"), "query", "--script", str(script))
    )
    refused(result, "--script", "limit of 16,000,000 bytes")
    assert peak < 20 * MB


def test_a_50_mb_prompt_file_is_refused_unread(built: Path) -> None:
    prompt = built / "builds" / MOVIE / "prompts" / "segment-001" / "NarrationScript.txt"
    original = prompt.read_bytes()
    big_file(prompt, fill=b"Lava. ")
    try:
        for argv in (["edit", "--movie", MOVIE, "--dry-run"], ["inspect", "--movie", MOVIE]):
            result, peak = traced(partial(run_cli, "--root", str(built), *argv))
            refused(result, "prompts/segment-001/NarrationScript.txt", "limit of 400,000 bytes")
            assert peak < 20 * MB
    finally:
        prompt.write_bytes(original)


def test_a_long_text_in_movie_toml_names_its_place(built: Path, tmp_path: Path) -> None:
    document = (built / "builds" / MOVIE / "movie.toml").read_text(encoding="utf-8")
    long_text = "Lava flows. " * 20_000
    edited = tmp_path / "edited.toml"
    lines = document.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("NarrationScript = "))
    lines[index] = f'NarrationScript = "{long_text}"'
    edited.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("--root", str(built), "edit", "--movie", MOVIE, "--file", str(edited), "--dry-run")
    refused(result, "segments[1].NarrationScript is 240,000 characters long", "limit of 100,000 characters")


def test_a_50_mb_edit_document_is_refused_unread(built: Path, tmp_path: Path) -> None:
    document = big_file(tmp_path / "huge.toml", b"# ", b"comment ", b"\n")
    result, peak = traced(
        lambda: run_cli("--root", str(built), "edit", "--movie", MOVIE, "--file", str(document), "--dry-run")
    )
    refused(result, "--file", "limit of 16,000,000 bytes")
    assert peak < 20 * MB


def test_a_50_mb_text_replacement_is_refused_unread(built: Path, tmp_path: Path) -> None:
    text = big_file(tmp_path / "title.txt", fill=b"Title ")
    replace = f"Script.MovieTitle={text}"
    result, peak = traced(
        lambda: run_cli("--root", str(built), "edit", "--movie", MOVIE, "--replace", replace, "--dry-run")
    )
    refused(result, "--replace", "limit of 400,000 bytes")
    assert peak < 20 * MB


def test_a_50_mb_event_file_is_refused_unread(built: Path, tmp_path: Path) -> None:
    events = big_file(tmp_path / "events.json", b'{"id": "Input:InquiryPrompt", "payload": "', b"x", b'"}')
    result, peak = traced(
        lambda: run_cli(
            "--root", str(built), "events:append", "--movie", MOVIE, "--type", "input", "--file", str(events)
        )
    )
    refused(result, "limit of 16,000,000 bytes")
    assert peak < 20 * MB


def test_a_long_value_in_an_input_event_names_the_input(built: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.json"
    events.write_text('{"id": "Input:InquiryPrompt", "payload": "' + "x" * 150_000 + '"}', encoding="utf-8")
    result = run_cli(
        "--root", str(built), "events:append", "--movie", MOVIE, "--type", "input", "--file", str(events)
    )
    refused(result, "InquiryPrompt", "limit of 100,000 characters")


# -- 10,000 segments -------------------------------------------------------------------------------

SEGMENT_LIMIT = ("NumOfSegments", "10000", "1..1000")


def test_10000_segments_are_refused_by_every_way_of_asking(built: Path, tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    inputs = tmp_path / "inputs.json"
    inputs.write_text('{"NumOfSegments": 10000}', encoding="utf-8")
    flag_limit = ("--segments", "1000")  # the option's own range (its help shows it) refuses first
    for argv, needles in (
        (["query", "How?", "--segments", "10000"], flag_limit),
        (["query", "How?", "--segments", "10000", "--dry-run"], flag_limit),
        (["blueprints", "expand", "image-audio", "--set", "NumOfSegments=10000"], SEGMENT_LIMIT),
        (["blueprints", "validate", "video-audio-music", "--inputs", str(inputs)], SEGMENT_LIMIT),
        (
            ["storage:init", "--movie", "m", "--blueprint", "audio-only", "--set", "NumOfSegments=10000"],
            SEGMENT_LIMIT,
        ),
    ):
        result, peak = traced(partial(run_cli, "--root", root, *argv))
        refused(result, *needles)
        assert peak < 20 * MB
    assert not (tmp_path / "store" / "builds").exists()


def test_10000_segments_in_an_edit_or_an_event_of_a_movie_are_refused(built: Path, tmp_path: Path) -> None:
    document = (built / "builds" / MOVIE / "movie.toml").read_text(encoding="utf-8")
    edited = tmp_path / "edited.toml"
    edited.write_text(document.replace("NumOfSegments = 1\n", "NumOfSegments = 10000\n"), encoding="utf-8")
    result, peak = traced(
        lambda: run_cli("--root", str(built), "edit", "--movie", MOVIE, "--file", str(edited), "--dry-run")
    )
    refused(result, *SEGMENT_LIMIT)
    assert peak < 20 * MB
    events = tmp_path / "event.json"
    events.write_text('{"id": "Input:NumOfSegments", "payload": 10000}', encoding="utf-8")
    result = run_cli(
        "--root", str(built), "events:append", "--movie", MOVIE, "--type", "input", "--file", str(events)
    )
    refused(result, *SEGMENT_LIMIT)


def test_a_script_with_10000_sections_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "script.md"
    script.write_text(
        "# Title\n\n" + "".join(f"## Part {i}\nText {i}.\n\n" for i in range(10_000)), encoding="utf-8"
    )
    result, peak = traced(
        lambda: run_cli("--root", str(tmp_path / "store"), "query", "--script", str(script))
    )
    refused(result, *SEGMENT_LIMIT)
    assert peak < 50 * MB  # the 10,000 parsed sections themselves, nothing planned or expanded
    assert not (tmp_path / "store" / "builds").exists()


def test_a_blueprint_without_a_maximum_still_stops_at_the_loop_limit(tmp_path: Path) -> None:
    text = Path(load_blueprint("audio-only").file).read_text(encoding="utf-8").replace("    max: 1000\n", "")
    blueprint = tmp_path / "open.yaml"
    blueprint.write_text(text, encoding="utf-8")
    result, peak = traced(
        lambda: run_cli("blueprints", "expand", str(blueprint), "--set", "NumOfSegments=10000")
    )
    refused(result, "loop segment would repeat 10000 times", "more than the limit of 1,000")
    assert peak < 20 * MB


def test_the_bundled_segment_maximum_is_the_loop_limit() -> None:
    for name in ("audio-only", "image-audio", "video-audio-music"):
        spec = load_blueprint(name).input("NumOfSegments")
        assert spec is not None and spec.maximum == limits.MAX_LOOP_COUNT


def test_every_limit_is_documented() -> None:
    reference = (ROOT_DOCS / "cli.md").read_text(encoding="utf-8")
    for name in limits.__all__:
        if name.startswith("MAX_"):
            assert f"`{name}`" in reference, f"docs/cli.md does not list {name}"
