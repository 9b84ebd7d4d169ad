"""Local draft script: a clearly marked DRAFT with one narration per requested segment, sized to time."""

from __future__ import annotations

from tutopanda.providers.local import DraftScriptHandler

from .conftest import local_context, run


def _script(
    segments: int, duration: int = 60, prompt: str = "How do volcanoes erupt?", shuffle: bool = False
):
    produces = [("Artifact:Script.MovieTitle", "text"), ("Artifact:Script.MovieSummary", "text")]
    produces += [(f"Artifact:Script.NarrationScript[{i}]", "text") for i in range(segments)]
    if shuffle:
        produces.reverse()
    inputs = {"InquiryPrompt": prompt, "Duration": duration, "NumOfSegments": segments, "Audience": "teen"}
    result = run(DraftScriptHandler("local", "draft-script"), local_context("script", produces, inputs))
    return {a.artefact_id.rsplit(".", 1)[1]: (a.data or b"").decode() for a in result.artefacts}, result


def test_title_summary_and_one_narration_per_segment_all_marked_draft() -> None:
    texts, result = _script(4)
    assert set(texts) == {"MovieTitle", "MovieSummary"} | {f"NarrationScript[{i}]" for i in range(4)}
    assert texts["MovieTitle"] == "Draft: How do volcanoes erupt?"
    assert texts["MovieSummary"].startswith("Draft outline in 4 segments")
    assert "teen" in texts["MovieSummary"]
    for i in range(4):
        narration = texts[f"NarrationScript[{i}]"]
        assert narration.startswith("Draft — replace this narration.")
        assert f"Segment {i + 1} of 4" in narration
        assert "volcanoes" in narration
    assert all(a.mime_type == "text/plain" and a.diagnostics["draft"] for a in result.artefacts)


def test_narration_is_sized_to_the_duration_at_about_two_and_a_half_words_a_second() -> None:
    for duration, segments in ((60, 3), (300, 2), (20, 4)):
        texts, _ = _script(segments, duration)
        target = max(duration * 2.5 / segments, 12)
        for i in range(segments):
            words = len(texts[f"NarrationScript[{i}]"].split())
            assert 0.7 * target <= words <= 1.3 * target + 8, (duration, segments, words)


def test_artefacts_are_matched_by_name_not_position() -> None:
    texts, _ = _script(3, shuffle=True)
    assert texts["MovieTitle"].startswith("Draft:")
    assert "Segment 3 of 3" in texts["NarrationScript[2]"]


def test_the_draft_is_deterministic() -> None:
    assert _script(3)[0] == _script(3)[0]
    assert _script(3)[0] != _script(3, prompt="Why is the sky blue?")[0]
