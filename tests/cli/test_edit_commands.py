"""``tutopanda inspect`` and ``tutopanda edit`` through the real CLI, with the mock providers.

Every test makes a small movie with ``query`` (3 segments, 1 image each), then changes it the way a user
would: by editing ``movie.toml`` or a file under ``prompts/`` in a text editor, or with ``--replace``.
What re-ran is read from the mock call log and the plan JSON; what is stored, from ``manifest:show``
and the blob files on disk.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import re
import tomllib
import wave
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.cli.conftest import CliResult, CliRunner
from tests.e2e.build_helpers import JobGraph
from tutopanda.providers.mock.counter import MOCK_CALL_LOG_ENV, read_call_log

MOVIE = "v"
QUESTION = "How do volcanoes erupt?"
SEGMENTS = 3

SCRIPT = "Producer:Script.ScriptWriter"
MUSIC_PROMPT = "Producer:MusicPrompt.MusicPromptWriter"
MUSIC = "Producer:Music.Composer"
TIMELINE = "Producer:Timeline.TimelineComposer"
EXPORT = "Producer:Export.VideoExporter"
FAN_IN = {MUSIC_PROMPT, MUSIC, TIMELINE, EXPORT}


def segment_jobs(segment: int) -> set[str]:
    return {
        f"Producer:Narration.Narrator[{segment}]",
        f"Producer:ImagePrompts.ImagePromptWriter[{segment}]",
        f"Producer:Images.Illustrator[{segment}][0]",
        f"Producer:Clips.SegmentRenderer[{segment}]",
    }


# -- fixtures and helpers ----------------------------------------------------------------------------


@pytest.fixture
def call_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv(MOCK_CALL_LOG_ENV, str(log))
    return log


@pytest.fixture
def movie_dir(cli: CliRunner, root: Path, call_log: Path) -> Path:
    """A built 3-segment movie ``v``; the call log starts empty."""
    made = cli("query", QUESTION, "--movie", MOVIE, "--segments", str(SEGMENTS), "--json")
    assert made.code == 0, made.stderr
    call_log.unlink(missing_ok=True)
    return root / "builds" / MOVIE


def take_calls(call_log: Path) -> list[str]:
    """Job ids called since the last look (and forget them)."""
    calls = [str(call["jobId"]) for call in read_call_log(call_log)]
    call_log.unlink(missing_ok=True)
    return calls


def store_files(root: Path) -> dict[str, bytes]:
    """Every file under the storage root, by relative path, with its bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()
    }


def manifest(cli: CliRunner) -> dict[str, Any]:
    shown = cli("manifest:show", "--movie", MOVIE, "--json")
    assert shown.code == 0, shown.stderr
    data: dict[str, Any] = json.loads(shown.stdout)
    return data


def blob_texts(cli: CliRunner, movie_dir: Path) -> dict[str, str]:
    """Artefact id -> text of every text/plain artefact of the current manifest, read from its blob file."""
    texts: dict[str, str] = {}
    for artefact_id, entry in manifest(cli)["artefacts"].items():
        if entry["blob"]["mimeType"] != "text/plain":
            continue
        digest = entry["hash"]
        (blob,) = (movie_dir / "blobs" / digest[:2]).glob(f"{digest}.*")
        texts[artefact_id] = blob.read_bytes().decode("utf-8")
    return texts


