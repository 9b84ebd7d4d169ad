"""Events carry hashes computed from the real payload, use camelCase on disk and refuse impossible states."""

from __future__ import annotations

import json

import pytest

from tutopanda.core.clock import FixedClock
from tutopanda.core.errors import InputValidationError
from tutopanda.core.store.blob_ref import BlobRef, extension_for_mime
from tutopanda.core.store.event_log import encode_event
from tutopanda.core.store.events import ArtefactEvent, artefact_event, input_event
from tutopanda.core.store.hashing import hash_value, sha256_hex

from .factories import EventFactory


def test_input_event_hashes_the_value_and_keeps_a_short_digest(clock: FixedClock) -> None:
    long_text = "Explain photosynthesis " * 40
    event = input_event(
        "Input:InquiryPrompt", long_text, revision="rev-0003", clock=clock, edited_by="default"
    )
    expected = hash_value(long_text)
    assert event.hash == expected.hash
    assert event.digest == expected.digest
    assert len(event.digest) <= 120
    assert event.payload == long_text
    assert event.created_at == "2026-01-01T00:00:00.000Z"
    assert event.edited_by == "default"


def test_equal_values_hash_equal_whatever_their_unicode_form(clock: FixedClock) -> None:
    composed = input_event("Input:Title", "caf\u00e9", revision="rev-0001", clock=clock)
    decomposed = input_event("Input:Title", "cafe\u0301", revision="rev-0001", clock=clock)
    assert composed.hash == decomposed.hash


def test_bytes_inputs_are_hashed_as_blobs(clock: FixedClock) -> None:
    event = input_event("Input:Logo", b"\x89PNG...", revision="rev-0001", clock=clock)
    assert event.hash == sha256_hex(b"\x89PNG...")
    assert event.payload == {"$bytes": sha256_hex(b"\x89PNG..."), "size": 7}


@pytest.mark.parametrize("value", [float("nan"), {1, 2}, object()])
def test_values_without_a_json_form_are_refused(clock: FixedClock, value: object) -> None:
    with pytest.raises(InputValidationError):
        input_event("Input:Duration", value, revision="rev-0001", clock=clock)


def test_bad_input_ids_are_refused(clock: FixedClock) -> None:
    with pytest.raises(InputValidationError):
        input_event("InquiryPrompt", "x", revision="rev-0001", clock=clock)


def test_events_are_written_as_canonical_camel_case_lines(events: EventFactory) -> None:
    line = encode_event(events.artefact("Audio.Segment[0]"))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    data = json.loads(line)
    assert sorted(data) == [
        "artefactId", "createdAt", "diagnostics", "inputsHash", "model", "output", "producedBy", "provider",
        "revision", "status",
    ]  # fmt: skip
    assert data["output"]["blob"]["mimeType"] == "text/plain"
    assert ArtefactEvent.model_validate_json(line) == events.artefact("Audio.Segment[0]").model_copy(
        update={"created_at": data["createdAt"]}
    )


def test_failed_event_has_empty_output_and_error_diagnostics(events: EventFactory) -> None:
    data = json.loads(encode_event(events.artefact(status="failed")))
    assert data["output"] == {}
    assert data["diagnostics"] == {"error": {"name": "Error", "message": "provider said no"}}


def test_a_success_without_a_blob_is_refused(clock: FixedClock) -> None:
    with pytest.raises(InputValidationError, match="no output blob"):
        artefact_event(
            "Artifact:Script.Text",
            status="succeeded",
            revision="rev-0001",
            inputs_hash="f" * 64,
            produced_by="Producer:Script.Producer",
            provider="mock",
            clock=clock,
        )


def test_exceptions_become_error_diagnostics(clock: FixedClock) -> None:
    event = artefact_event(
        "Artifact:Image.Frame[2]",
        status="failed",
        revision="rev-0002",
        inputs_hash="f" * 64,
        produced_by="Producer:Image.Producer[2]",
        provider="replicate",
        model="flux",
        clock=clock,
        error=TimeoutError("took too long"),
    )
    assert event.diagnostics == {"error": {"name": "TimeoutError", "message": "took too long"}}
    assert event.blob is None


def test_blob_refs_know_their_extension() -> None:
    assert BlobRef.for_bytes(b"x", "audio/mpeg").extension == "mp3"
    assert extension_for_mime("image/jpeg") == "jpg"
    assert extension_for_mime("text/plain; charset=utf-8") == "txt"
    assert extension_for_mime("application/x-unknown") == "bin"
