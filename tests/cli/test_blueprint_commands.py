"""``tutopanda blueprints ...`` through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import CliRunner
from tutopanda.core.blueprint import expand, load_blueprint


def test_list_shows_the_bundled_blueprints(cli: CliRunner) -> None:
    table = cli("blueprints", "list")
    assert table.code == 0
    for name in ("audio-only", "image-audio", "video-audio-music"):
        assert name in table.stdout
    listed = json.loads(cli("blueprints", "list", "--json").stdout)
    assert {"audio-only", "image-audio", "video-audio-music"} <= {item["name"] for item in listed}


def test_describe_shows_inputs_loops_and_variants(cli: CliRunner) -> None:
    result = cli("blueprints", "describe", "image-audio")
    assert result.code == 0, result.stderr
    assert "NumOfSegments" in result.stdout
    assert "segment" in result.stdout
    described = json.loads(cli("blueprints", "describe", "image-audio", "--json").stdout)
    assert described["id"] == "image-audio"
    names = {item["name"] for item in described["inputs"]}
    assert {"InquiryPrompt", "NumOfSegments", "NumOfImagesPerSegment"} <= names
    assert all(module["variants"] for module in described["modules"])


def test_expand_prints_the_same_graph_as_the_library(cli: CliRunner) -> None:
    result = cli("blueprints", "expand", "image-audio", "--set", "NumOfSegments=3")
    assert result.code == 0, result.stderr
    printed = json.loads(result.stdout)
    expected = expand(load_blueprint("image-audio"), {"NumOfSegments": 3}).to_dict()
    assert printed == expected
    narration = [job for job in printed["jobs"] if job["kind"] == "narration"]
    assert len(narration) == 3


def test_expand_reads_an_inputs_file_and_set_wins(cli: CliRunner, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.yaml"
    inputs.write_text("inputs:\n  NumOfSegments: 5\n  NumOfImagesPerSegment: 2\n")
    out = tmp_path / "graph.json"
    result = cli(
        "blueprints",
        "expand",
        "image-audio",
        "--inputs",
        str(inputs),
        "--set",
        "NumOfSegments=2",
        "--out",
        str(out),
    )
    assert result.code == 0, result.stderr
    graph = json.loads(out.read_text())
    assert graph["loops"] == {"segment": 2, "image": 2}
    assert sum(1 for job in graph["jobs"] if job["kind"] == "image") == 4


def test_validate_reports_a_dangling_reference_with_file_and_line(cli: CliRunner, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    text = Path(load_blueprint("audio-only").file).read_text(encoding="utf-8")
    assert "Script.NarrationScript[segment]" in text
    broken.write_text(text.replace("Script.NarrationScript[segment]", "Script.NoSuchThing[segment]", 1))
    result = cli("blueprints", "validate", str(broken))
    assert result.code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: {broken}:")
    assert "NoSuchThing" in first
    assert result.stderr.splitlines()[1].startswith("hint: ")
    ok = cli("blueprints", "validate", "audio-only")
    assert ok.code == 0 and "valid" in ok.stdout


def test_bad_values_are_usage_errors(cli: CliRunner) -> None:
    cases = [
        (["--set", "NumOfSegments=many"], "NumOfSegments"),
        (["--set", "NumOfSegmets=3"], "did you mean"),
        (["--set", "Style=neon"], "Style"),
        (["--set", "NoEquals"], "NoEquals"),
        (["--model", "Images=nope/nothing"], "Images"),
    ]
    for extra, expected in cases:
        result = cli("blueprints", "expand", "image-audio", *extra)
        assert result.code == 2, (extra, result.stderr)
        assert expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_unknown_blueprint_lists_the_bundled_names(cli: CliRunner) -> None:
    result = cli("blueprints", "describe", "no-such-blueprint")
    assert result.code == 2
    assert "image-audio" in result.stderr


def test_list_shows_the_voiceless_blueprints_and_the_users_own(cli: CliRunner, root: Path) -> None:
    folder = root / "blueprints"
    folder.mkdir(parents=True)
    bundled = Path(load_blueprint("audio-only").file).read_text(encoding="utf-8")
    (folder / "narrated.yaml").write_text(bundled.replace("id: audio-only", "id: my-narrated"))
    (folder / "broken.yml").write_text("meta:\n  id: broken\nmodules: []\nfoo: 1\n")
    (folder / "notes.txt").write_text("not a blueprint")
    listed = json.loads(cli("blueprints", "list", "--json").stdout)
    by_name = {item["name"]: item for item in listed}
    for name in ("image-only", "music-only", "video-only"):
        assert by_name[name]["source"] == "bundled" and by_name[name]["error"] is None
    mine = by_name["my-narrated"]
    assert (mine["source"], mine["inputs"], mine["producers"]) == ("user", 7, 5)
    assert mine["path"] == str(folder / "narrated.yaml")
    assert by_name["broken"]["source"] == "user" and "unknown key 'foo'" in by_name["broken"]["error"]
    assert "notes" not in by_name
    table = cli("blueprints", "list")
    assert table.code == 0, table.stderr
    assert "my-narrated" in table.stdout and "invalid" in table.stdout
    assert "--blueprint broken" in table.stdout.replace("\n", "")
    described = cli("blueprints", "describe", "my-narrated", "--json")  # a user blueprint, by name
    assert described.code == 0, described.stderr
    assert json.loads(described.stdout)["id"] == "my-narrated"
    valid = cli("blueprints", "validate", "narrated", "--set", "NumOfSegments=2", "--json")  # by file name
    assert valid.code == 0 and json.loads(valid.stdout)["valid"] is True, valid.stderr


def test_without_user_blueprints_the_list_is_the_bundled_one(cli: CliRunner) -> None:
    listed = json.loads(cli("blueprints", "list", "--json").stdout)
    assert {item["source"] for item in listed} == {"bundled"}
    assert {"image-only", "music-only", "video-only"} <= {item["name"] for item in listed}