def expected_texts(texts: dict[str, str]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """What ``[texts]`` and ``[[segments]]`` must hold for the image-audio movie with these blobs."""
    movie_wide = {
        "MovieTitle": texts["Artifact:Script.MovieTitle"],
        "MovieSummary": texts["Artifact:Script.MovieSummary"],
        "MusicPrompt": texts["Artifact:MusicPrompt.MusicPrompt"],
    }
    segments = [
        {
            "NarrationScript": texts[f"Artifact:Script.NarrationScript[{index}]"],
            "ImagePrompt": [texts[f"Artifact:ImagePrompts.ImagePrompt[{index}][0]"]],
        }
        for index in range(SEGMENTS)
    ]
    return movie_wide, segments


def prompt_file_texts(texts: dict[str, str]) -> dict[str, str]:
    """prompts/ path -> the text it must hold (with one trailing newline)."""
    movie_wide, segments = expected_texts(texts)
    files = {f"{key}.txt": value for key, value in movie_wide.items()}
    for index, values in enumerate(segments):
        files[f"segment-{index + 1:03d}/NarrationScript.txt"] = values["NarrationScript"]
        files[f"segment-{index + 1:03d}/ImagePrompt-1.txt"] = values["ImagePrompt"][0]
    return {path: value + "\n" for path, value in files.items()}


def read_prompt_files(movie_dir: Path) -> dict[str, str]:
    """Every text file under prompts/ (index.json, Tutopanda's record of what it wrote, is not one)."""
    prompts = movie_dir / "prompts"
    return {
        path.relative_to(prompts).as_posix(): path.read_text(encoding="utf-8")
        for path in prompts.rglob("*")
        if path.is_file() and path.name != "index.json"
    }


def inspect(cli: CliRunner, movie_dir: Path) -> Path:
    shown = cli("inspect", "--movie", MOVIE)
    assert shown.code == 0, shown.stderr
    document = movie_dir / "movie.toml"
    assert document.is_file()
    return document


def change(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in the file, as a user's editor would."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def edit_json(cli: CliRunner, *args: str) -> dict[str, Any]:
    result = cli("edit", "--movie", MOVIE, *args, "--json")
    assert result.code == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def plan_jobs(report: dict[str, Any]) -> set[str]:
    return {job["jobId"] for layer in report["plan"]["layers"] for job in layer["jobs"]}


def assert_usage_error(result: CliResult, *fragments: str) -> None:
    """Exit 2 with exactly ``error: ...`` and ``hint: ...`` on stderr, no traceback."""
    assert result.code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def png_file(path: Path) -> Path:
    Image.new("RGB", (64, 36), (200, 30, 30)).save(path, format="PNG")
    return path


def wav_file(path: Path) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 800)
    return path


# -- inspect -----------------------------------------------------------------------------------------


def test_inspect_writes_the_document_and_one_prompt_file_per_text(cli: CliRunner, movie_dir: Path) -> None:
    document = inspect(cli, movie_dir)
    data = tomllib.loads(document.read_text(encoding="utf-8"))
    shown = manifest(cli)
    texts = blob_texts(cli, movie_dir)

    assert data["movie"]["id"] == MOVIE
    assert data["movie"]["revision"] == shown["revision"] == "rev-0001"
    inputs_log = (movie_dir / "events" / "inputs.log").read_text(encoding="utf-8").splitlines()
    assert data["movie"]["input-events"] == len(inputs_log)
    # Every input value is the one the manifest holds.
    assert {f"Input:{name}": value for name, value in data["inputs"].items()} == {
        key: json.loads(entry["digest"]) for key, entry in shown["inputs"].items()
    }
    assert data["inputs"]["InquiryPrompt"] == QUESTION and data["inputs"]["NumOfSegments"] == SEGMENTS
    assert "Narration" in data["providers"] and "/" in data["providers"]["Narration"]
    movie_wide, segments = expected_texts(texts)
    assert data["texts"] == movie_wide
    assert data["segments"] == segments
    assert read_prompt_files(movie_dir) == prompt_file_texts(texts)
    # The document explains itself: a comment per input and the variants a module offers.
    raw = document.read_text(encoding="utf-8")
    assert "# one of: illustration, photorealistic" in raw
    assert "tutopanda edit --movie v" in raw


def test_inspect_json_and_stdout_forms(cli: CliRunner, movie_dir: Path) -> None:
    as_json = cli("inspect", "--movie", MOVIE, "--format", "json")
    assert as_json.code == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    as_toml = cli("inspect", "--movie", MOVIE, "--out", "-")
    assert as_toml.code == 0, as_toml.stderr
    assert tomllib.loads(as_toml.stdout) == data
    assert not (movie_dir / "movie.toml").exists()  # the printing forms touch no file at all
    assert not [path for path in (movie_dir / "prompts").rglob("*") if path.is_file()]
    movie_wide, segments = expected_texts(blob_texts(cli, movie_dir))
    assert data["texts"] == movie_wide and data["segments"] == segments


def test_inspect_rejects_an_unknown_format(cli: CliRunner, movie_dir: Path) -> None:
    assert_usage_error(cli("inspect", "--movie", MOVIE, "--format", "yaml"), "yaml")
    assert_usage_error(cli("inspect", "--movie", "ghost"), "ghost")


# -- edit: inputs and the document round trip --------------------------------------------------------


def _line_value(line: str) -> Any:
    """The TOML value on a document line: ``key = value`` or an array item ``"...",``."""
    stripped = line.strip()
    if stripped.startswith('"'):
        return tomllib.loads("x = " + stripped.rstrip(","))["x"]
    parsed = tomllib.loads(stripped)
    (value,) = parsed.values()
    return value


def test_round_trip_keeps_the_users_comments_and_layout(
    cli: CliRunner, movie_dir: Path, call_log: Path
) -> None:
    document = inspect(cli, movie_dir)
    before = tomllib.loads(document.read_text(encoding="utf-8"))
    text = document.read_text(encoding="utf-8")
    text = "# my volcano movie, draft 2\n\n" + text
    text = text.replace(
        'Style = "illustration"', '# softer look for kids\nStyle = "watercolor"  # was illustration\n'
    )
    text = text.replace("[texts]", "# titles: ask Sam\n\n[texts]")
    text = text.replace("# Segment 2 (also", "# the key segment\n\n# Segment 2 (also")
    text += "\n# end of my notes\n"
    document.write_text(text, encoding="utf-8")

    report = edit_json(cli, "--yes")
    assert report["edits"] == [{"what": "input", "id": "Style", "change": "watercolor"}]
    assert report["revision"] == "rev-0002"
    assert SCRIPT not in take_calls(call_log)

    after_text = document.read_text(encoding="utf-8")
    after = tomllib.loads(after_text)
    assert after["inputs"]["Style"] == "watercolor"
    assert after["movie"]["revision"] == "rev-0002"
    assert after["movie"]["input-events"] == before["movie"]["input-events"] + 1
    movie_wide, segments = expected_texts(blob_texts(cli, movie_dir))
    assert after["texts"] == movie_wide and after["segments"] == segments
    for comment in (
        "# my volcano movie",
        "# softer look",
        "# was illustration",
        "# titles: ask Sam",
        "# the key",
        "# end of my notes",
    ):
        assert comment in after_text

    # Byte for byte the user's file, except the lines whose values changed.
    old_lines, new_lines = text.splitlines(keepends=True), after_text.splitlines(keepends=True)
    changed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
        a=old_lines, b=new_lines, autojunk=False
    ).get_opcodes():
        if tag == "equal":
            continue
        assert tag == "replace" and i2 - i1 == j2 - j1, (old_lines[i1:i2], new_lines[j1:j2])
        for old, new in zip(old_lines[i1:i2], new_lines[j1:j2], strict=True):
            changed += 1
            assert old.split("=")[0] == new.split("=")[0] or old.strip().startswith('"'), (old, new)
            assert _line_value(old) != _line_value(new)
    regenerated = {place for place in ("MusicPrompt",) if before["texts"][place] != after["texts"][place]} | {
        f"ImagePrompt[{index}]"
        for index in range(SEGMENTS)
        if before["segments"][index]["ImagePrompt"] != after["segments"][index]["ImagePrompt"]
    }
    assert regenerated  # the style is in every image prompt
    assert changed == 2 + len(regenerated)  # revision, input-events and one line per regenerated text
    assert before["segments"][0]["NarrationScript"] == after["segments"][0]["NarrationScript"]


