"""The shared vocabularies: what they accept, and the one line a refused value gets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutopanda.core.blueprint.vocabulary import (
    SHORT_VOCABULARY,
    VOCABULARIES,
    Vocabulary,
    check,
    find_vocabulary,
    vocabulary_names,
)


def test_the_documented_vocabularies_exist_with_their_words() -> None:
    assert vocabulary_names() == ("style", "audience", "language", "resolution", "aspect-ratio")
    assert VOCABULARIES["style"].words == (
        "illustration",
        "photorealistic",
        "watercolor",
        "anime",
        "diagram",
        "cinematic",
    )
    assert VOCABULARIES["audience"].words == ("child", "teen", "adult", "expert")
    assert VOCABULARIES["resolution"].words == ("480p", "720p", "1080p")
    assert VOCABULARIES["aspect-ratio"].words == ("16:9", "9:16", "1:1", "4:3")
    assert find_vocabulary("colour") is None


def test_language_is_the_full_iso_639_1_list_with_english_names() -> None:
    language = VOCABULARIES["language"]
    assert len(language) == 184
    assert all(len(code) == 2 and code.isascii() and code.islower() for code in language.words)
    assert list(language.words) == sorted(language.words)
    assert set(language.names) == set(language.words)
    assert language.names["fr"][0] == "French" and language.names["zh"][0] == "Chinese"
    assert {"en", "de", "es", "ja", "sw", "nb", "bh"} <= set(language.words)


@pytest.mark.parametrize("name", sorted(VOCABULARIES))
def test_every_word_is_accepted_as_itself(name: str) -> None:
    vocabulary = VOCABULARIES[name]
    for word in vocabulary.words:
        assert check(vocabulary, word).value == word


@given(st.sampled_from(sorted(VOCABULARIES)), st.data())
def test_case_and_blanks_are_forgiven(name: str, data: st.DataObject) -> None:
    word = data.draw(st.sampled_from(VOCABULARIES[name].words))
    spelled = data.draw(st.sampled_from([word.upper(), word.title(), f"  {word} "]))
    verdict = check(name, spelled)
    assert verdict.accepted and verdict.value == word


@given(st.sampled_from(sorted(VOCABULARIES)), st.text(max_size=20))
def test_a_refusal_is_one_line_and_suggests_only_real_words(name: str, text: str) -> None:
    vocabulary = VOCABULARIES[name]
    verdict = check(name, text)
    if verdict.accepted:
        assert verdict.value in vocabulary.words
        return
    assert "\n" not in verdict.message
    assert verdict.hint
    assert verdict.suggestion is None or verdict.suggestion in vocabulary.words
    assert (vocabulary.listing() in verdict.message) == vocabulary.is_short


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("style", "watercolour", "'watercolour' is not a style; did you mean 'watercolor'?"),
        ("language", "french", "did you mean 'fr' (French)?"),
        ("language", "French", "did you mean 'fr' (French)?"),
        ("language", "Spanish", "did you mean 'es' (Spanish)?"),
        ("language", "Deutsch", "did you mean 'de' (German)?"),
        ("language", "eng", "did you mean 'en' (English)?"),
        ("language", "frensh", "did you mean 'fr' (French)?"),
        ("resolution", "1080", "did you mean '1080p'?"),
        ("aspect-ratio", "16x9", "did you mean '16:9'?"),
    ],
)
def test_near_misses_get_a_did_you_mean(name: str, value: str, expected: str) -> None:
    verdict = check(name, value)
    assert not verdict.accepted
    assert expected in verdict.message


def test_a_short_vocabulary_lists_its_words_a_long_one_does_not() -> None:
    audience = check("audience", "kids")
    assert audience.message == "'kids' is not an audience (allowed: child, teen, adult, expert)"
    assert audience.suggestion is None
    language = check("language", "Klingon")
    assert language.message == "'Klingon' is not an ISO 639-1 language code"
    assert "ISO 639-1" in language.hint and "en (English)" in language.hint
    assert len(VOCABULARIES["language"]) > SHORT_VOCABULARY >= len(VOCABULARIES["style"])


def test_summary_is_what_describe_shows() -> None:
    assert VOCABULARIES["resolution"].summary() == "one of 480p, 720p, 1080p"
    language = VOCABULARIES["language"].summary()
    assert language == "an ISO 639-1 language code (vocabulary language, 184 values)"


def test_a_vocabulary_needs_distinct_words() -> None:
    with pytest.raises(ValueError, match="distinct"):
        Vocabulary("x", "an x", ("a", "a"), "hint")
    with pytest.raises(ValueError, match="non-empty"):
        Vocabulary("x", "an x", (), "hint")
