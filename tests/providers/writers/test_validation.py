"""Answer checks: what a bad model answer looks like is refused with one line saying what was wrong."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutopanda.providers.writers.validation import (
    AnswerInvalidError,
    check_language,
    parse_answer,
    validate_prompts,
    validate_script,
    word_bounds,
)

from .fakes import FRENCH, SENTENCE, narration, script_json


def test_parse_answer_finds_the_object_in_fences_and_chatter() -> None:
    assert parse_answer('{"a": 1}') == {"a": 1}
    assert parse_answer('Sure! Here it is:\n```json\n{"a": 2}\n```\nEnjoy.') == {"a": 2}
    assert parse_answer('The answer: {"a": {"b": 3}} -- done') == {"a": {"b": 3}}


@pytest.mark.parametrize("text", ["", "no json here", "[1, 2]", '{"a": ', "```json\n```"])
def test_parse_answer_refuses_what_holds_no_object(text: str) -> None:
    with pytest.raises(AnswerInvalidError):
        parse_answer(text)


@given(st.text(max_size=300))
def test_parse_answer_never_raises_anything_else(text: str) -> None:
    try:
        value = parse_answer(text)
    except AnswerInvalidError as exc:
        assert exc.message and "\n" not in exc.message
    else:
        assert isinstance(value, dict)


@given(
    st.dictionaries(st.text(max_size=10), st.text(max_size=20) | st.integers(), max_size=5),
    st.text(max_size=40),
)
def test_parse_answer_round_trips_an_object_wrapped_in_a_fence(
    document: dict[str, object], chatter: str
) -> None:
    wrapped = (
        f"{chatter.replace('`', '').replace('{', '').replace('}', '')}\n```json\n{json.dumps(document)}\n```"
    )
    assert parse_answer(wrapped) == document


def test_a_well_sized_script_passes() -> None:
    target = word_bounds(60, 3)[0]
    answer = validate_script(json.loads(script_json(3, target)), segments=3, duration=60, language="en")
    assert len(answer.segments) == 3 and answer.title == "How volcanoes erupt"


@pytest.mark.parametrize(
    ("document", "fault"),
    [
        (json.loads(script_json(2, 50)), "holds 2 texts, not the 3"),
        (json.loads(script_json(3, 6)), "segment 1 has 6 words"),
        (json.loads(script_json(3, 400)), "at most"),
        ({**json.loads(script_json(3, 50)), "title": "  "}, "the title is empty"),
        ({**json.loads(script_json(3, 50)), "segments": ["x" * 3, 4, None]}, "segments[1] is int"),
        ({"title": "t", "summary": "s"}, 'no "segments" list'),
    ],
)
def test_bad_scripts_are_refused_with_the_reason(document: dict[str, object], fault: str) -> None:
    with pytest.raises(AnswerInvalidError) as caught:
        validate_script(document, segments=3, duration=60, language="en")
    assert fault in caught.value.message


def test_the_wrong_language_is_refused() -> None:
    document = json.loads(script_json(3, 50))
    with pytest.raises(AnswerInvalidError, match="'en', not 'fr'"):
        validate_script(document, segments=3, duration=60, language="fr")
    french = json.loads(script_json(3, 50, FRENCH, title="Pourquoi les volcans entrent en éruption"))
    assert validate_script(french, segments=3, duration=60, language="fr").segments


def test_the_wrong_writing_system_is_refused_and_unknown_languages_pass() -> None:
    with pytest.raises(AnswerInvalidError, match="latin letters"):
        check_language(narration(40, SENTENCE), "ru", "the narration")
    check_language(
        "Магма поднимается потому что она легче окружающих пород и газ толкает её вверх", "ru", "x"
    )
    check_language(narration(40, SENTENCE), "sw", "the narration")  # no word list: the script decides


def test_prompts_need_the_count_and_some_words() -> None:
    assert validate_prompts({"prompts": ["a red volcano at dusk, wide shot"]}, count=1).prompts
    with pytest.raises(AnswerInvalidError, match="holds 2 texts"):
        validate_prompts({"prompts": ["a b c d", "a b c d"]}, count=1)
    with pytest.raises(AnswerInvalidError, match="fewer than 4 words"):
        validate_prompts({"prompts": ["volcano"]}, count=1)