def test_input_change_reruns_only_its_consumers(cli: CliRunner, movie_dir: Path, call_log: Path) -> None:
    document = inspect(cli, movie_dir)
    change(document, 'Audience = "adult"', 'Audience = "teen"')
    report = edit_json(cli, "--yes")
    graph = JobGraph(
        json.loads(cli("blueprints", "expand", "image-audio", "--set", "NumOfSegments=3").stdout)
    )
    assert plan_jobs(report) == graph.downstream({"Input:Audience"})
    assert set(take_calls(call_log)) == plan_jobs(report)
    assert json.loads(manifest(cli)["inputs"]["Input:Audience"]["digest"]) == "teen"


def test_provider_change_goes_to_providers_json_and_reruns_that_module(
    cli: CliRunner, movie_dir: Path, call_log: Path
) -> None:
    document = inspect(cli, movie_dir)
    spoken = re.search(r'Narration = "local/[a-z-]+"', document.read_text(encoding="utf-8"))
    assert spoken is not None  # the local voice the movie recorded (Piper where installed, else eSpeak NG)
    change(document, spoken.group(0), 'Narration = "openai/gpt-4o-mini-tts"')
    report = edit_json(cli, "--yes")
    assert report["edits"] == [{"what": "provider", "id": "Narration", "change": "openai/gpt-4o-mini-tts"}]
    calls = set(take_calls(call_log))
    assert {f"Producer:Narration.Narrator[{index}]" for index in range(SEGMENTS)} <= calls
    assert SCRIPT not in calls and not any("ImagePrompt" in job or "Illustrator" in job for job in calls)
    selection = json.loads((movie_dir / "providers.json").read_text(encoding="utf-8"))["selection"]
    assert "openai" in json.dumps(selection) and "gpt-4o-mini-tts" in json.dumps(selection)
    assert (
        tomllib.loads(document.read_text(encoding="utf-8"))["providers"]["Narration"]
        == "openai/gpt-4o-mini-tts"
    )
    again = edit_json(cli, "--yes")
    assert again["edits"] == [] and take_calls(call_log) == []


