"""Local slides: the key sentence on a style palette, at the movie's size, in Roboto, deterministic."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tutopanda.core.movie.frame import frame_size
from tutopanda.providers.local import (
    FONT_DIRECTORY,
    PALETTES,
    SlidesHandler,
    font_path,
    load_font,
    render_slide,
    render_title_card,
    wrap_text,
)
from tutopanda.providers.local.slides import is_slide_background
from tutopanda.providers.mock.png import check_png

from .conftest import local_context, run


def _slide(prompt: str, **inputs: str):
    context = local_context(
        "image",
        [("Artifact:Images.SegmentImage[0][0]", "image")],
        {"Prompt": prompt, **inputs},
        model="slides",
    )
    [artefact] = run(SlidesHandler("local", "slides"), context).artefacts
    assert artefact.status == "succeeded" and artefact.data is not None
    return artefact


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)


@pytest.mark.parametrize(
    ("resolution", "aspect", "size"),
    [
        ("720p", "16:9", (1280, 720)),
        ("1080p", "16:9", (1920, 1080)),
        ("480p", "16:9", (854, 480)),
        ("720p", "9:16", (720, 1280)),
        ("720p", "1:1", (720, 720)),
        ("480p", "4:3", (640, 480)),
        ("720p", "3:4", (720, 960)),
        ("180p", "16:9", (320, 180)),
        ("huge", "21:9", (1280, 720)),
    ],
)
def test_frame_size_follows_resolution_and_aspect_ratio(resolution: str, aspect: str, size: tuple[int, int]):
    assert frame_size(resolution, aspect) == size


def test_a_slide_is_a_png_at_the_movie_size() -> None:
    artefact = _slide("Magma rises through cracks.", Resolution="480p", AspectRatio="9:16")
    assert artefact.mime_type == "image/png"
    info = check_png(artefact.data or b"")
    assert (info.width, info.height) == (480, 854)
    assert artefact.diagnostics["width"] == 480


def test_slides_are_deterministic_and_follow_the_text() -> None:
    first = _slide("Magma rises through cracks.", Style="diagram")
    assert _slide("Magma rises through cracks.", Style="diagram").data == first.data
    assert _slide("Lava cools into new rock.", Style="diagram").data != first.data


def test_each_style_has_its_own_palette_and_unknown_styles_get_the_default() -> None:
    means = {style: _pixels(render_slide("", (160, 90), style)).mean(axis=(0, 1)) for style in PALETTES}
    styles = list(means)
    for i, a in enumerate(styles):
        for b in styles[i + 1 :]:
            assert np.abs(means[a] - means[b]).max() > 8, (a, b)
    unknown = _slide("Text", Style="baroque-oil-painting")
    assert unknown.diagnostics["palette"] == "default"


def test_the_text_is_drawn_in_roboto_with_full_latin_coverage() -> None:
    assert font_path("bold").parent == FONT_DIRECTORY
    assert "font_roboto" in str(FONT_DIRECTORY)
    font = load_font("medium", 48)

    def ink(char: str) -> bytes:
        image = Image.new("L", (80, 80), 0)
        ImageDraw.Draw(image).text((10, 5), char, font=font, fill=255)
        return image.tobytes()

    missing = ink("\ue000")  # a private-use code point: drawn as the font's "missing glyph" box
    for char in "éïç—€ßøŁ":
        assert ink(char) != missing, f"{char!r} has no glyph"
        assert any(ink(char)), f"{char!r} drew nothing"


def test_a_slide_is_a_marked_text_free_background_and_a_title_card_shows_its_text() -> None:
    # The renderer draws text over slides (a Ken Burns zoom would crop text baked into them), so a
    # slide carries no text: two prompts give different backgrounds of the same design.
    one = Image.open(io.BytesIO(render_slide("Magma rises.", (640, 360), "illustration")))
    other = _pixels(render_slide("Café crème — €5, naïve façade.", (640, 360), "illustration"))
    assert is_slide_background(one)
    assert (
        np.abs(
            np.asarray(one.convert("RGB"), dtype=np.float64).mean(axis=(0, 1)) - other.mean(axis=(0, 1))
        ).max()
        < 25
    )
    blank = _pixels(render_title_card("", "", (640, 360), "illustration"))
    titled = _pixels(render_title_card("Café crème — €5", "naïve façade", (640, 360), "illustration"))
    changed = np.abs(titled - blank).max(axis=2) > 60
    assert changed.mean() > 0.01
    assert not is_slide_background(Image.open(io.BytesIO(render_title_card("A", "B", (64, 36)))))


def test_each_style_paints_its_own_texture() -> None:
    # Not only colours: the styles differ in structure (edge density of the texture and motif).
    edges = {}
    for style in PALETTES:
        grey = _pixels(render_slide("Magma rises.", (320, 180), style)).mean(axis=2)
        edges[style] = float(np.abs(np.diff(grey, axis=1)).mean() + np.abs(np.diff(grey, axis=0)).mean())
    assert len({round(value, 1) for value in edges.values()}) == len(PALETTES)


def test_wrapping_keeps_every_line_within_the_width_and_every_word() -> None:
    font = load_font("regular", 30)
    text = "Photosynthesis turns sunlight, water and carbon dioxide into glucose and oxygen " * 3
    lines = wrap_text(text, font, 400)
    assert all(font.getlength(line) <= 400 for line in lines)
    assert " ".join(lines).split() == text.split()
    assert wrap_text("Pneumonoultramicroscopicsilicovolcanoconiosis", font, 120)  # broken, not dropped


def test_very_long_text_still_fits_the_slide() -> None:
    artefact = _slide("word " * 2000, Resolution="480p")
    assert check_png(artefact.data or b"").height == 480


def test_title_card_renders_title_and_subtitle_deterministically() -> None:
    first = render_title_card("How do volcanoes erupt?", "An explainer — part 1", (1280, 720), "cinematic")
    assert first == render_title_card(
        "How do volcanoes erupt?", "An explainer — part 1", (1280, 720), "cinematic"
    )
    info = check_png(first)
    assert (info.width, info.height) == (1280, 720)
    assert first != render_title_card("How do volcanoes erupt?", "", (1280, 720), "cinematic")
