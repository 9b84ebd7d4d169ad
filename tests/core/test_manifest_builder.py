"""Replaying events into a manifest: latest input value, latest success — failures never erase a success."""

from __future__ import annotations

from tutopanda.core.clock import FixedClock
from tutopanda.core.store.event_log import artefact_log, input_log
from tutopanda.core.store.manifest_replay import build_manifest, build_manifest_from_logs, latest_succeeded
from tutopanda.core.store.storage import StorageContext

from .factories import EventFactory


def test_latest_input_value_wins(events: EventFactory, clock: FixedClock) -> None:
    inputs = [
        events.input("InquiryPrompt", "pandas", "rev-0001"),
        events.input("Duration", 60, "rev-0001"),
        events.input("InquiryPrompt", "koalas", "rev-0002"),
    ]
    manifest = build_manifest(inputs, [], revision="rev-0002", base_revision="rev-0001", clock=clock)
    assert manifest.inputs["Input:InquiryPrompt"].hash == inputs[2].hash
    assert manifest.inputs["Input:InquiryPrompt"].digest == '"koalas"'
    assert manifest.inputs["Input:Duration"].hash == inputs[1].hash
    assert manifest.revision == "rev-0002" and manifest.base_revision == "rev-0001"


def test_a_failure_never_replaces_an_earlier_success(events: EventFactory, clock: FixedClock) -> None:
    success = events.artefact("Audio.Segment[0]", seed="good", revision="rev-0001")
    failure = events.artefact("Audio.Segment[0]", status="failed", revision="rev-0002")
    skipped = events.artefact("Audio.Segment[0]", status="skipped", revision="rev-0002")
    manifest = build_manifest(
        [], [success, failure, skipped], revision="rev-0002", base_revision=None, clock=clock
    )
    entry = manifest.artefacts["Artifact:Audio.Segment[0]"]
    assert success.blob is not None
    assert entry.blob == success.blob
    assert entry.hash == success.blob.hash
    assert entry.inputs_hash == success.inputs_hash
    assert entry.created_at == success.created_at


def test_a_later_success_replaces_an_earlier_one(events: EventFactory, clock: FixedClock) -> None:
    first = events.artefact("Image.Frame[0]", seed=1, revision="rev-0001")
    second = events.artefact("Image.Frame[0]", seed=2, revision="rev-0002", inputs_hash="e" * 64)
    manifest = build_manifest([], [first, second], revision="rev-0002", base_revision=None, clock=clock)
    assert manifest.artefacts["Artifact:Image.Frame[0]"].blob == second.blob
    assert manifest.artefacts["Artifact:Image.Frame[0]"].inputs_hash == "e" * 64


def test_artefacts_that_never_succeeded_are_absent(events: EventFactory, clock: FixedClock) -> None:
    manifest = build_manifest(
        [],
        [events.artefact("Video.Final", status="failed")],
        revision="rev-0001",
        base_revision=None,
        clock=clock,
    )
    assert manifest.artefacts == {}


def test_filters_by_revision_and_ids(events: EventFactory, clock: FixedClock) -> None:
    history = [
        events.artefact("A.One", seed=1, revision="rev-0001"),
        events.artefact("A.Two", seed=2, revision="rev-0001"),
        events.artefact("A.One", seed=3, revision="rev-0002"),
    ]
    up_to_first = latest_succeeded(history, up_to_revision="rev-0001")
    assert up_to_first["Artifact:A.One"].blob == history[0].blob
    only_two = latest_succeeded(history, ids={"Artifact:A.Two"})
    assert list(only_two) == ["Artifact:A.Two"]
    inputs = [events.input("X", 1, "rev-0001"), events.input("Y", 2, "rev-0003")]
    manifest = build_manifest(
        inputs, history, revision="rev-0003", base_revision=None, clock=clock, up_to_revision="rev-0002"
    )
    assert list(manifest.inputs) == ["Input:X"]
    assert manifest.artefacts["Artifact:A.One"].blob == history[2].blob


def test_building_from_the_movie_logs(ctx: StorageContext, movie: str, events: EventFactory) -> None:
    input_log(ctx, movie).append_many([events.input("Topic", "bees"), events.input("Topic", "wasps")])
    artefact_log(ctx, movie).append_many(
        [events.artefact("Script.Text", seed=1), events.artefact("Script.Text", status="failed")]
    )
    manifest = build_manifest_from_logs(ctx, movie, revision="rev-0001", base_revision=None)
    assert manifest.inputs["Input:Topic"].digest == '"wasps"'
    assert manifest.artefacts["Artifact:Script.Text"].blob == events.blob(1)