# -- edit: texts -------------------------------------------------------------------------------------


NEW_NARRATION = "Magma rises, pressure builds, and the mountain finally lets go."


def test_editing_one_segments_prompt_file_reruns_only_that_segment_and_the_fan_in(
    cli: CliRunner, movie_dir: Path, call_log: Path
) -> None:
    document = inspect(cli, movie_dir)
    before_prompts = read_prompt_files(movie_dir)
    (movie_dir / "prompts/segment-002/NarrationScript.txt").write_text(NEW_NARRATION + "\n", encoding="utf-8")

    report = edit_json(cli, "--yes")
    assert report["edits"] == [
        {
            "what": "text",
            "id": "Artifact:Script.NarrationScript[1]",
            "change": "prompts/segment-002/NarrationScript.txt",
        }
    ]
    expected = segment_jobs(1) | FAN_IN
    assert plan_jobs(report) == expected
    graph = JobGraph(
        json.loads(cli("blueprints", "expand", "image-audio", "--set", "NumOfSegments=3").stdout)
    )
    assert expected == graph.downstream({"Artifact:Script.NarrationScript[1]"})
    calls = take_calls(call_log)
    assert set(calls) == expected
    assert SCRIPT not in calls and not (segment_jobs(0) | segment_jobs(2)) & set(calls)

    # The user's words are stored as they wrote them (the editor's final newline is not part of the text).
    texts = blob_texts(cli, movie_dir)
    assert texts["Artifact:Script.NarrationScript[1]"] == NEW_NARRATION
    events = (movie_dir / "events" / "artefacts.log").read_text(encoding="utf-8").splitlines()
    manual = [json.loads(line) for line in events if "NarrationScript[1]" in line][-1]
    assert manual["inputsHash"] == "manual"

    # The exported files now show the new state; the other segments' prompt files are untouched.
    data = tomllib.loads(document.read_text(encoding="utf-8"))
    assert data["segments"][1]["NarrationScript"] == NEW_NARRATION
    assert data["movie"]["revision"] == report["revision"] == "rev-0002"
    now_prompts = read_prompt_files(movie_dir)
    assert now_prompts == prompt_file_texts(texts)
    for path in (
        "segment-001/NarrationScript.txt",
        "segment-001/ImagePrompt-1.txt",
        "segment-003/ImagePrompt-1.txt",
    ):
        assert now_prompts[path] == before_prompts[path]

    # Nothing left to do: no edit, no provider call, no new revision.
    files = store_files(movie_dir.parent.parent)
    again = cli("edit", "--movie", MOVIE, "--yes")
    assert again.code == 0, again.stderr
    assert "nothing to do" in again.stdout
    assert take_calls(call_log) == []
    assert store_files(movie_dir.parent.parent) == files
    assert edit_json(cli, "--yes") == {"movie": MOVIE, "edits": [], "plan": None, "revision": None}


def test_editing_a_text_in_the_document_works_like_its_prompt_file(
    cli: CliRunner, movie_dir: Path, call_log: Path
) -> None:
    document = inspect(cli, movie_dir)
    title = tomllib.loads(document.read_text(encoding="utf-8"))["texts"]["MovieTitle"]
    change(document, f'MovieTitle = "{title}"', 'MovieTitle = "Fire Mountains"')
    report = edit_json(cli, "--yes")
    assert [row["id"] for row in report["edits"]] == ["Artifact:Script.MovieTitle"]
    assert SCRIPT not in take_calls(call_log)
    assert blob_texts(cli, movie_dir)["Artifact:Script.MovieTitle"] == "Fire Mountains"
    assert (movie_dir / "prompts/MovieTitle.txt").read_text(encoding="utf-8") == "Fire Mountains\n"


