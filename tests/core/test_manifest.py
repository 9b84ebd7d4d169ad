"""The manifest model: hashes and digests only, validated, written in one stable pretty format."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from tutopanda.core.errors import CorruptDataError
from tutopanda.core.store.blob_ref import BlobRef
from tutopanda.core.store.manifest import (
    Manifest,
    ManifestArtefact,
    ManifestInput,
    empty_manifest,
    manifest_bytes,
    parse_manifest,
)

BLOB = BlobRef.for_bytes(b"narration", "audio/mpeg")
WHEN = "2026-01-01T00:00:00.000Z"


def _artefact(**overrides: object) -> ManifestArtefact:
    fields: dict[str, object] = {
        "hash": BLOB.hash,
        "blob": BLOB,
        "produced_by": "Producer:Audio.Producer[0]",
        "inputs_hash": "a" * 64,
        "provider": "mock",
        "created_at": WHEN,
    }
    fields.update(overrides)
    return ManifestArtefact.model_validate(fields)


def _manifest() -> Manifest:
    return Manifest(
        revision="rev-0002",
        base_revision="rev-0001",
        created_at=WHEN,
        inputs={"Input:InquiryPrompt": ManifestInput(hash="b" * 64, digest='"Pandas"', created_at=WHEN)},
        artefacts={"Artifact:Audio.Segment[0]": _artefact()},
    )


def test_manifest_file_is_compact_sorted_camel_case_with_trailing_newline() -> None:
    data = manifest_bytes(_manifest())
    assert data.endswith(b"}\n") and data.count(b"\n") == 1
    text = data.decode()
    assert text.startswith('{"artefacts":{')
    parsed = json.loads(text)
    assert list(parsed) == sorted(parsed)
    assert set(parsed) == {"artefacts", "baseRevision", "createdAt", "inputs", "revision", "timeline"}
    artefact = parsed["artefacts"]["Artifact:Audio.Segment[0]"]
    assert artefact["blob"] == {"hash": BLOB.hash, "mimeType": "audio/mpeg", "size": 9}
    assert artefact["inputsHash"] == "a" * 64
    assert parsed["inputs"]["Input:InquiryPrompt"] == {
        "createdAt": WHEN,
        "digest": '"Pandas"',
        "hash": "b" * 64,
    }


def test_manifest_round_trips_byte_for_byte() -> None:
    data = manifest_bytes(_manifest())
    assert parse_manifest(data, "rev-0002.json") == _manifest()
    assert manifest_bytes(parse_manifest(data, "rev-0002.json")) == data


def test_empty_manifest_is_revision_zero() -> None:
    empty = empty_manifest()
    assert empty.revision == "rev-0000"
    assert empty.is_empty_revision
    assert empty.inputs == {} and empty.artefacts == {}


@pytest.mark.parametrize(
    "change",
    [
        {"revision": "rev-2"},
        {"base_revision": "rev-0002"},
        {"base_revision": "rev-0005"},
        {"inputs": {"Prompt": ManifestInput(hash="b" * 64, digest="x", created_at=WHEN)}},
        {"artefacts": {"Movie": _artefact()}},
    ],
)
def test_inconsistent_manifests_are_refused(change: dict[str, object]) -> None:
    fields = _manifest().model_dump()
    fields.update(change)
    with pytest.raises(ValidationError):
        Manifest.model_validate(fields)


def test_an_artefact_hash_must_be_its_blob_hash() -> None:
    with pytest.raises(ValidationError, match="differs from its blob hash"):
        _artefact(hash="c" * 64)


@pytest.mark.parametrize("data", [b"", b"not json", b"[]", b'{"revision": "rev-0001"}'])
def test_unparsable_manifest_files_are_corrupt_data(data: bytes) -> None:
    with pytest.raises(CorruptDataError) as caught:
        parse_manifest(data, "/m/rev-0001.json")
    assert "/m/rev-0001.json" in caught.value.message
    assert caught.value.hint is not None
