"""``vocabulary:`` inputs: the bundled blueprints use the shared lists, values are checked against them,
and a blueprint naming a vocabulary that does not exist (or misusing one) is a located error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutopanda.core.blueprint import (
    InputSpec,
    coerce_value,
    expand,
    list_bundled_blueprints,
    load_blueprint,
    resolve_inputs,
)
from tutopanda.core.blueprint.vocabulary import VOCABULARIES
from tutopanda.core.errors import BlueprintError, InputValidationError

SHARED = {
    "Style": "style",
    "Audience": "audience",
    "Language": "language",
    "Resolution": "resolution",
    "AspectRatio": "aspect-ratio",
}
"""Input name -> the vocabulary every bundled blueprint and module must use for it."""


def _bundled_inputs() -> list[tuple[str, InputSpec]]:
    found: list[tuple[str, InputSpec]] = []
    for summary in list_bundled_blueprints():
        blueprint = load_blueprint(summary.name)
        found += [(f"{summary.name}: {spec.name}", spec) for spec in blueprint.inputs]
        for module in blueprint.modules:
            found += [(f"{module.producer.file}: {spec.name}", spec) for spec in module.producer.inputs]
    return found


def test_every_bundled_input_of_a_shared_name_uses_the_shared_vocabulary() -> None:
    checked = 0
    for where, spec in _bundled_inputs():
        if spec.name not in SHARED:
            continue
        vocabulary = VOCABULARIES[SHARED[spec.name]]
        assert spec.vocabulary == vocabulary.name, where
        assert spec.allowed_values == vocabulary.words, where
        assert spec.default in vocabulary.words, where
        assert spec.pattern is None, where
        checked += 1
    assert checked >= 20  # 3 blueprints x their top-level inputs, plus the modules' own declarations


def test_a_vocabulary_enum_takes_its_choices_from_the_vocabulary() -> None:
    style = load_blueprint("image-audio").input("Style")
    assert style is not None
    assert (style.type, style.vocabulary, style.values) == ("enum", "style", VOCABULARIES["style"].words)
    language = load_blueprint("image-audio").input("Language")
    assert language is not None
    assert (language.type, language.vocabulary, language.values) == ("string", "language", None)


@pytest.mark.parametrize(
    ("blueprint", "name", "value", "fragment"),
    [
        ("image-audio", "Style", "watercolour", "did you mean 'watercolor'?"),
        ("image-audio", "Language", "french", "did you mean 'fr' (French)?"),
        ("image-audio", "Audience", "kids", "(allowed: child, teen, adult, expert)"),
        ("image-audio", "Resolution", "4k", "(allowed: 480p, 720p, 1080p)"),
        ("audio-only", "Clips.Style", "neon", "is not a style"),  # unwired producer inputs too
    ],
)
def test_values_outside_the_vocabulary_are_refused_in_one_line(
    blueprint: str, name: str, value: str, fragment: str
) -> None:
    with pytest.raises(InputValidationError) as caught:
        resolve_inputs(load_blueprint(blueprint), {name: value})
    assert caught.value.message.startswith(f"input {name}: ")
    assert fragment in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.hint


def test_case_is_forgiven_and_the_canonical_word_is_stored() -> None:
    graph = expand(load_blueprint("image-audio"), {"Style": "Watercolor", "Language": "FR"})
    assert graph.inputs.value("Input:Style") == "watercolor"
    assert graph.inputs.value("Input:Language") == "fr"


def test_a_list_of_vocabulary_words_checks_each_item() -> None:
    spec = InputSpec(name="Languages", type="list", item_type="string", vocabulary="language")
    assert coerce_value(spec, "en, FR") == ("en", "fr")
    with pytest.raises(InputValidationError, match=r"Languages\[1\].*did you mean 'de' \(German\)"):
        coerce_value(spec, "en,german")


BASE = """\
meta:
  id: vocab
inputs:
  - name: Style
    type: enum
    vocabulary: style
    default: anime
  - name: Language
    type: string
    vocabulary: language
    default: en
modules:
  - name: Images
    use: image
    inputs:
      Prompt: Script.Line
      Style: Style
  - name: Script
    define:
      producer: Writer
      kind: script
      inputs:
        - name: Language
          type: string
          vocabulary: language
      artefacts:
        - name: Line
          kind: text
      variants:
        - provider: local
          model: draft
    inputs:
      Language: Language
"""


def _load(tmp_path: Path, text: str) -> BlueprintError:
    path = tmp_path / "vocab.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BlueprintError) as caught:
        load_blueprint(str(path))
    error = caught.value
    assert error.file == str(path)
    marked = [number for number, line in enumerate(text.splitlines(), 1) if "#!" in line]
    assert error.line == marked[0], error.message
    assert error.message.startswith(f"{path}:{error.line}: ")
    assert error.hint
    return error


def test_the_base_blueprint_loads(tmp_path: Path) -> None:
    path = tmp_path / "vocab.yaml"
    path.write_text(BASE, encoding="utf-8")
    graph = expand(load_blueprint(str(path)), {})
    assert graph.inputs.value("Input:Style") == "anime"


def test_an_unknown_vocabulary_is_a_located_error_with_a_suggestion(tmp_path: Path) -> None:
    error = _load(tmp_path, BASE.replace("    vocabulary: style\n", "    vocabulary: styles #!\n"))
    assert "unknown vocabulary 'styles'" in error.message
    assert error.hint is not None and "did you mean 'style'" in error.hint


@pytest.mark.parametrize(
    ("old", "new", "message", "hint"),
    [
        (
            "    vocabulary: style\n",
            "    vocabulary: style #!\n    values: [anime]\n",
            "values or vocabulary, not both",
            "keep vocabulary: style",
        ),
        (
            "    type: string\n    vocabulary: language\n    default: en\n",
            "    type: string\n    vocabulary: language\n    default: en\n    pattern: '[a-z]{2}' #!\n",
            "pattern and vocabulary",
            "remove pattern",
        ),
        (
            "    default: anime\n",
            "    default: aneme #!\n",
            "did you mean 'anime'?",
            "styles",
        ),
        (
            "  - name: Language\n    type: string\n    vocabulary: language\n    default: en\n",
            "  - name: Language\n    type: string\n    vocabulary: language\n    default: en\n"
            "  - name: Count\n    type: int\n    vocabulary: style #!\n",
            "vocabulary only applies to enum and string inputs",
            "type: enum",
        ),
        (
            "    vocabulary: style\n",
            "    values: [anime, pastel]\n",
            "accepts only vocabulary style, but input Style allows 'pastel'",
            "vocabulary: style",
        ),
    ],
)
def test_misused_vocabularies_are_located_errors(
    tmp_path: Path, old: str, new: str, message: str, hint: str
) -> None:
    text = BASE.replace(old, new, 1)
    if "#!" not in text:  # the wiring error points at the wire
        text = text.replace("      Style: Style\n", "      Style: Style #!\n")
    error = _load(tmp_path, text)
    assert message in error.message
    assert error.hint is not None and hint in error.hint
