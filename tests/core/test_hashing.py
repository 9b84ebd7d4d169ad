"""Canonical JSON and hashing: the rules documented in ``tutopanda.core.store.hashing`` hold for any value."""

from __future__ import annotations

import hashlib
import io
import json
import math
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutopanda.core.store.hashing import (
    DIGEST_LIMIT,
    canonical_json,
    hash_canonical,
    hash_chunks,
    hash_stream,
    hash_value,
    sha256_hex,
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


@pytest.mark.slow  # deep random JSON documents: ~12 s on 2 busy cores
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=8))
def test_dict_insertion_order_does_not_change_the_hash(mapping: dict[str, Any]) -> None:
    reversed_mapping = dict(reversed(list(mapping.items())))
    assert canonical_json(mapping) == canonical_json(reversed_mapping)
    assert hash_value(mapping).hash == hash_value(reversed_mapping).hash


@given(json_values)
def test_canonical_json_is_valid_json_that_round_trips_to_the_same_text(value: Any) -> None:
    text = canonical_json(value)
    assert canonical_json(json.loads(text)) == text


@given(st.dictionaries(st.text(max_size=10), st.integers(), min_size=2, max_size=10))
def test_keys_are_sorted_by_code_point(mapping: dict[str, int]) -> None:
    decoded = json.loads(canonical_json(mapping))
    assert list(decoded) == sorted(mapping)


def test_code_point_order_not_locale_order() -> None:
    # A locale-aware sort puts "a" before "B"; code point order puts uppercase first.
    assert canonical_json({"a": 1, "B": 2, "é": 3, "z": 4}) == '{"B":2,"a":1,"z":4,"é":3}'


def test_no_insignificant_whitespace_and_utf8_characters_kept() -> None:
    assert canonical_json({"k": ["x", 1, None, True]}) == '{"k":["x",1,null,true]}'
    assert canonical_json("café ☕") == '"café ☕"'


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_integral_float_equals_int(number: int) -> None:
    assert hash_value(number).hash == hash_value(float(number)).hash


def test_bool_stays_distinct_from_numbers() -> None:
    assert hash_value(True).hash != hash_value(1).hash
    assert hash_value(False).hash != hash_value(0).hash
    assert hash_value(True).hash != hash_value(1.0).hash
    assert hash_value(None).hash != hash_value(0).hash


def test_floats_use_shortest_round_trip_and_ecmascript_exponents() -> None:
    assert canonical_json(0.1) == "0.1"
    assert canonical_json(1e-7) == "1e-7"
    assert canonical_json(1e22) == "1e+22"
    assert canonical_json(-0.0) == "0"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="NaN and Infinity"):
        canonical_json({"x": [bad]})


def test_unhashable_types_are_refused_with_the_type_named() -> None:
    with pytest.raises(TypeError, match="set"):
        hash_value({1, 2})
    with pytest.raises(TypeError, match="int key"):
        hash_value({1: "x"})


@given(st.binary())
def test_bytes_hash_is_the_blob_hash_and_differs_from_the_string(data: bytes) -> None:
    hashed = hash_value(data)
    assert hashed.hash == hashlib.sha256(data).hexdigest()
    assert hashed.kind == "bytes"
    assert hashed.size == len(data)
    text = data.decode("latin-1")
    assert hash_value(text).hash != hashed.hash


def test_str_and_bytes_with_same_characters_are_distinct() -> None:
    assert hash_value("abc").hash != hash_value(b"abc").hash
    assert hash_value({"x": "abc"}).hash != hash_value({"x": b"abc"}).hash


def test_nested_bytes_become_a_tagged_content_reference() -> None:
    assert canonical_json({"data": b"abc"}) == (
        '{"data":{"$bytes":"' + hashlib.sha256(b"abc").hexdigest() + '","size":3}}'
    )


