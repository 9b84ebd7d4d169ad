"""Expansion into a job graph: counts, fan-in, nested loops, canonical ids, selection, limits, determinism."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tutopanda.core.blueprint import FanIn, JobGraph, expand, load_blueprint
from tutopanda.core.errors import InputValidationError
from tutopanda.core.store.hashing import canonical_json


def _graph(name: str, **values: object) -> JobGraph:
    return expand(load_blueprint(name), {key: str(value) for key, value in values.items()})


def _count(graph: JobGraph, module: str) -> int:
    return sum(1 for job in graph.jobs if job.module == module)


@pytest.mark.parametrize(("segments", "images"), [(1, 1), (2, 3), (3, 2), (5, 4)])
def test_image_audio_job_counts(segments: int, images: int) -> None:
    graph = _graph("image-audio", NumOfSegments=segments, NumOfImagesPerSegment=images)
    modules = ("Script", "Narration", "ImagePrompts", "Images", "Clips", "Music")
    counts = {module: _count(graph, module) for module in modules}
    assert counts == {
        "Script": 1,
        "Narration": segments,
        "ImagePrompts": segments,
        "Images": segments * images,
        "Clips": segments,
        "Music": 1,
    }
    # + music prompt, timeline, export
    assert len(graph.jobs) == 1 + 3 * segments + segments * images + 1 + 3
    prompts = [item.id for job in graph.jobs if job.module == "ImagePrompts" for item in job.produces]
    assert len(prompts) == segments * images


@pytest.mark.parametrize("segments", [1, 2, 7])
def test_other_bundled_job_counts(segments: int) -> None:
    # script, narration and a clip per segment, timeline, export
    assert len(_graph("audio-only", NumOfSegments=segments).jobs) == 1 + 2 * segments + 2
    # + per segment a video prompt and a video; music prompt and music
    assert len(_graph("video-audio-music", NumOfSegments=segments).jobs) == 1 + 4 * segments + 4


def test_nested_loop_indices_and_ids() -> None:
    graph = _graph("image-audio", NumOfSegments=2, NumOfImagesPerSegment=3)
    job = graph.job("Producer:Images.Illustrator[1][2]")
    assert dict(job.loop_indices) == {"segment": 1, "image": 2}
    assert job.indices == (1, 2)
    assert job.bindings["Prompt"] == "Artifact:ImagePrompts.ImagePrompt[1][2]"
    assert [item.id for item in job.produces] == ["Artifact:Images.SegmentImage[1][2]"]
    writer = graph.producer_of("Artifact:ImagePrompts.ImagePrompt[1][2]")
    assert writer is not None and writer.id == "Producer:ImagePrompts.ImagePromptWriter[1]"
    assert [item.id for item in writer.produces] == [
        f"Artifact:ImagePrompts.ImagePrompt[1][{k}]" for k in range(3)
    ]
    script = graph.job("Producer:Script.ScriptWriter")
    assert script.indices == () and dict(script.loop_indices) == {}
    assert [item.id for item in script.produces][-2:] == [
        "Artifact:Script.NarrationScript[0]",
        "Artifact:Script.NarrationScript[1]",
    ]


def test_timeline_fan_in_is_complete_and_ordered() -> None:
    graph = _graph("image-audio", NumOfSegments=3, NumOfImagesPerSegment=2)
    timeline = graph.job("Producer:Timeline.TimelineComposer")
    images = timeline.bindings["Images"]
    assert isinstance(images, FanIn)
    assert (images.group_by, images.order_by) == ("segment", "image")
    expected = [(f"Artifact:Images.SegmentImage[{s}][{i}]", s, i) for s in range(3) for i in range(2)]
    assert [(m.id, m.group, m.order) for m in images.members] == expected
    assert images.groups() == [[member for member, group, _ in expected if group == s] for s in range(3)]
    audio = timeline.bindings["Audio"]
    assert isinstance(audio, FanIn) and audio.order_by is None
    assert [(m.id, m.group, m.order) for m in audio.members] == [
        (f"Artifact:Narration.SegmentAudio[{s}]", s, None) for s in range(3)
    ]
    # every member is an input of the job, so replacing one clip dirties the timeline
    assert {m.id for m in images.members + audio.members} <= set(timeline.inputs)
    assert list(timeline.inputs) == sorted(timeline.inputs)
    consumers = {job.id for job in graph.consumers_of("Artifact:Images.SegmentImage[2][1]")}
    assert consumers == {timeline.id, "Producer:Clips.SegmentRenderer[2]"}
    clip = graph.job("Producer:Clips.SegmentRenderer[2]")
    clip_images = clip.bindings["Images"]
    assert isinstance(clip_images, FanIn)
    assert [m.id for m in clip_images.members] == [f"Artifact:Images.SegmentImage[2][{i}]" for i in range(2)]


def test_music_prompt_collects_every_narration_script() -> None:
    graph = _graph("video-audio-music", NumOfSegments=4)
    music_prompt = graph.job("Producer:MusicPrompt.MusicPromptWriter")
    scripts = music_prompt.bindings["NarrationScripts"]
    assert isinstance(scripts, FanIn)
    assert [m.id for m in scripts.members] == [f"Artifact:Script.NarrationScript[{s}]" for s in range(4)]
    assert graph.job("Producer:Music.Composer").bindings["Prompt"] == "Artifact:MusicPrompt.MusicPrompt"


def test_unwired_module_input_becomes_a_module_input_id() -> None:
    graph = _graph("audio-only", NumOfSegments=2)
    narrator = graph.job("Producer:Narration.Narrator[0]")
    assert narrator.bindings["Emotion"] == "Input:Narration.Emotion"
    assert narrator.bindings["VoiceId"] == "Input:VoiceId"
    assert "Input:Narration.Emotion" in narrator.inputs
    assert graph.inputs.values["Input:Narration.Emotion"].value == "neutral"
    assert graph.inputs.values["Input:Narration.Emotion"].source == "default"
    # an optional producer input with no value and no wire is simply absent
    timeline = graph.job("Producer:Timeline.TimelineComposer")
    assert "Images" not in timeline.bindings and "Music" not in timeline.bindings


def test_edges_and_order_are_topological() -> None:
    graph = _graph("video-audio-music", NumOfSegments=3)
    position = {job_id: index for index, job_id in enumerate(graph.order)}
    assert len(position) == len(graph.jobs)
    assert all(position[source] < position[target] for source, target in graph.edges)
    assert ("Producer:Script.ScriptWriter", "Producer:Narration.Narrator[2]") in graph.edges
    assert ("Producer:Videos.VideoGenerator[1]", "Producer:Timeline.TimelineComposer") in graph.edges
    assert graph.order[-1] == "Producer:Export.VideoExporter"
    # every consumed artefact is produced by some job; every edge follows an artefact
    for job in graph.jobs:
        for consumed in job.inputs:
            if consumed.startswith("Artifact:"):
                upstream = graph.producer_of(consumed)
                assert upstream is not None and (upstream.id, job.id) in graph.edges


def test_expansion_is_deterministic() -> None:
    blueprint = load_blueprint("image-audio")
    first = expand(blueprint, {"NumOfSegments": "3", "Style": "anime", "NumOfImagesPerSegment": 2})
    second = expand(
        load_blueprint("image-audio"), {"NumOfImagesPerSegment": "2", "Style": "anime", "NumOfSegments": 3}
    )
    assert canonical_json(first.to_dict()) == canonical_json(second.to_dict())
    assert json.dumps(first.to_dict()) == json.dumps(second.to_dict())


def test_the_same_values_from_other_sources_share_one_expansion() -> None:
    # A new movie's values are checked as defaults, then recorded and loaded as the user's: one
    # expansion for both (jobs shared), each graph keeping the sources it was asked with.
    blueprint = load_blueprint("image-audio")
    defaults = expand(blueprint, {"NumOfSegments": "4"})
    recorded = {key[len("Input:") :]: item.value for key, item in defaults.inputs.values.items()}
    loaded = expand(blueprint, recorded)
    assert loaded.jobs is defaults.jobs and loaded.edges is defaults.edges
    assert defaults.inputs.values["Input:Style"].source == "default"
    assert loaded.inputs.values["Input:Style"].source == "user"
    assert loaded.job(loaded.jobs[0].id) is defaults.jobs[0]
    assert loaded.parents == defaults.parents
    other = expand(blueprint, {**recorded, "Style": "anime"})  # another value: its own expansion
    assert other.jobs is not defaults.jobs


def test_jobs_and_graph_are_immutable() -> None:
    graph = _graph("audio-only", NumOfSegments=1)
    job = graph.jobs[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.id = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        graph.jobs = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        job.bindings["x"] = "y"  # type: ignore[index]
    with pytest.raises(TypeError):
        job.variant.config["x"] = 1  # type: ignore[index]


def test_default_variant_is_the_first_and_selection_picks_another() -> None:
    blueprint = load_blueprint("image-audio")
    graph = expand(blueprint, {})
    assert (
        graph.job("Producer:Images.Illustrator[0][0]").variant.provider,
        graph.job("Producer:Images.Illustrator[0][0]").variant.model,
    ) == ("local", "slides")
    chosen = expand(
        blueprint,
        {},
        {
            "Images": ("replicate", "black-forest-labs/flux-schnell"),
            "Script.ScriptWriter": ("OpenAI", "gpt-5-mini"),
        },
    )
    images = chosen.job("Producer:Images.Illustrator[0][0]").variant
    assert (images.provider, images.model) == ("replicate", "black-forest-labs/flux-schnell")
    assert dict(images.config) == {"numInferenceSteps": 4, "outputFormat": "png"}
    script = chosen.job("Producer:Script.ScriptWriter").variant
    assert script.model == "gpt-5-mini" and script.prompt is not None and "{{InquiryPrompt}}" in script.prompt


def test_unknown_selection_lists_the_choices() -> None:
    blueprint = load_blueprint("image-audio")
    with pytest.raises(InputValidationError) as caught:
        expand(blueprint, {}, {"Images": ("replicate", "flux")})
    assert caught.value.hint == "variants of Images: local/slides, replicate/black-forest-labs/flux-schnell"
    with pytest.raises(InputValidationError) as caught:
        expand(blueprint, {}, {"Imagse": ("local", "slides")})
    assert caught.value.hint is not None and caught.value.hint.startswith("did you mean 'Images'?")


MINIMAL = """\
meta: {id: minimal}
inputs:
  - {name: Topic, type: string}
  - {name: Count, type: int, default: 2}
  - {name: Inner, type: int, default: 2}
