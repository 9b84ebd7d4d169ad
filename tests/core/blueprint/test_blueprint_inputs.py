"""Typed input values: ``--set`` text, inputs files, defaults, unknown and missing names, bad values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutopanda.core.blueprint import (
    InputSpec,
    coerce_value,
    load_blueprint,
    load_input_file,
    parse_model_options,
    parse_set_options,
    resolve_inputs,
)
from tutopanda.core.errors import InputValidationError

TEXT = InputSpec(name="Topic", type="string")
LANGUAGE = InputSpec(name="Language", type="string", pattern="[a-z]{2}")
COUNT = InputSpec(name="NumOfSegments", type="int", minimum=1, maximum=10_000)
SPEED = InputSpec(name="Speed", type="number", minimum=0.5, maximum=2)
FLAG = InputSpec(name="Subtitles", type="bool")
STYLE = InputSpec(name="Style", type="enum", values=("illustration", "watercolor", "16:9"))
TAGS = InputSpec(name="Tags", type="list", item_type="string")
SIZES = InputSpec(name="Sizes", type="list", item_type="int", minimum=1)


@pytest.mark.parametrize(
    ("spec", "raw", "expected"),
    [
        (TEXT, "How do volcanoes erupt?", "How do volcanoes erupt?"),
        (TEXT, "", ""),
        (LANGUAGE, "fr", "fr"),
        (COUNT, "3", 3),
        (COUNT, " +12 ", 12),
        (COUNT, 7, 7),
        (COUNT, 4.0, 4),
        (SPEED, "1.25", 1.25),
        (SPEED, "1", 1),
        (SPEED, 2, 2),
        (FLAG, "true", True),
        (FLAG, "No", False),
        (FLAG, "1", True),
        (FLAG, False, False),
        (STYLE, "watercolor", "watercolor"),
        (STYLE, "WaterColor", "watercolor"),
        (STYLE, "16:9", "16:9"),
        (TAGS, "a, b ,c", ("a", "b", "c")),
        (TAGS, '["a,b", "c"]', ("a,b", "c")),
        (TAGS, "", ()),
        (TAGS, ["x", "y"], ("x", "y")),
        (SIZES, "1,2,3", (1, 2, 3)),
    ],
)
def test_values_are_coerced_by_declared_type(spec: InputSpec, raw: object, expected: object) -> None:
    value = coerce_value(spec, raw)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("spec", "raw", "message", "hint"),
    [
        (TEXT, True, "expected text", "quote the value"),  # YAML `Topic: yes` is a boolean
        (TEXT, 12, "expected text", 'Topic: "12"'),
        (LANGUAGE, "english", "does not match", "format"),
        (COUNT, "three", "expected an integer", "NumOfSegments=3"),
        (COUNT, "2.5", "expected an integer", "whole number"),
        (COUNT, True, "expected an integer", "whole number"),
        (COUNT, "0", "out of range 1..10000", "between 1 and 10000"),
        (COUNT, "10001", "out of range", "between 1 and 10000"),
        (SPEED, "fast", "expected a number", "Speed=2.5"),
        (SPEED, "nan", "not a finite number", "NaN"),
        (SPEED, "3", "out of range", "between 0.5 and 2"),
        (FLAG, "maybe", "expected true or false", "yes/no"),
        (FLAG, 1, "expected true or false", "true/false"),
        (STYLE, "watercolour", "not one of the choices; did you mean 'watercolor'?", "choices"),
        (STYLE, 3, "expected one of", "choices"),
        (TAGS, "[1, 2", "invalid JSON list", "JSON list"),
        (TAGS, 5, "expected a list", "a,b,c"),
        (SIZES, "1,x", "Sizes[1]", "whole number"),
        (SIZES, "1,0", "out of range", "between 1"),
    ],
)
def test_values_that_do_not_fit_are_refused(spec: InputSpec, raw: object, message: str, hint: str) -> None:
    with pytest.raises(InputValidationError) as caught:
        coerce_value(spec, raw)
    assert message in caught.value.message
    assert caught.value.hint is not None and hint in caught.value.hint


@given(st.integers(min_value=1, max_value=10_000))
def test_int_text_round_trips(number: int) -> None:
    assert coerce_value(COUNT, str(number)) == number


@given(st.floats(min_value=0.5, max_value=2, allow_nan=False))
def test_number_text_round_trips(number: float) -> None:
    assert coerce_value(SPEED, repr(number)) == number


@given(st.booleans(), st.sampled_from([str.lower, str.upper, str.title]))
def test_bool_text_in_any_case(flag: bool, case: object) -> None:
    assert callable(case)
    assert coerce_value(FLAG, case(str(flag))) is flag


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_characters=",", blacklist_categories=["Cs"]))
        .map(str.strip)
        .filter(bool),
        min_size=1,
    ).filter(lambda items: not items[0].startswith("["))
)
def test_comma_lists_round_trip(items: list[str]) -> None:
    # text starting with "[" is read as a JSON list instead (see test_json_lists_round_trip)
    assert coerce_value(TAGS, ",".join(items)) == tuple(items)


@given(st.lists(st.text()))
def test_json_lists_round_trip(items: list[str]) -> None:
    assert coerce_value(TAGS, json.dumps(items)) == tuple(items)


@given(st.text().filter(lambda text: not text.strip().lstrip("+-").isdigit()))
def test_non_integer_text_is_never_an_int(text: str) -> None:
    with pytest.raises(InputValidationError):
        coerce_value(InputSpec(name="N", type="int"), text)


@given(
    st.text(alphabet=st.characters(blacklist_characters="=", blacklist_categories=["Cs"])).filter(str.strip),
    st.text(),
)
def test_set_options_split_at_the_first_equals(name: str, value: str) -> None:
    assert parse_set_options([f"{name}={value}"]) == {name.strip(): value}


def test_set_options_errors() -> None:
    with pytest.raises(InputValidationError, match="not of the form Name=value") as caught:
        parse_set_options(["NumOfSegments"])
    assert caught.value.hint == "write --set NumOfSegments=3"
    with pytest.raises(InputValidationError, match="not of the form"):
        parse_set_options(["=3"])
    with pytest.raises(InputValidationError, match="given twice"):
        parse_set_options(["A=1", "A=2"])


def test_model_options_split_provider_at_the_first_slash() -> None:
    assert parse_model_options(["Images=replicate/black-forest-labs/flux-schnell"]) == {
        "Images": ("replicate", "black-forest-labs/flux-schnell")
    }
    with pytest.raises(InputValidationError, match="Module=provider/model"):
        parse_model_options(["Images=flux"])


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("inputs.yaml", "NumOfSegments: 4\nStyle: watercolor\nTags: [a, b]\n"),
        ("inputs.yml", "inputs:\n  NumOfSegments: 4\n  Style: watercolor\n  Tags: [a, b]\n"),
        ("inputs.json", '{"inputs": {"NumOfSegments": 4, "Style": "watercolor", "Tags": ["a", "b"]}}'),
        ("inputs.toml", 'NumOfSegments = 4\nStyle = "watercolor"\nTags = ["a", "b"]\n'),
        ("nested.toml", '[inputs]\nNumOfSegments = 4\nStyle = "watercolor"\nTags = ["a", "b"]\n'),
    ],
)
def test_input_files_in_every_format(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    values = load_input_file(path)
    assert values == {"NumOfSegments": 4, "Style": "watercolor", "Tags": ["a", "b"]}
    assert type(values) is dict and type(values["Tags"]) is list


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.yaml", "a: [1\nb: 2\n", "bad.yaml:2: invalid YAML"),
        ("bad.json", '{"a": }', "bad.json:1: invalid JSON"),
        ("bad.toml", "a = ", "invalid TOML"),
        ("list.yaml", "- 1\n- 2\n", "must hold a mapping"),
        ("mixed.yaml", "inputs:\n  A: 1\nB: 2\n", "also top-level keys: B"),
        ("inputs.txt", "A=1", "unknown extension"),
    ],
)
def test_bad_input_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputValidationError) as caught:
        load_input_file(path)
    assert message in caught.value.message
    assert caught.value.hint


def test_missing_input_file(tmp_path: Path) -> None:
    with pytest.raises(InputValidationError, match="does not exist"):
        load_input_file(tmp_path / "nope.yaml")


def test_resolution_applies_defaults_and_records_the_source() -> None:
    blueprint = load_blueprint("image-audio")
    resolved = resolve_inputs(blueprint, {"NumOfSegments": "4", "Input:Style": "watercolor"})
    assert resolved.value("Input:NumOfSegments") == 4
    assert resolved.values["Input:NumOfSegments"].source == "user"
    assert resolved.values["Input:Style"].source == "user"
    assert resolved.values["Input:InquiryPrompt"].source == "default"
    assert resolved.value("Input:InquiryPrompt") == "How do volcanoes erupt?"
    assert resolved.value("Input:Narration.Emotion") == "neutral"  # an unwired module input
    assert list(resolved.to_dict()) == sorted(resolved.to_dict())


def test_unwired_module_input_can_be_set_by_module_name() -> None:
    resolved = resolve_inputs(load_blueprint("image-audio"), {"Narration.Emotion": "calm"})
    assert resolved.values["Input:Narration.Emotion"].value == "calm"
    assert resolved.values["Input:Narration.Emotion"].source == "user"


def test_unknown_input_suggests_the_closest_name() -> None:
    with pytest.raises(InputValidationError) as caught:
        resolve_inputs(load_blueprint("image-audio"), {"NumOfSegment": "3"})
    assert "unknown input 'NumOfSegment'" in caught.value.message
    assert caught.value.hint is not None and caught.value.hint.startswith("did you mean 'NumOfSegments'?")


def test_setting_a_wired_module_input_names_its_source() -> None:
    with pytest.raises(InputValidationError) as caught:
        resolve_inputs(load_blueprint("image-audio"), {"Narration.VoiceId": "x"})
    assert caught.value.hint == "set VoiceId instead"
    with pytest.raises(InputValidationError) as caught:
        resolve_inputs(load_blueprint("image-audio"), {"Narration.Text": "x"})
    assert caught.value.hint == "it is generated, not set"


def test_bad_value_names_the_input() -> None:
    with pytest.raises(InputValidationError) as caught:
        resolve_inputs(load_blueprint("image-audio"), {"Audience": "kids"})
    assert caught.value.message.startswith("input Audience:")
    assert "(allowed: child, teen, adult, expert)" in caught.value.message  # one line says it all


def test_same_input_twice_is_refused() -> None:
    with pytest.raises(InputValidationError, match="given twice"):
        resolve_inputs(load_blueprint("image-audio"), {"Style": "anime", "Input:Style": "anime"})


def test_defaults_satisfy_their_own_rules() -> None:
    for name in ("audio-only", "image-audio", "video-audio-music"):
        blueprint = load_blueprint(name)
        for spec in blueprint.inputs:
            if spec.has_default:
                assert coerce_value(spec, spec.default) == spec.default
                assert not (isinstance(spec.default, float) and math.isnan(spec.default))
