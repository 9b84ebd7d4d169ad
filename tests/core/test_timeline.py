"""The core timeline: document invariants, Ken Burns presets, caption cues and SRT/VTT output."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tutopanda.core.movie.timeline import (
    CAPTION_MAX_CHARS,
    KEN_BURNS_PRESETS,
    CaptionCue,
    KenBurns,
    TimelineDocument,
    cues_from_document,
    ken_burns_for,
    render_srt,
    render_vtt,
    split_caption_text,
    time_cues,
)


def _document(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "t",
        "movieTitle": "Volcanoes",
        "duration": 5,
        "fps": 30,
        "width": 1280,
        "height": 720,
        "segments": [
            {"index": 0, "start": 0, "duration": 2, "clipArtefactId": "Artifact:C[0]",
             "narrationStart": 0.4, "narrationDuration": 1},
            {"index": 1, "start": 2, "duration": 3, "clipArtefactId": "Artifact:C[1]",
             "narrationStart": 2.4, "narrationDuration": 1.8},
        ],
        "tracks": [
            {"id": "clips", "kind": "visual", "clips": [
                {"id": "clip-0", "artefactId": "Artifact:C[0]", "start": 0, "duration": 2, "kenBurns": {
                    "fromScale": 1, "toScale": 1.1, "fromX": 0.5, "fromY": 0.5, "toX": 0.5, "toY": 0.5}},
                {"id": "clip-1", "artefactId": "Artifact:C[1]", "start": 2, "duration": 3}]},
            {"id": "captions", "kind": "captions", "clips": [
                {"id": "cap-0", "start": 0.4, "duration": 1, "text": "Hello."}]},
            {"id": "music", "kind": "music", "clips": [
                {"id": "m", "artefactId": "Artifact:M", "start": 0, "duration": 5, "volume": 0.35}]},
        ],
        "music": {"artefactId": "Artifact:M", "volume": 0.35, "duckingDb": -12, "loop": False},
    }  # fmt: skip
    return {**base, **changes}


def test_a_valid_document_round_trips_as_canonical_json() -> None:
    document = TimelineDocument.model_validate(_document())
    data = document.to_json_bytes()
    assert TimelineDocument.model_validate_json(data) == document
    assert b'"text":"Hello."' in data and b"null" not in data
    assert [cue.text for cue in cues_from_document(document)] == ["Hello."]


def _segments(*spans: tuple[float, float, float, float]) -> list[dict[str, Any]]:
    return [
        {"index": i, "start": s, "duration": d, "narrationStart": ns, "narrationDuration": nd}
        for i, (s, d, ns, nd) in enumerate(spans)
    ]


def _clip_track(kind: str, *clips: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": "x", "kind": kind, "clips": list(clips)}]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"duration": 4}, "ends after the timeline"),
        ({"segments": _segments((0, 2, 0.4, 1), (2.5, 2.5, 2.9, 1))}, "starts at 2.5s"),
        ({"segments": _segments((0, 2, 0.4, 1.7))}, "narration window leaves"),
        ({"segments": _segments((0, 2, 0.4, 1), (2, 2, 2.4, 1))}, "the segments last 4"),
        ({"tracks": _clip_track("captions", {"id": "c", "artefactId": "A", "start": 0, "duration": 1})},
         "needs text"),
        ({"tracks": _clip_track("visual", {"id": "c", "start": 0, "duration": 1})}, "needs an artefactId"),
        ({"tracks": _clip_track("visual", {"id": "c", "artefactId": "A", "start": 0, "duration": 1,
                                           "volume": 1})}, "volume belongs"),
        ({"tracks": _clip_track("music", {"id": "a", "artefactId": "A", "start": 0, "duration": 2},
                                {"id": "b", "artefactId": "A", "start": 1, "duration": 2})}, "starts before"),
        ({"music": {"artefactId": "M", "volume": 0.3, "duckingDb": 3, "loop": True}}, "less than or equal"),
        ({"fps": 0}, "greater than or equal"),
        ({"extra": 1}, "extra"),
    ],
)  # fmt: skip
def test_inconsistent_documents_are_refused(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        TimelineDocument.model_validate(_document(**changes))


def test_a_ken_burns_view_must_stay_inside_the_picture() -> None:
    with pytest.raises(ValidationError, match="leaves the picture"):
        KenBurns(from_scale=1.0, to_scale=1.2, from_x=0.4, from_y=0.5, to_x=0.5, to_y=0.5)


def test_ken_burns_presets_are_six_distinct_moves_chosen_by_index() -> None:
    assert len(set(KEN_BURNS_PRESETS)) == 6
    assert ken_burns_for(0, 0) == ken_burns_for(6, 0) == ken_burns_for(1, 1)
    assert len({ken_burns_for(segment, 0) for segment in range(6)}) == 6
    assert len({ken_burns_for(3, image) for image in range(3)}) == 3
    with pytest.raises(ValueError):
        ken_burns_for(-1, 0)


def test_sentences_then_clauses_then_words() -> None:
    text = (
        "Magma rises.  It is lighter than the rock around it, so it rises and gathers in a chamber until "
        "the pressure breaks the crust! Really?"
    )
    assert split_caption_text(text) == [
        "Magma rises.",
        "It is lighter than the rock around it,",
        "so it rises and gathers in a chamber",
        "until the pressure breaks the crust!",
        "Really?",
    ]
    assert split_caption_text(" \n ") == []


def test_cues_are_timed_by_length_inside_the_window() -> None:
    cues = time_cues(["aaaa", "aaaaaaaaaaaa"], 1.0, 2.0)
    assert cues == [CaptionCue(1.0, 1.5, "aaaa"), CaptionCue(1.5, 3.0, "aaaaaaaaaaaa")]
    assert time_cues(["a", "b", "c"], 0.0, 0.002) == [CaptionCue(0.0, 0.002, "a b c")]
    assert time_cues(["a"], 0.0, 0.0) == []


def test_srt_and_vtt_format() -> None:
    cues = [CaptionCue(0.4, 2.5, "Hello <world> & you"), CaptionCue(3661.001, 3662.0, "a --> b")]
    assert render_srt(cues) == (
        "1\n00:00:00,400 --> 00:00:02,500\nHello <world> & you\n\n2\n01:01:01,001 --> 01:01:02,000\na -> b\n"
    )
    assert render_vtt(cues) == (
        "WEBVTT\n\n00:00:00.400 --> 00:00:02.500\nHello &lt;world&gt; &amp; you\n\n"
        "01:01:01.001 --> 01:01:02.000\na -&gt; b\n"
    )


_words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20
)
_text = st.lists(
    st.tuples(
        _words,
        st.sampled_from(["", ".", ",", "!", "?", ";", "…", ":", "—"]),
        st.sampled_from([" ", "\n", "  "]),
    ),
    max_size=40,
).map(lambda parts: "".join(word + mark + space for word, mark, space in parts))


@settings(max_examples=200, deadline=None)
@given(text=_text, max_chars=st.integers(min_value=10, max_value=80))
def test_splitting_never_loses_text(text: str, max_chars: int) -> None:
    lines = split_caption_text(text, max_chars)
    assert " ".join(lines) == " ".join(text.split())
    assert all(line and line == line.strip() for line in lines)
    # Only a single word longer than the limit may exceed it.
    assert all(len(line) <= max_chars or " " not in line for line in lines)


@settings(max_examples=200, deadline=None)
@given(
    text=_text,
    start=st.floats(min_value=0, max_value=3600, allow_nan=False),
    duration=st.floats(min_value=0.001, max_value=60, allow_nan=False),
)
def test_cues_are_ordered_inside_the_window_and_keep_the_text(
    text: str, start: float, duration: float
) -> None:
    lines = split_caption_text(text, CAPTION_MAX_CHARS)
    cues = time_cues(lines, start, duration)
    assert " ".join(cue.text for cue in cues) == " ".join(lines)
    window_start, window_end = round(start, 3), round(start + duration, 3)
    for before, after in itertools.pairwise(cues):
        assert before.end == after.start
    for cue in cues:
        assert window_start - 1e-9 <= cue.start < cue.end <= window_end + 1e-9
    srt = render_srt(cues)
    assert srt.count(" --> ") == len(cues)
    assert render_vtt(cues).startswith("WEBVTT\n")
