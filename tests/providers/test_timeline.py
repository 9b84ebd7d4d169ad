"""The mock timeline: narration drives segment length; images, videos and music are laid over it."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import ValidationError

from tutopanda.providers.mock import MockHandler, TimelineDocument
from tutopanda.testing import make_artefact_input, sample_job_context, sample_narration_audio


def _timeline(**inputs: object) -> TimelineDocument:
    context = sample_job_context("timeline", inputs=inputs)
    (artefact,) = asyncio.run(MockHandler().produce(context)).artefacts
    assert artefact.mime_type == "application/json"
    return TimelineDocument.model_validate_json(artefact.data or b"")


def _track(document: TimelineDocument, track_id: str) -> list[tuple[str | None, float, float]]:
    (track,) = [track for track in document.tracks if track.id == track_id]
    return [(clip.artefact_id, clip.start, clip.duration) for clip in track.clips]


def test_the_sample_timeline_has_every_track() -> None:
    context = sample_job_context("timeline", segments=2)
    (artefact,) = asyncio.run(MockHandler().produce(context)).artefacts
    document = TimelineDocument.model_validate_json(artefact.data or b"")
    assert document.movie_title == "Volcanoes"
    assert document.duration == 5.0  # narration of 2 s and 3 s, read from the WAV headers
    assert [(track.id, track.kind) for track in document.tracks] == [
        ("clips", "visual"),
        ("images", "visual"),
        ("videos", "visual"),
        ("narration", "narration"),
        ("captions", "captions"),
        ("music", "music"),
    ]
    assert [(s.start, s.duration, s.clip_artefact_id) for s in document.segments] == [
        (0.0, 2.0, "Artifact:Clips.SegmentClip[0]"),
        (2.0, 3.0, "Artifact:Clips.SegmentClip[1]"),
    ]
    (captions,) = document.track("captions")
    assert captions.clips[0].start == 0.0 and captions.clips[-1].end == pytest.approx(5.0)
    assert document.music is not None and document.music.loop is False  # 12 s of music, 5 s movie
    assert _track(document, "narration") == [
        ("Artifact:Narration.SegmentAudio[0]", 0.0, 2.0),
        ("Artifact:Narration.SegmentAudio[1]", 2.0, 3.0),
    ]
    assert _track(document, "images") == [
        ("Artifact:Images.SegmentImage[0][0]", 0.0, 1.0),
        ("Artifact:Images.SegmentImage[0][1]", 1.0, 1.0),
        ("Artifact:Images.SegmentImage[1][0]", 2.0, 1.5),
        ("Artifact:Images.SegmentImage[1][1]", 3.5, 1.5),
    ]
    assert _track(document, "videos")[1] == ("Artifact:Videos.SegmentVideo[1]", 2.0, 3.0)
    assert _track(document, "music") == [("Artifact:Music.Music", 0.0, 5.0)]
    assert artefact.diagnostics["estimatedDurations"] == []


def test_the_json_shape_is_camel_case_and_canonical() -> None:
    context = sample_job_context("timeline")
    (artefact,) = asyncio.run(MockHandler().produce(context)).artefacts
    raw = json.loads(artefact.data or b"")
    assert sorted(raw) == [
        "duration", "fps", "height", "id", "movieTitle", "music", "segments", "tracks", "width",
    ]  # fmt: skip
    assert sorted(raw["tracks"][0]) == ["clips", "id", "kind"]
    assert sorted(raw["tracks"][0]["clips"][0]) == ["artefactId", "duration", "id", "start"]
    assert sorted(raw["segments"][0]) == [
        "clipArtefactId", "duration", "index", "narrationDuration", "narrationStart", "start",
    ]  # fmt: skip
    assert sorted(raw["music"]) == ["artefactId", "duckingDb", "loop", "volume"]
    assert (artefact.data or b"").decode() == json.dumps(raw, sort_keys=True, separators=(",", ":"))


def test_audio_only_timelines_have_just_narration() -> None:
    document = _timeline(Audio=[[sample_narration_audio(i, 1.25)] for i in range(3)], Duration=30)
    assert [track.id for track in document.tracks] == ["narration"]
    assert document.duration == 3.75 and document.movie_title == ""


def test_unreadable_narration_falls_back_to_an_even_share_of_duration() -> None:
    mp3 = make_artefact_input("Artifact:Narration.SegmentAudio[1]", "audio", b"ID3\x04fake", "audio/mpeg")
    context = sample_job_context(
        "timeline", inputs={"Audio": [[sample_narration_audio(0, 2.0)], [mp3]], "Duration": 20}
    )
    (artefact,) = asyncio.run(MockHandler().produce(context)).artefacts
    document = TimelineDocument.model_validate_json(artefact.data or b"")
    assert document.duration == 12.0
    assert artefact.diagnostics["estimatedDurations"] == ["Artifact:Narration.SegmentAudio[1]"]


def test_without_narration_the_duration_input_is_split_across_visual_segments() -> None:
    image = make_artefact_input("Artifact:I.Image[0]", "image", b"\x89PNG\r\n\x1a\n", "image/png")
    other = make_artefact_input("Artifact:I.Image[1]", "image", b"\x89PNG\r\n\x1a\n..", "image/png")
    document = _timeline(Images=[image, other], Duration=9)
    assert _track(document, "images") == [
        ("Artifact:I.Image[0]", 0.0, 4.5),
        ("Artifact:I.Image[1]", 4.5, 4.5),
    ]


def test_an_empty_timeline_is_still_valid() -> None:
    document = _timeline(Duration=7)
    assert (document.duration, document.tracks) == (7.0, ())


def _document(**changes: object) -> dict[str, object]:
    clip = {"id": "c0", "artefactId": "Artifact:A", "start": 0, "duration": 2}
    base: dict[str, object] = {
        "id": "t",
        "movieTitle": "x",
        "duration": 4,
        "fps": 30,
        "width": 1280,
        "height": 720,
        "tracks": [{"id": "n", "kind": "narration", "clips": [clip, {**clip, "id": "c1", "start": 2}]}],
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"duration": 3}, "ends after the timeline"),
        ({"tracks": [{"id": "n", "kind": "subtitles", "clips": []}]}, "kind"),
        ({"tracks": [{"id": "n", "kind": "music", "clips": []}] * 2}, "track ids must be unique"),
        (
            {
                "tracks": [
                    {
                        "id": "n",
                        "kind": "music",
                        "clips": [
                            {"id": "a", "artefactId": "A", "start": 0, "duration": 2},
                            {"id": "b", "artefactId": "B", "start": 1, "duration": 2},
                        ],
                    }
                ]
            },
            "starts before",
        ),
        ({"extra": 1}, "extra"),
    ],
)
def test_the_model_refuses_inconsistent_documents(changes: dict[str, object], problem: str) -> None:
    TimelineDocument.model_validate(_document())
    with pytest.raises(ValidationError, match=problem):
        TimelineDocument.model_validate(_document(**changes))
