"""``--script FILE``: the Markdown script format, its errors (file:line plus a hint) and round trips."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutopanda.core.errors import UsageError
from tutopanda.providers.local import ParsedScript, parse_script_markdown, render_script_markdown

EXAMPLE = """\ufeff# How volcanoes erupt

A short explainer
in three parts.

## Magma
Deep below the surface,   rock melts.

It rises.
<!-- a note to myself -->

## Pressure ##
Gas builds up.
## The eruption
Then it erupts — café, €5.
"""


def test_title_summary_and_segments() -> None:
    parsed = parse_script_markdown(EXAMPLE, "volcano.md")
    assert parsed == ParsedScript(
        title="How volcanoes erupt",
        summary="A short explainer in three parts.",
        segments=[
            "Deep below the surface, rock melts.\n\nIt rises.",
            "Gas builds up.",
            "Then it erupts — café, €5.",
        ],
    )


def test_the_summary_is_optional_and_crlf_is_fine() -> None:
    parsed = parse_script_markdown("# T\r\n## A\r\nOne.\r\n## B\r\nTwo.\r\n", "s.md")
    assert parsed == ParsedScript("T", "", ["One.", "Two."])


def test_hash_words_that_are_not_headings_stay_text() -> None:
    parsed = parse_script_markdown("# Learn C#\n## One\n#1 tip: practise.\n", "s.md")
    assert parsed.title == "Learn C#"
    assert parsed.segments == ["#1 tip: practise."]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "empty"),
        ("Hello\n# Title\n## A\nx", 1, "must start with its title"),
        ("\n\n## A\nx\n", 3, "before the title"),
        ("# T\n## A\nx\n# Again\n", 4, "second title"),
        ("#   \n## A\nx", 1, "title is empty"),
        ("# T\n\nJust a summary.\n", 1, "no segments"),
        ("# T\n## A\nx\n## B\n\n## C\ny", 4, "segment 2 ('B') has no narration"),
        ("# T\n## A\n### detail\nx", 3, "'###' headings"),
    ],
)
def test_errors_name_the_file_and_line_and_give_a_hint(text: str, line: int, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_script_markdown(text, "my-script.md")
    assert caught.value.message.startswith(f"my-script.md:{line}: ")
    assert message in caught.value.message
    assert caught.value.hint
    assert caught.value.exit_code == 2


_word = st.text(
    alphabet=st.characters(
        codec="utf-8", categories=("L", "N", "P", "S"), exclude_characters="#<>\u2028\u2029\x85\ufeff"
    ),
    min_size=1,
    max_size=12,
)
_line = st.lists(_word, min_size=1, max_size=8).map(" ".join)
_paragraphs = st.lists(_line, min_size=1, max_size=3).map("\n\n".join)


@given(
    title=_line,
    summary=st.one_of(st.just(""), _paragraphs),
    segments=st.lists(_paragraphs, min_size=1, max_size=5),
)
def test_a_rendered_script_parses_back_to_itself(title: str, summary: str, segments: list[str]) -> None:
    script = ParsedScript(title, summary, segments)
    assert parse_script_markdown(render_script_markdown(script), "round-trip.md") == script


@given(st.text(max_size=400))
def test_arbitrary_text_parses_or_raises_a_usage_error(text: str) -> None:
    try:
        parsed = parse_script_markdown(text, "fuzz.md")
    except UsageError as exc:
        assert exc.message.startswith("fuzz.md:")
    else:
        assert parsed.title and parsed.segments and all(parsed.segments)


@given(
    st.lists(st.sampled_from(["# T", "## S", "### x", "text", "", "<!--", "-->", "  # t", "#x"]), max_size=20)
)
def test_markdown_like_line_soup_never_crashes(lines: list[str]) -> None:
    with contextlib.suppress(UsageError):
        parse_script_markdown("\n".join(lines), "soup.md")
