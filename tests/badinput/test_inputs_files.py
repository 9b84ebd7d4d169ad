"""Generated inputs files (``--inputs``: TOML, JSON, YAML): values load and resolve, or are refused cleanly.

The names are mostly real input names of ``image-audio`` (so the values reach the type checks), the
values anything the format can hold; raw text is fuzzed too. A few go through the CLI
(``blueprints validate --inputs`` and ``storage:init --inputs``) to prove the one-line error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tomlkit
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.badinput.clean_errors import (
    assert_clean_error,
    assert_clean_outcome,
    clean_call,
    examples,
    run_cli,
)
from tests.badinput.mutations import json_values, text_edits, toml_values
from tutopanda.core.blueprint import expand, load_blueprint, load_input_file
from tutopanda.core.blueprint.input_values import input_catalogue
from tutopanda.core.errors import TutopandaError

FAST = settings(max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
BLUEPRINT = load_blueprint("image-audio")
NAMES = sorted(input_catalogue(BLUEPRINT))
GOOD = {"NumOfSegments": 2, "Style": "anime", "InquiryPrompt": "Why is the sky blue?", "Language": "fr"}

keys = st.one_of(st.sampled_from(NAMES), st.sampled_from([f"Input:{n}" for n in NAMES]), st.text(max_size=10))


def _dump(fmt: str, data: Any) -> str:
    try:
        if fmt == "json":
            return json.dumps(data)
        if fmt == "yaml":
            return yaml.safe_dump(data)
        return tomlkit.dumps(data)
    except Exception:  # a value the format cannot write (a time in YAML, a date in JSON, …)
        assume(False)
        raise


def _resolve(path: Path) -> None:
    values = clean_call(lambda: load_input_file(path))
    if isinstance(values, TutopandaError):
        assert values.exit_code == 2
        return
    outcome = clean_call(lambda: expand(BLUEPRINT, values))
    if isinstance(outcome, TutopandaError):
        assert outcome.exit_code == 2


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("inputs")


@FAST
@given(
    fmt=st.sampled_from(["toml", "json", "yaml"]),
    mapping=st.dictionaries(keys, toml_values, max_size=5),
    nested=st.booleans(),
)
def test_generated_inputs_files_resolve_or_fail_cleanly(
    folder: Path, fmt: str, mapping: dict[str, Any], nested: bool
) -> None:
    path = folder / f"inputs.{fmt}"
    path.write_text(_dump(fmt, {"inputs": mapping} if nested else mapping), encoding="utf-8")
    _resolve(path)


@FAST
@given(fmt=st.sampled_from(["json", "yaml"]), data=json_values)
def test_any_json_or_yaml_value_resolves_or_fails_cleanly(folder: Path, fmt: str, data: Any) -> None:
    path = folder / f"any.{fmt}"
    path.write_text(_dump(fmt, data), encoding="utf-8")
    _resolve(path)


@FAST
@given(fmt=st.sampled_from(["toml", "json", "yaml"]), data=st.data())
def test_raw_text_edits_of_a_good_file_fail_cleanly(folder: Path, fmt: str, data: st.DataObject) -> None:
    path = folder / f"edited.{fmt}"
    path.write_text(data.draw(text_edits(_dump(fmt, GOOD))), encoding="utf-8")
    _resolve(path)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("huge-int.toml", "NumOfSegments = " + "9" * 5000, "cannot read the file"),
        ("huge-int.json", '{"NumOfSegments": ' + "9" * 5000 + "}", "cannot read the file"),
        ("huge-int.yaml", "NumOfSegments: " + "9" * 5000, "cannot read the value"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "nests too deeply"),
        ("date.toml", "InquiryPrompt = 1979-05-27T07:32:00Z", "expected text, got datetime"),
        ("nan.json", '{"Duration": NaN}', "expected an integer"),
        ("set.yaml", "Style: !!set {anime}", "!!set is not supported"),
        ("python.yaml", "Style: !!python/object/apply:os.system ['touch pwned']", "determine a constructor"),
        ("list-text.toml", 'NumOfSegments = "' + "9" * 5000 + '"', "too many digits"),
        ("binary.toml", b"\xff\xfe".decode("latin-1"), "cannot read inputs file"),
    ],
)  # fmt: skip
def test_hostile_inputs_files_are_one_clean_line(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1") if name.startswith("binary") else text.encode())
    result = run_cli(
        "--root", str(tmp_path / "store"), "blueprints", "validate", "image-audio", "--inputs", str(path)
    )
    message = assert_clean_error(result, codes=(2,))
    assert expected in message
    assert not (tmp_path / "pwned").exists()


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(["toml", "json", "yaml"]),
    mapping=st.dictionaries(keys, toml_values, max_size=4),
    command=st.sampled_from(["validate", "storage:init"]),
)
def test_generated_inputs_files_through_the_cli(
    folder: Path, fmt: str, mapping: dict[str, Any], command: str
) -> None:
    path = folder / f"cli.{fmt}"
    path.write_text(_dump(fmt, mapping), encoding="utf-8")
    root = str(folder / "store")
    if command == "validate":
        result = run_cli("--root", root, "blueprints", "validate", "image-audio", "--inputs", str(path))
    else:
        result = run_cli(
            "--root",
            root,
            "storage:init",
            "--movie",
            "fuzz",
            "--blueprint",
            "image-audio",
            "--inputs",
            str(path),
        )
    assert_clean_outcome(result)
