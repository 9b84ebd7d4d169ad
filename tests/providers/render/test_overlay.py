"""The fixed text overlay: inside the safe area at every size, whole words only, deterministic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tutopanda.core.movie.frame import frame_size
from tutopanda.providers.local.palettes import PALETTES
from tutopanda.providers.local.slides_layout import CAPTION_BAND, zones
from tutopanda.providers.render.overlay import (
    ELLIPSIS,
    KeyPoint,
    draw_overlay,
    draw_scrim,
    draw_title_overlay,
    fit_text,
    headline_for,
    key_points,
    overlay_layers,
    safe_area,
)

STYLES = [*PALETTES, None, "baroque"]
ASPECTS = ["16:9", "9:16", "1:1", "4:3", "3:4"]
SIZES = [frame_size(resolution, aspect) for aspect in ASPECTS for resolution in ("180p", "360p", "480p")]

_LONG_WORDS = st.sampled_from(
    [
        "Pneumonoultramicroscopicsilicovolcanoconiosis",
        "Donaudampfschifffahrtsgesellschaftskapitänswitwe",
        "a" * 90,
        "https://example.org/a/very/long/path/that/never/breaks/anywhere",
    ]
)
_SCRIPTS = st.sampled_from(
    [
        "Magma rises through cracks in the crust.",
        "Le magma remonte à travers les fissures de la croûte terrestre.",
        "Η μάγμα ανεβαίνει μέσα από ρωγμές του φλοιού.",
        "Магма поднимается по трещинам в земной коре.",
        "岩浆通过地壳裂缝上升。",
        "الصهارة ترتفع عبر شقوق القشرة",
        "मैग्मा पपड़ी की दरारों से ऊपर उठता है।",
    ]
)
_WORDS = st.one_of(
    _LONG_WORDS,
    _SCRIPTS,
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=40),
)
_TEXT = st.lists(_WORDS, min_size=0, max_size=8).map(" ".join)


def _alpha(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGBA"))[:, :, 3] > 0


def _outside_safe(image: Image.Image) -> int:
    """Drawn pixels outside the safe area or in the caption band."""
    alpha = _alpha(image)
    width, height = image.size
    box = safe_area((width, height))
    allowed = np.zeros_like(alpha)
    allowed[box.top : min(box.bottom, zones((width, height)).text.bottom), box.left : box.right] = True
    return int(np.count_nonzero(alpha & ~allowed))


@pytest.mark.slow  # 40 rendered overlays: ~75 s on 2 busy cores
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headline=_TEXT,
    points=st.lists(_TEXT, max_size=4),
    style=st.sampled_from(STYLES),
    size=st.sampled_from(SIZES),
    index=st.one_of(st.none(), st.integers(0, 120)),
)
def test_no_overlay_pixel_leaves_the_safe_area(
    headline: str, points: list[str], style: str | None, size: tuple[int, int], index: int | None
) -> None:
    image = draw_overlay(size, style, headline, points, index=index)
    assert image.mode == "RGBA" and image.size == size
    assert _outside_safe(image) == 0


@pytest.mark.slow  # 20 rendered title cards: ~20 s on 2 busy cores
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=_TEXT, summary=_TEXT, style=st.sampled_from(STYLES), size=st.sampled_from(SIZES))
def test_the_title_card_stays_in_the_safe_area(
    title: str, summary: str, style: str | None, size: tuple[int, int]
) -> None:
    assert _outside_safe(draw_title_overlay(size, style, title, summary)) == 0


@pytest.mark.slow  # 80 text layouts: ~55 s on 2 busy cores
@settings(max_examples=80, deadline=None)
@given(text=_TEXT, width=st.integers(20, 900), lines=st.integers(1, 4))
def test_text_is_cut_only_between_words(text: str, width: int, lines: int) -> None:
    fitted, _ = fit_text(text, "roboto-bold", width, lines, 60, 14)
    words = text.split()
    drawn = " ".join(fitted).split()
    assert len(fitted) <= lines
    if drawn and drawn[-1].endswith(ELLIPSIS) and drawn != words:
        drawn[-1] = drawn[-1][: -len(ELLIPSIS)]
        assert drawn[:-1] == words[: len(drawn) - 1]
        assert words[len(drawn) - 1].startswith(drawn[-1])  # whole word (trailing punctuation may go)
        assert len(drawn[-1]) >= len(words[len(drawn) - 1].rstrip(",;:—–-.")) or not drawn[-1]
    else:
        assert drawn == words


def test_a_short_text_keeps_its_size_and_a_long_word_shrinks_instead_of_breaking() -> None:
    lines, size = fit_text("Magma rises", "roboto-bold", 600, 2, 60, 14)
    assert lines == ["Magma rises"] and size == 60
    lines, size = fit_text("Pneumonoultramicroscopicsilicovolcanoconiosis", "roboto-bold", 300, 2, 60, 14)
    assert lines == ["Pneumonoultramicroscopicsilicovolcanoconiosis"] and size < 20


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("aspect", ASPECTS)
def test_every_style_draws_legible_text_at_every_aspect(style: str | None, aspect: str) -> None:
    size = frame_size("480p", aspect)
    text = (
        "Deep below our feet, rock gets so hot that it melts. This melted rock is called magma. "
        "Because it is lighter, magma slowly rises through cracks in the crust."
    )
    layers = overlay_layers(size, style, headline_for(text), key_points(text), index=0)
    roles = [layer.role for layer in layers]
    assert roles.count("headline") == 1 and roles.count("point") == 2
    image = draw_overlay(size, style, text=text, index=0)
    assert _outside_safe(image) == 0
    assert _alpha(image).mean() > 0.01  # something substantial is drawn
    for layer in layers:  # even offsets and sizes: chroma planes line up in yuv420p
        assert layer.x % 2 == 0 and layer.y % 2 == 0
        assert layer.image.width % 2 == 0 and layer.image.height % 2 == 0


def test_the_overlay_is_deterministic_and_empty_without_text() -> None:
    first = draw_overlay((854, 480), "watercolor", "Magma rises", ["It is lighter", "It gathers"], index=2)
    again = draw_overlay((854, 480), "watercolor", "Magma rises", ["It is lighter", "It gathers"], index=2)
    assert first.tobytes() == again.tobytes()
    assert not _alpha(draw_overlay((854, 480), "watercolor", "", [])).any()


def test_the_scrim_is_separate_and_leaves_the_caption_band_lighter() -> None:
    wide = np.asarray(draw_scrim((1280, 720)))[:, :, 3]
    assert wide[:, 0].mean() > 100 and wide[:, -1].max() == 0  # dark at the text side only
    tall = np.asarray(draw_scrim((720, 1280)))[:, :, 3]
    assert tall[0].mean() > 100 and tall[round(1280 * (1 - CAPTION_BAND)) :].max() == 0


def test_headline_and_key_points_come_from_the_narration() -> None:
    text = (
        "Deep below our feet, rock gets so hot that it melts. This melted rock is called magma, and it "
        "is lighter than the solid rock around it. It rises very slowly."
    )
    assert headline_for(text) == "Deep below our feet, rock gets so hot that it melts"
    points = key_points(text)
    assert [p.text for p in points][-1] == "It rises very slowly"
    assert 2 <= len(points) <= 3
    words = text.split()
    for point in points:  # each point knows the word where the narration reaches it
        assert point.word > 0 and words[point.word].strip(",.").lower() in point.text.lower()
    assert headline_for("Why do volcanoes erupt? They do.") == "Why do volcanoes erupt?"
    long_first = (
        "When the pressure becomes too strong for the rock above, the magma breaks through the crust."
    )
    assert headline_for(long_first) == "The magma breaks through the crust"  # the main clause
    assert headline_for("# Rising magma\nIt rises.") == "Rising magma"
    assert headline_for("word " * 60).endswith(ELLIPSIS)
    assert key_points("One sentence only.") == []
    single = key_points("Magma rises. It gathers in a chamber, where gas and pressure build up.")
    assert [p.text for p in single] == ["It gathers in a chamber", "Where gas and pressure build up"]
    assert key_points("A. B. C. D. E.", count=3) == [KeyPoint("B", 1), KeyPoint("C", 2), KeyPoint("D", 3)]
