"""The compare view's word diff: it always rebuilds both texts, and a rewrite reads as one stretch."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from tutopanda.viewer.text_diff import MAX_DIFF_CHARS, word_diff

_TEXT = st.text(alphabet=st.sampled_from(list("ab the.,\n é")), max_size=60)


@given(_TEXT, _TEXT)
def test_the_runs_rebuild_both_texts(before: str, after: str) -> None:
    runs = word_diff(before, after)
    assert runs is not None
    assert "".join(run["text"] for run in runs if run["op"] != "add") == before
    assert "".join(run["text"] for run in runs if run["op"] != "del") == after
    assert all(run["text"] for run in runs)
    assert all(a["op"] != b["op"] for a, b in pairwise(runs))  # merged runs


def test_a_rewritten_phrase_is_one_deletion_then_one_insertion() -> None:
    runs = word_diff("Style: a watercolor of the sea. Done.", "Style: an anime drawing of a ship. Done.")
    assert runs == [
        {"op": "same", "text": "Style: "},
        {"op": "del", "text": "a watercolor of the sea"},
        {"op": "add", "text": "an anime drawing of a ship"},
        {"op": "same", "text": ". Done."},
    ]


def test_texts_too_long_are_not_diffed() -> None:
    assert word_diff("x" * (MAX_DIFF_CHARS + 1), "y") is None