loops:
  - {name: segment, countInput: Count}
  - {name: image, countInput: Inner, parent: segment}
modules:
  - name: Draw
    loop: image
    define:
      producer: Painter
      kind: image
      inputs: [{name: Topic, type: string}]
      artefacts: [{name: Picture, kind: image}]
      variants: [{provider: local, model: slides}]
    inputs: {Topic: Topic}
  - name: Page
    loop: segment
    define:
      producer: Composer
      kind: timeline
      inputs: [{name: Pictures, type: image, fanIn: true}]
      artefacts: [{name: Layout, kind: json}]
      variants: [{provider: tutopanda, model: ordered-timeline}]
    inputs:
      Pictures: {collect: Draw.Picture, groupBy: segment, orderBy: image}
"""


def _minimal(tmp_path: Path) -> Path:
    path = tmp_path / "minimal.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    return path


def test_missing_required_input_is_reported(tmp_path: Path) -> None:
    blueprint = load_blueprint(str(_minimal(tmp_path)))
    with pytest.raises(InputValidationError) as caught:
        expand(blueprint, {"Count": "2"})
    assert caught.value.message == "missing required input: Topic"
    assert caught.value.hint == "give a value with --set Topic=... or in an inputs file"


def test_fan_in_inside_a_loop_collects_only_its_own_group(tmp_path: Path) -> None:
    graph = expand(load_blueprint(str(_minimal(tmp_path))), {"Topic": "t", "Count": 3, "Inner": 2})
    page = graph.job("Producer:Page.Composer[1]")
    pictures = page.bindings["Pictures"]
    assert isinstance(pictures, FanIn)
    assert [m.id for m in pictures.members] == ["Artifact:Draw.Picture[1][0]", "Artifact:Draw.Picture[1][1]"]
    assert {source for source, target in graph.edges if target == page.id} == {
        "Producer:Draw.Painter[1][0]",
        "Producer:Draw.Painter[1][1]",
    }


def test_absurd_counts_are_refused(tmp_path: Path) -> None:
    blueprint = load_blueprint(str(_minimal(tmp_path)))
    with pytest.raises(InputValidationError) as caught:
        expand(blueprint, {"Topic": "t", "Count": 1_001})
    assert "loop segment would repeat 1001 times" in caught.value.message
    assert "more than the limit of 1,000" in caught.value.message
    with pytest.raises(InputValidationError) as caught:
        expand(blueprint, {"Topic": "t", "Count": 1_000, "Inner": 1_000})
    assert "more than the cap" in caught.value.message
    assert caught.value.hint == "lower the loop counts"
    with pytest.raises(InputValidationError) as caught:
        expand(blueprint, {"Topic": "t", "Count": -1})
    assert caught.value.hint == "give Count a value between 0 and 1000"


def test_zero_count_gives_empty_loops(tmp_path: Path) -> None:
    graph = expand(load_blueprint(str(_minimal(tmp_path))), {"Topic": "t", "Count": 0})
    assert graph.jobs == ()


def test_to_dict_shape() -> None:
    data = _graph("audio-only", NumOfSegments=1).to_dict()
    assert list(data) == ["blueprint", "loops", "inputs", "jobs", "edges"]
    assert data["blueprint"] == {"id": "audio-only", "version": "1"}
    assert data["loops"] == {"segment": 1}
    assert data["inputs"]["Input:NumOfSegments"] == {"source": "user", "value": 1}
    job = data["jobs"][-2]
    assert job["id"] == "Producer:Timeline.TimelineComposer"
    assert job["bindings"]["Audio"] == {
        "fanIn": {
            "groupBy": "segment",
            "orderBy": None,
            "members": [{"id": "Artifact:Narration.SegmentAudio[0]", "group": 0, "order": None}],
        }
    }
    assert job["produces"] == [{"id": "Artifact:Timeline.Timeline", "kind": "json"}]
    assert job["variant"]["provider"] == "tutopanda"
    assert data["edges"][0] == ["Producer:Script.ScriptWriter", "Producer:Narration.Narrator[0]"]
    json.dumps(data, allow_nan=False)