def test_the_same_text_edited_differently_in_both_places_is_refused(cli: CliRunner, movie_dir: Path) -> None:
    document = inspect(cli, movie_dir)
    narration = tomllib.loads(document.read_text(encoding="utf-8"))["segments"][1]["NarrationScript"]
    change(document, f'NarrationScript = "{narration}"', 'NarrationScript = "Version A"')
    (movie_dir / "prompts/segment-002/NarrationScript.txt").write_text("Version B\n", encoding="utf-8")
    files = store_files(movie_dir.parent.parent)
    result = cli("edit", "--movie", MOVIE, "--yes")
    assert_usage_error(result, "movie.toml", "prompts/segment-002/NarrationScript.txt")
    assert "\n" not in result.stderr.strip().splitlines()[0]
    assert store_files(movie_dir.parent.parent) == files

    # The same new text in both places is one edit.
    (movie_dir / "prompts/segment-002/NarrationScript.txt").write_text("Version A\n", encoding="utf-8")
    report = edit_json(cli, "--yes")
    assert [row["id"] for row in report["edits"]] == ["Artifact:Script.NarrationScript[1]"]
    assert blob_texts(cli, movie_dir)["Artifact:Script.NarrationScript[1]"] == "Version A"


def test_stale_prompt_files_are_not_edits(cli: CliRunner, movie_dir: Path) -> None:
    assert cli("inspect", "--movie", MOVIE).code == 0  # writes movie.toml and prompts/ at rev-0001
    assert cli("query", "--movie", MOVIE, "--style", "anime", "--json").code == 0
    (movie_dir / "prompts/segment-002/NarrationScript.txt").write_text(NEW_NARRATION + "\n", encoding="utf-8")
    report = edit_json(cli, "--yes")
    assert [row["id"] for row in report["edits"]] == ["Artifact:Script.NarrationScript[1]"]
    texts = blob_texts(cli, movie_dir)
    assert "Style: anime" in texts["Artifact:ImagePrompts.ImagePrompt[0][0]"]


def test_an_emptied_prompt_file_is_refused(cli: CliRunner, movie_dir: Path) -> None:
    inspect(cli, movie_dir)
    (movie_dir / "prompts/segment-002/NarrationScript.txt").write_text("", encoding="utf-8")
    files = store_files(movie_dir.parent.parent)
    assert_usage_error(cli("edit", "--movie", MOVIE, "--yes"), "NarrationScript")
    assert store_files(movie_dir.parent.parent) == files


# -- edit: --replace ---------------------------------------------------------------------------------


def test_replace_an_image_with_your_own_png(
    cli: CliRunner, movie_dir: Path, call_log: Path, tmp_path: Path
) -> None:
    photo = png_file(tmp_path / "crater.png")
    report = edit_json(cli, "--replace", f"Images.SegmentImage[0][0]={photo}", "--yes")
    assert report["edits"][0]["id"] == "Artifact:Images.SegmentImage[0][0]"
    consumers = {"Producer:Clips.SegmentRenderer[0]", TIMELINE, EXPORT}
    assert plan_jobs(report) == consumers
    calls = take_calls(call_log)
    assert set(calls) == consumers and "Producer:Images.Illustrator[0][0]" not in calls
    entry = manifest(cli)["artefacts"]["Artifact:Images.SegmentImage[0][0]"]
    assert entry["hash"] == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert entry["blob"]["mimeType"] == "image/png"
    assert edit_json(cli, "--yes")["edits"] == []  # the replacement is now the movie's state


def test_a_replacement_survives_an_upstream_change_made_in_the_same_edit(
    cli: CliRunner, movie_dir: Path, call_log: Path, tmp_path: Path
) -> None:
    document = inspect(cli, movie_dir)
    change(document, 'Style = "illustration"', 'Style = "diagram"')  # re-runs every image prompt
    photo = png_file(tmp_path / "mine.png")
    report = edit_json(cli, "--replace", f"Images.SegmentImage[2][0]={photo}", "--yes")
    assert not report["failed"]
    calls = set(take_calls(call_log))
    assert "Producer:ImagePrompts.ImagePromptWriter[2]" in calls
    assert "Producer:Images.Illustrator[2][0]" not in calls
    assert "Producer:Images.Illustrator[0][0]" in calls
    entry = manifest(cli)["artefacts"]["Artifact:Images.SegmentImage[2][0]"]
    assert entry["hash"] == hashlib.sha256(photo.read_bytes()).hexdigest()


