"""storage:init, events:append, manifest:build and manifest:show through the CLI, checked via the library."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.cli.conftest import CliResult, CliRunner
from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.event_log import artefact_log, input_log
from tutopanda.core.store.hashing import hash_value
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.storage import StorageConfig, StorageContext


def _ctx(root: Path) -> StorageContext:
    return StorageContext.open(StorageConfig(root=root))


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_storage_init_creates_the_layout_and_is_idempotent(cli: CliRunner, root: Path) -> None:
    first = cli("storage:init", "--movie", "demo")
    assert first.code == 0, first.stderr
    movie = root / "builds" / "demo"
    for relative in ("manifests", "runs", "blobs", "prompts", "events/inputs.log", "events/artefacts.log"):
        assert (movie / relative).exists(), relative
    pointer = json.loads((movie / "current.json").read_text())
    assert pointer["revision"] is None and pointer["hash"] is None
    before = {p: p.read_bytes() for p in movie.rglob("*") if p.is_file() and ".locks" not in p.parts}

    again = cli("storage:init", "--movie", "demo", "--json")
    assert again.code == 0
    assert json.loads(again.stdout)["created"] == []
    after = {p: p.read_bytes() for p in movie.rglob("*") if p.is_file() and ".locks" not in p.parts}
    assert after == before


def test_bad_movie_ids_are_usage_errors_and_nothing_escapes_the_root(cli: CliRunner, root: Path) -> None:
    for bad in ("../escape", "a/b", "", ".hidden", "x" * 200):
        result = cli("storage:init", "--movie", bad)
        assert result.code == 2, bad
        assert result.stderr.startswith("error: ")
        assert "Traceback" not in result.stderr
    assert not (root.parent / "escape").exists()


def test_manifest_show_on_an_uninitialised_movie_says_how_to_initialise(cli: CliRunner) -> None:
    result = cli("manifest:show", "--movie", "nope")
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: movie 'nope' is not initialised")
    assert "tutopanda storage init --movie nope" in lines[1]


def test_input_events_hash_the_real_payload_not_the_file(cli: CliRunner, root: Path, tmp_path: Path) -> None:
    cli("storage:init", "--movie", "demo")
    event_file = _write(
        tmp_path / "inputs.json",
        [
            {"id": "Input:InquiryPrompt", "payload": "Why is the sky blue?", "hash": "0" * 64},
            {"id": "Input:NumOfSegments", "payload": 4},
        ],
    )
    result = cli("events:append", "--movie", "demo", "--type", "input", "--file", str(event_file), "--json")
    assert result.code == 0, result.stderr
    appended = json.loads(result.stdout)["appended"]
    assert appended[0]["hash"] == hash_value("Why is the sky blue?").hash
    events = list(input_log(_ctx(root), "demo"))
    assert [e.id for e in events] == ["Input:InquiryPrompt", "Input:NumOfSegments"]
    assert events[0].hash == hash_value("Why is the sky blue?").hash != "0" * 64
    assert events[1].payload == 4
    assert {e.revision for e in events} == {"rev-0001"}


def test_artefact_events_store_the_payload_file_as_a_blob(cli: CliRunner, root: Path, tmp_path: Path) -> None:
    cli("storage:init", "--movie", "demo")
    image = tmp_path / "slide.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"pixels" * 100)
    event_file = _write(
        tmp_path / "artefacts.json",
        [
            {
                "artefactId": "Artifact:Images.SegmentImage[0][0]",
                "producedBy": "Producer:Images.Imager[0][0]",
                "path": "slide.png",
                "hash": "f" * 64,
            },
            {
                "artefactId": "Artifact:Script.MovieTitle",
                "producedBy": "Producer:Script.ScriptWriter",
                "payload": "Blue skies",
            },
        ],
    )
    result = cli("events:append", "-m", "demo", "-t", "artefact", "-f", str(event_file))
    assert result.code == 0, result.stderr
    ctx = _ctx(root)
    events = list(artefact_log(ctx, "demo"))
    assert events[0].blob is not None and events[1].blob is not None
    assert events[0].blob.hash == hashlib.sha256(image.read_bytes()).hexdigest()
    assert events[0].blob.mime_type == "image/png"
    assert events[1].blob.mime_type == "text/plain"
    blobs = BlobStore(ctx, "demo")
    assert blobs.get_bytes(events[0].blob) == image.read_bytes()
    assert blobs.get_bytes(events[1].blob) == b"Blue skies"


def test_invalid_event_files_get_one_line_errors(cli: CliRunner, tmp_path: Path) -> None:
    cli("storage:init", "--movie", "demo")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"id": "Input:X",\n "payload": }')
    cases = {
        str(bad_json): "bad.json:2: invalid JSON",
        str(_write(tmp_path / "noid.json", {"payload": 1})): "field 'id' is missing",
        str(_write(tmp_path / "badid.json", {"id": "Nope", "payload": 1})): "Input:",
        str(
            _write(tmp_path / "extra.json", {"id": "Input:X", "payload": 1, "colour": 2})
        ): "unknown field 'colour'",
        str(tmp_path / "missing.json"): "no such file",
    }
    for path, expected in cases.items():
        result = cli("events:append", "--movie", "demo", "--type", "input", "--file", path)
        assert result.code == 2, (path, result.stderr)
        assert expected in result.stderr.splitlines()[0], result.stderr
        assert "Traceback" not in result.stderr
    wrong_type = cli("events:append", "--movie", "demo", "--type", "video", "--file", str(bad_json))
    assert wrong_type.code == 2
    assert "use --type input or --type artefact" in wrong_type.stderr


def test_failed_records_append_nothing(cli: CliRunner, root: Path, tmp_path: Path) -> None:
    cli("storage:init", "--movie", "demo")
    event_file = _write(tmp_path / "mixed.json", [{"id": "Input:A", "payload": 1}, {"id": "Input:B"}])
    assert cli("events:append", "-m", "demo", "-t", "input", "-f", str(event_file)).code == 2
    assert list(input_log(_ctx(root), "demo")) == []


def test_build_then_show_current_and_past_revisions(cli: CliRunner, root: Path, tmp_path: Path) -> None:
    cli("storage:init", "--movie", "demo")
    empty = cli("manifest:show", "--movie", "demo")
    assert empty.code == 0
    assert "no manifest yet" in empty.stdout

    first = _write(tmp_path / "one.json", {"id": "Input:InquiryPrompt", "payload": "first"})
    cli("events:append", "-m", "demo", "-t", "input", "-f", str(first))
    built = cli("manifest:build", "--movie", "demo", "--json")
    assert built.code == 0, built.stderr
    assert json.loads(built.stdout)["revision"] == "rev-0001"

    second = _write(tmp_path / "two.json", {"id": "Input:InquiryPrompt", "payload": "second"})
    cli("events:append", "-m", "demo", "-t", "input", "-f", str(second))
    assert cli("manifest:build", "--movie", "demo").code == 0

    current = json.loads(cli("manifest:show", "--movie", "demo", "--json").stdout)
    assert current["revision"] == "rev-0002"
    assert current["baseRevision"] == "rev-0001"
    assert current["inputs"]["Input:InquiryPrompt"]["hash"] == hash_value("second").hash
    past = json.loads(cli("manifest:show", "--movie", "demo", "--revision", "rev-0001", "--json").stdout)
    assert past["inputs"]["Input:InquiryPrompt"]["hash"] == hash_value("first").hash
    assert ManifestStore(_ctx(root), "demo").load_current().revision == "rev-0002"

    table = cli("manifest:show", "--movie", "demo")
    assert "rev-0002" in table.stdout
    assert "Input:InquiryPrompt" in table.stdout
    assert '"second"' in table.stdout

    missing = cli("manifest:show", "--movie", "demo", "--revision", "rev-0009")
    assert missing.code != 0
    assert "rev-0009" in missing.stderr


def test_a_defined_movie_refuses_inputs_and_artefacts_it_cannot_build_with(
    cli: CliRunner, root: Path, tmp_path: Path
) -> None:
    assert cli("storage:init", "--movie", "m", "--blueprint", "audio-only").code == 0
    before = list(input_log(_ctx(root), "m"))

    def append(kind: str, event: dict[str, object]) -> CliResult:
        return cli("events:append", "-m", "m", "-t", kind, "-f", str(_write(tmp_path / "event.json", event)))

    unknown = append("input", {"id": "Input:Nope", "payload": 1})
    assert unknown.code == 2 and "Nope" in unknown.stderr
    wrong_type = append("input", {"id": "Input:NumOfSegments", "payload": "three"})
    assert wrong_type.code == 2 and "NumOfSegments" in wrong_type.stderr
    assert list(input_log(_ctx(root), "m")) == before  # nothing that would break later builds was recorded
    script = {"producedBy": "Producer:Script.ScriptWriter", "payload": "x"}
    typo = append("artefact", {"artefactId": "Artifact:Script.NarationScript[0]", **script})
    assert typo.code == 2 and "did you mean Artifact:Script.NarrationScript[0]" in typo.stderr
    trace = append("artefact", {"artefactId": "Artifact:Script.MovieTitle", **script, "inputsHash": "abc"})
    assert trace.code == 2 and "inputsHash" in trace.stderr
