"""Bundled blueprints: listed, loadable by name, describable, and the quick start works as documented."""

from __future__ import annotations

from pathlib import Path

from tutopanda.core import blueprint as blueprint_api
from tutopanda.core.blueprint import (
    ARTEFACT_KINDS,
    PRODUCER_KINDS,
    expand,
    list_bundled_blueprints,
    load_blueprint,
    parse_set_options,
)


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_public_api_is_sorted_and_importable() -> None:
    assert blueprint_api.__all__ == sorted(blueprint_api.__all__, key=_isort_key)
    for name in blueprint_api.__all__:
        assert hasattr(blueprint_api, name)


def test_bundled_blueprints_are_listed() -> None:
    summaries = {summary.name: summary for summary in list_bundled_blueprints()}
    assert {"audio-only", "image-audio", "video-audio-music"} <= set(summaries)
    image_audio = summaries["image-audio"]
    assert image_audio.producer_count == 9
    assert image_audio.input_count == 12
    assert image_audio.description
    assert Path(image_audio.path).is_file()


def test_quick_start_expands_with_defaults() -> None:
    graph = expand(load_blueprint("image-audio"), parse_set_options(["NumOfSegments=3"]))
    assert graph.inputs.value("Input:InquiryPrompt") == "How do volcanoes erupt?"
    # script; per segment narration, image prompts, image, clip; music prompt, music, timeline, export
    assert len(graph.jobs) == 1 + 3 * 4 + 4


def test_load_by_path_equals_load_by_name() -> None:
    by_name = load_blueprint("audio-only")
    by_path = load_blueprint(by_name.file)
    assert expand(by_name, {}).to_dict() == expand(by_path, {}).to_dict()


def test_blueprint_exposes_what_describe_needs() -> None:
    blueprint = load_blueprint("image-audio")
    assert (blueprint.meta.id, blueprint.meta.version) == ("image-audio", "1")
    assert blueprint.meta.name and blueprint.meta.description
    segments = blueprint.input("NumOfSegments")
    assert segments is not None
    assert (segments.type, segments.default, segments.minimum, segments.maximum) == ("int", 3, 1, 1_000)
    style = blueprint.input("Style")
    assert style is not None and style.values is not None and style.default in style.values
    assert [(loop.name, loop.count_input, loop.parent) for loop in blueprint.loops] == [
        ("segment", "NumOfSegments", None),
        ("image", "NumOfImagesPerSegment", "segment"),
    ]
    images = blueprint.module("Images")
    assert images is not None
    assert images.kind == "image" and images.loops == ("segment", "image")
    assert images.producer.artefacts[0].kind == "image"
    assert dict(images.artefact_loops) == {"SegmentImage": ("segment", "image")}
    prompts = blueprint.module("ImagePrompts")
    assert prompts is not None and dict(prompts.artefact_loops) == {"ImagePrompt": ("segment", "image")}


def test_bundled_variants_put_an_offline_one_first() -> None:
    for summary in list_bundled_blueprints():
        for module in load_blueprint(summary.name).modules:
            assert module.kind in PRODUCER_KINDS
            assert all(artefact.kind in ARTEFACT_KINDS for artefact in module.producer.artefacts)
            assert module.variants[0].provider in {"local", "tutopanda"}, module.name
            for variant in module.variants[1:]:
                if variant.provider == "openai" and module.kind.endswith(("script", "prompt")):
                    assert variant.prompt and "{{" in variant.prompt, module.name
