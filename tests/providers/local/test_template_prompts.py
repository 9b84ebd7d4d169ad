"""Local prompts: key sentences for images, a mood for music, a shot for video; deterministic."""

from __future__ import annotations

import pytest

from tutopanda.providers.local import MOODS, TemplatePromptsHandler, detect_mood, image_prompts, music_prompt

from .conftest import local_context, run

NARRATION = (
    "Deep below the surface, rock melts into magma. It is lighter than the rock around it, so it rises "
    "and gathers in a chamber until the pressure breaks the crust. Then it erupts."
)


def _prompts(kind: str, produces: list[tuple[str, str]], inputs: dict[str, object]) -> dict[str, str]:
    context = local_context(kind, produces, inputs, model="template-prompts")
    result = run(TemplatePromptsHandler("local", "template-prompts"), context)
    assert all(a.status == "succeeded" and a.mime_type == "text/plain" for a in result.artefacts)
    return {a.artefact_id: (a.data or b"").decode() for a in result.artefacts}


def test_an_image_prompt_is_the_most_informative_sentence() -> None:
    [prompt] = image_prompts(NARRATION, "Volcanoes: magma, pressure and eruptions.", 1)
    assert prompt in NARRATION
    assert prompt != "Then it erupts."


def test_several_images_get_distinct_texts_in_narrative_order() -> None:
    produces = [(f"Artifact:ImagePrompts.ImagePrompt[1][{i}]", "text") for i in range(4)]
    inputs = {"NarrativeText": NARRATION, "MovieSummary": "Volcanoes.", "NumOfImages": 4}
    prompts = _prompts("image-prompt", produces, inputs)
    texts = [prompts[artefact_id] for artefact_id, _ in produces]
    assert len(set(texts)) == 4
    flat = " ".join(NARRATION.split())
    positions = [flat.find(text) for text in texts]
    assert all(position >= 0 for position in positions) and positions == sorted(positions)


def test_even_a_one_word_narration_gives_distinct_prompts() -> None:
    texts = image_prompts("Volcanoes.", "", 3)
    assert len(set(texts)) == 3


@pytest.mark.parametrize("mood", list(MOODS))
def test_the_music_prompt_names_a_mood_the_synth_reads_back(mood: str) -> None:
    style = " ".join(MOODS[mood].keywords[:2])
    prompt = music_prompt(style, "A movie about volcanoes that erupt.", NARRATION, 30)
    assert detect_mood(prompt) == mood
    assert "30 seconds" in prompt


def test_without_mood_words_in_the_style_the_story_decides() -> None:
    prompt = music_prompt("Piano", "A dark, ominous tale of danger and suspense.")
    assert detect_mood(prompt) == "tense"


def test_music_and_video_prompt_jobs() -> None:
    music = _prompts(
        "music-prompt",
        [("Artifact:MusicPrompt.MusicPrompt", "text")],
        {"NarrationScripts": [[NARRATION], [NARRATION]], "MovieSummary": "Volcanoes.", "Duration": 30,
         "MusicalStyle": "Calm documentary underscore"},
    )  # fmt: skip
    assert "mood: calm" in music["Artifact:MusicPrompt.MusicPrompt"]
    video = _prompts(
        "video-prompt",
        [("Artifact:VideoPrompts.VideoPrompt[0]", "text")],
        {
            "NarrativeText": NARRATION,
            "MovieSummary": "Volcanoes.",
            "Style": "cinematic",
            "SegmentDuration": 6,
        },
    )
    text = video["Artifact:VideoPrompts.VideoPrompt[0]"]
    assert text.startswith("A 6-second cinematic shot showing:")
    assert len(text) < 400