def test_replace_rejects_wrong_types_unknown_ids_and_missing_files(
    cli: CliRunner, movie_dir: Path, tmp_path: Path
) -> None:
    files = store_files(movie_dir.parent.parent)
    sound = wav_file(tmp_path / "sound.png")  # the name lies; the bytes are a WAV
    assert_usage_error(
        cli("edit", "--movie", MOVIE, "--replace", f"Images.SegmentImage[0][0]={sound}", "--yes"), "audio/wav"
    )
    photo = png_file(tmp_path / "photo.png")
    assert_usage_error(
        cli("edit", "--movie", MOVIE, "--replace", f"Images.SegmentImag[0][0]={photo}", "--yes"),
        "did you mean 'Artifact:Images.SegmentImage[0][0]'",
    )
    assert_usage_error(
        cli(
            "edit",
            "--movie",
            MOVIE,
            "--replace",
            f"Images.SegmentImage[0][0]={tmp_path / 'nope.png'}",
            "--yes",
        ),
        "nope.png",
    )
    assert_usage_error(
        cli("edit", "--movie", MOVIE, "--replace", "no-equals-sign", "--yes"), "ARTEFACT_ID=PATH"
    )
    assert store_files(movie_dir.parent.parent) == files


# -- edit: asking, dry runs --------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["n\n", "no\n", "maybe\n", "\n"], ids=["n", "no", "other", "empty-line"])
def test_answering_anything_but_yes_changes_nothing(
    cli: CliRunner, movie_dir: Path, call_log: Path, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    document = inspect(cli, movie_dir)
    change(document, 'Style = "illustration"', 'Style = "cinematic"')
    (movie_dir / "prompts/segment-003/NarrationScript.txt").write_text("Mine.\n", encoding="utf-8")
    files = store_files(movie_dir.parent.parent)
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    result = cli("edit", "--movie", MOVIE)
    # docs/cli.md: "answering anything but y changes nothing on disk (exit 0)".
    assert result.code == 0, result.stderr
    assert "Record these edits and run" in result.stderr and "[y/N]" in result.stderr
    assert "your edits" in result.stdout and "plan for rev-0002" in result.stdout  # shown before asking
    assert "cancelled: nothing was changed" in result.stdout
    assert store_files(movie_dir.parent.parent) == files
    assert take_calls(call_log) == []


def test_no_input_to_answer_from_is_a_usage_error_and_changes_nothing(
    cli: CliRunner, movie_dir: Path, call_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = inspect(cli, movie_dir)
    change(document, 'Style = "illustration"', 'Style = "cinematic"')
    files = store_files(movie_dir.parent.parent)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    result = cli("edit", "--movie", MOVIE)
    assert result.code == 2
    assert "Record these edits and run" in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith(("error: ", "hint: "))]
    assert len(lines) == 2 and "--yes" in lines[1], result.stderr
    assert "Traceback" not in result.stderr
    assert store_files(movie_dir.parent.parent) == files
    assert take_calls(call_log) == []


def test_answering_yes_records_and_builds(
    cli: CliRunner, movie_dir: Path, call_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = inspect(cli, movie_dir)
    change(document, 'Style = "illustration"', 'Style = "cinematic"')
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    result = cli("edit", "--movie", MOVIE)
    assert result.code == 0, result.stderr
    assert "committed rev-0002" in result.stdout
    assert take_calls(call_log)
    assert json.loads(manifest(cli)["inputs"]["Input:Style"]["digest"]) == "cinematic"


def test_dry_run_shows_the_plan_and_changes_nothing(
    cli: CliRunner, movie_dir: Path, call_log: Path, tmp_path: Path
) -> None:
    document = inspect(cli, movie_dir)
    change(document, 'Style = "illustration"', 'Style = "diagram"')
    (movie_dir / "prompts/segment-001/NarrationScript.txt").write_text("Mine.\n", encoding="utf-8")
    photo = png_file(tmp_path / "p.png")
    files = store_files(movie_dir.parent.parent)
    shown = cli("edit", "--movie", MOVIE, "--replace", f"Images.SegmentImage[2][0]={photo}", "--dry-run")
    assert shown.code == 0, shown.stderr
    assert "dry run: nothing was changed" in shown.stdout
    assert "your edits" in shown.stdout and "plan for rev-0002 (base rev-0001)" in shown.stdout
    report = edit_json(cli, "--replace", f"Images.SegmentImage[2][0]={photo}", "--dry-run")
    assert report["revision"] is None
    assert {row["id"] for row in report["edits"]} == {
        "Style",
        "Artifact:Script.NarrationScript[0]",
        "Artifact:Images.SegmentImage[2][0]",
    }
    jobs = plan_jobs(report)
    assert "Producer:Narration.Narrator[0]" in jobs and "Producer:ImagePrompts.ImagePromptWriter[2]" in jobs
    assert SCRIPT not in jobs
    assert store_files(movie_dir.parent.parent) == files
    assert take_calls(call_log) == []


def test_json_needs_yes_or_dry_run(cli: CliRunner, movie_dir: Path) -> None:
    document = inspect(cli, movie_dir)
    change(document, 'Style = "illustration"', 'Style = "diagram"')
    files = store_files(movie_dir.parent.parent)
    assert_usage_error(cli("edit", "--movie", MOVIE, "--json"), "--json")
    assert store_files(movie_dir.parent.parent) == files


# -- edit: refusals ----------------------------------------------------------------------------------


BAD_EDITS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("unknown-section", "[texts]", "[textz]", ("textz", "did you mean 'texts'?")),
    ("input-typo", 'Audience = "adult"', 'Audiense = "adult"', ("Audiense", "did you mean 'Audience'?")),
    ("bad-input-value", 'Style = "illustration"', 'Style = "neon"', ("Style", "neon")),
    (
        "wrong-variant",
        'Images = "local/slides"',
        'Images = "local/slide"',
        ("not a variant of Images", "local/slides"),
    ),
    (
        "unknown-module",
        'Images = "local/slides"',
        'Imagez = "local/slides"',
        ("Imagez", "did you mean 'Images'?"),
    ),
    (
        "added-segment",
        "[[segments]]\n# Segment 3",
        '[[segments]]\nNarrationScript = "x"\n\n[[segments]]\n# Segment 3',
        ("4 [[segments]]", "NumOfSegments"),
    ),
    (
        "segment-key-typo",
        'NarrationScript = "Part 2',
        'NarationScript = "Part 2',
        ("NarationScript", "did you mean 'NarrationScript'?"),
    ),
    (
        "text-not-a-string",
        'NarrationScript = "Part 2',
        'NarrationScript = 2 # "Part 2',
        ("segments[2].NarrationScript must be a text",),
    ),
    ("movie-id", 'id = "v"', 'id = "w"', ("'w'",)),
    ("input-events", "input-events = ", "input-events = -", ("input-events",)),
    ("toml-syntax", 'Style = "illustration"', 'Style = "illustration', ("invalid TOML",)),
]


@pytest.mark.parametrize(
    ("old", "new", "fragments"), [case[1:] for case in BAD_EDITS], ids=[case[0] for case in BAD_EDITS]
)
def test_bad_edits_are_one_line_usage_errors(
    cli: CliRunner, movie_dir: Path, call_log: Path, old: str, new: str, fragments: tuple[str, ...]
) -> None:
    document = inspect(cli, movie_dir)
    change(document, old, new)
    files = store_files(movie_dir.parent.parent)
    assert_usage_error(cli("edit", "--movie", MOVIE, "--yes"), *fragments)
    assert store_files(movie_dir.parent.parent) == files
    assert take_calls(call_log) == []


# -- edit: a document exported before the movie changed ----------------------------------------------


def test_a_stale_document_refuses_a_conflicting_edit_but_applies_an_unrelated_one(
    cli: CliRunner, movie_dir: Path
) -> None:
    document = inspect(cli, movie_dir)
    stale = document.read_text(encoding="utf-8")
    rebuilt = cli("query", "--movie", MOVIE, "--style", "anime", "--json")
    assert rebuilt.code == 0, rebuilt.stderr

    change(document, 'Style = "illustration"', 'Style = "watercolor"')
    files = store_files(movie_dir.parent.parent)
    assert_usage_error(
        cli("edit", "--movie", MOVIE, "--yes"),
        "inputs.Style changed in the movie since this file was exported",
    )
    assert store_files(movie_dir.parent.parent) == files

    # A text regenerated since the export is a conflict too.
    document.write_text(stale, encoding="utf-8")
    prompt = tomllib.loads(stale)["segments"][0]["ImagePrompt"][0]
    change(document, f'"{prompt}"', '"a volcano at dusk"')
    assert_usage_error(
        cli("edit", "--movie", MOVIE, "--yes"), "segments[1].ImagePrompt[1]", "changed in the movie"
    )

    # Editing only something else applies cleanly and keeps the newer style.
    document.write_text(stale, encoding="utf-8")
    change(document, 'Audience = "adult"', 'Audience = "expert"')
    report = edit_json(cli, "--yes")
    assert report["edits"] == [{"what": "input", "id": "Audience", "change": "expert"}]
    inputs = manifest(cli)["inputs"]
    assert json.loads(inputs["Input:Style"]["digest"]) == "anime"
    assert json.loads(inputs["Input:Audience"]["digest"]) == "expert"
    refreshed = tomllib.loads(document.read_text(encoding="utf-8"))
    assert refreshed["inputs"]["Style"] == "anime" and refreshed["inputs"]["Audience"] == "expert"
    assert "Style: anime" in refreshed["segments"][0]["ImagePrompt"][0]


# -- review fixes ------------------------------------------------------------------------------------


def test_inspect_never_overwrites_edits_not_applied_yet_and_keeps_comments(
    cli: CliRunner, movie_dir: Path
) -> None:
    inspect(cli, movie_dir)
    document = movie_dir / "movie.toml"
    document.write_text("# my notes\n" + document.read_text(encoding="utf-8"), encoding="utf-8")
    assert cli("inspect", "--movie", MOVIE).code == 0  # nothing pending: refreshed in place
    assert document.read_text(encoding="utf-8").startswith("# my notes\n")

    title = movie_dir / "prompts/MovieTitle.txt"
    title.write_text("My own title\n", encoding="utf-8")
    refused = cli("inspect", "--movie", MOVIE)
    assert_usage_error(refused, "Artifact:Script.MovieTitle")
    assert "--force" in refused.stderr
    assert title.read_text(encoding="utf-8") == "My own title\n"
    assert cli("inspect", "--movie", MOVIE, "--force").code == 0
    assert title.read_text(encoding="utf-8") != "My own title\n"


def test_a_stale_providers_line_is_a_conflict_not_a_silent_revert(cli: CliRunner, movie_dir: Path) -> None:
    inspect(cli, movie_dir)
    chosen = cli(
        "query", "--movie", MOVIE, "--provider", "Narration=elevenlabs/eleven_multilingual_v2", "--json"
    )
    assert chosen.code == 0, chosen.stderr
    document = movie_dir / "movie.toml"
    text = document.read_text(encoding="utf-8")
    document.write_text(text.replace('Style = "illustration"', 'Style = "anime"'), encoding="utf-8")
    assert_usage_error(cli("edit", "--movie", MOVIE, "--dry-run"), "providers.Narration")


def test_a_text_whose_producer_the_same_edit_reruns_is_refused(cli: CliRunner, movie_dir: Path) -> None:
    inspect(cli, movie_dir)
    (movie_dir / "prompts/segment-001/NarrationScript.txt").write_text("MY OWN TEXT\n", encoding="utf-8")
    document = movie_dir / "movie.toml"
    text = document.read_text(encoding="utf-8")
    document.write_text(text.replace("Duration = 30", "Duration = 40"), encoding="utf-8")
    files = store_files(movie_dir.parent.parent)
    assert_usage_error(cli("edit", "--movie", MOVIE, "--yes"), "Producer:Script.ScriptWriter")
    assert store_files(movie_dir.parent.parent) == files


def test_edit_checks_secrets_before_recording_anything(
    cli: CliRunner, movie_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inspect(cli, movie_dir)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    document = movie_dir / "movie.toml"
    text = document.read_text(encoding="utf-8")
    document.write_text(
        text.replace('ImagePrompts = "local/template-prompts"', 'ImagePrompts = "openai/gpt-5-mini"'),
        encoding="utf-8",
    )
    files = store_files(movie_dir.parent.parent)
    result = cli("edit", "--movie", MOVIE, "--yes", "--providers", "live")
    assert result.code == 2 and "OPENAI_API_KEY" in result.stderr
    assert store_files(movie_dir.parent.parent) == files
