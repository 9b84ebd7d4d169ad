"""Movie ids made from prompts stay readable whatever the prompt's language."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutopanda.core.movie.ids import new_movie_id, prompt_slug
from tutopanda.core.store.storage import validate_movie_id


@pytest.mark.parametrize(
    ("prompt", "slug"),
    [
        ("How do volcanoes erupt?", "how-do-volcanoes-erupt"),
        ("Comment naît une éruption ?", "comment-nait-une-eruption"),
        ("Warum schmilzt das Eis? Straße", "warum-schmilzt-das-eis-strasse"),
        ("Ørsted og Æbler", "orsted-og-aebler"),
        ("¿Por qué el cielo es azul?", "por-que-el-cielo-es-azul"),
        ("火山はどうやって噴火するの？", "movie"),
        ("Как извергаются вулканы 2024?", "movie"),
        ("", "movie"),
    ],
)
def test_prompts_fold_to_readable_ascii_slugs(prompt: str, slug: str) -> None:
    assert prompt_slug(prompt) == slug


def test_new_ids_add_a_random_suffix() -> None:
    first, second = new_movie_id("éruption"), new_movie_id("éruption")
    assert re.fullmatch(r"eruption-[0-9a-f]{6}", first)
    assert first != second


@given(st.text(max_size=300))
def test_every_prompt_gives_a_valid_id(prompt: str) -> None:
    assert validate_movie_id(new_movie_id(prompt))