def test_path_and_stream_hash_their_content(tmp_path: Path) -> None:
    payload = b"x" * 3_000_001
    path = tmp_path / "payload.bin"
    path.write_bytes(payload)
    expected = hashlib.sha256(payload).hexdigest()
    assert hash_value(path).hash == expected
    assert hash_value(io.BytesIO(payload)).hash == expected
    assert hash_stream(io.BytesIO(payload)) == (expected, len(payload))
    assert hash_chunks([payload[:10], payload[10:]]) == (expected, len(payload))
    assert hash_value({"file": path}).hash == hash_value({"file": payload}).hash


@given(st.text())
def test_input_hash_ignores_unicode_normal_form(text: str) -> None:
    nfc = unicodedata.normalize("NFC", text)
    nfd = unicodedata.normalize("NFD", text)
    assert hash_value(nfc).hash == hash_value(nfd).hash
    assert hash_value({nfd: nfd}).hash == hash_value({nfc: nfc}).hash


def test_canonical_json_itself_keeps_the_normal_form_written() -> None:
    nfd = unicodedata.normalize("NFD", "é")
    assert canonical_json(nfd) != canonical_json("é")


@given(st.text(), st.text())
def test_different_strings_hash_differently(a: str, b: str) -> None:
    if unicodedata.normalize("NFC", a) != unicodedata.normalize("NFC", b):
        assert hash_value(a).hash != hash_value(b).hash


def test_hash_is_sha256_of_the_canonical_text() -> None:
    value = {"b": [1, 2.5], "a": "x"}
    assert hash_canonical(value) == sha256_hex(b'{"a":"x","b":[1,2.5]}')
    assert hash_value(value).hash == hash_canonical(value)


@given(json_values)
def test_digest_is_short_and_never_the_whole_large_payload(value: Any) -> None:
    hashed = hash_value(value)
    assert len(hashed.digest) <= DIGEST_LIMIT
    if len(canonical_json(value)) <= DIGEST_LIMIT and hashed.kind == "json":
        assert json.loads(hashed.digest) == json.loads(canonical_json(json.loads(hashed.digest)))


def test_digest_of_a_long_prompt_is_truncated() -> None:
    hashed = hash_value("word " * 10_000)
    assert len(hashed.digest) == DIGEST_LIMIT
    assert hashed.digest.endswith("…")
    assert hashed.size == len(canonical_json("word " * 10_000).encode())


@given(json_values)
def test_fast_and_reference_encoders_agree(value: Any) -> None:
    from tutopanda.core.store.hashing import _encode, normalise

    out: list[str] = []
    _encode(normalise(value), out)
    assert canonical_json(value) == "".join(out)


nfc_texts = st.sampled_from(["e\u0301", "\u00e9", "A\u030a", "\u212b", "x"]) | st.text(max_size=6)
nfc_values = st.recursive(
    json_scalars | nfc_texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(nfc_texts, children, max_size=4),
    max_leaves=20,
)


@given(nfc_values)
def test_hash_value_normalises_once_as_normalising_then_encoding_would(value: Any) -> None:
    from tutopanda.core.store.hashing import normalise

    try:
        expected = canonical_json(normalise(value, nfc=True))
    except ValueError:  # keys colliding after NFC: hash_value refuses them too
        with pytest.raises(ValueError):
            hash_value(value)
        return
    assert hash_value(value).hash == hashlib.sha256(expected.encode()).hexdigest()


class _ShoutingInt(int):
    def __str__(self) -> str:
        return "seven"

    __repr__ = __str__


class _WrappedFloat(float):
    def __repr__(self) -> str:
        return f"Wrapped({float(self)})"


def test_number_subclasses_hash_as_the_plain_numbers_they_are() -> None:
    # A subclass's own text is no JSON; whichever encoder a value takes, it is written as the number.
    assert canonical_json([_ShoutingInt(7), 0.5]) == canonical_json([7, 0.5]) == "[7,0.5]"
    assert canonical_json([_ShoutingInt(7), 1e-7]) == "[7,1e-7]"
    assert canonical_json({"a": _WrappedFloat(0.5)}) == '{"a":0.5}'
    assert hash_value({"a": _WrappedFloat(2.0)}).hash == hash_value({"a": 2}).hash
