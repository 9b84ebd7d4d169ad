"""Every class of blueprint mistake is reported as a BlueprintError with the file, the line and a fix.

Each case edits a small valid blueprint; the line the error must point at carries a ``#!`` marker, so the
expected line number is read from the text rather than hard-coded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tutopanda.core.blueprint import load_blueprint, validate_blueprint
from tutopanda.core.errors import BlueprintError

BASE = """\
meta:
  id: test
  name: Test
inputs:
  - name: Topic
    type: string
  - name: NumOfSegments
    type: int
    default: 2
loops:
  - name: segment
    countInput: NumOfSegments
modules:
  - name: Script
    define:
      producer: Writer
      kind: script
      inputs:
        - name: Topic
          type: string
        - name: Count
          type: int
      artefacts:
        - name: Line
          kind: text
          countInput: Count
      variants:
        - provider: local
          model: draft
    inputs:
      Topic: Topic
      Count: NumOfSegments
  - name: Voice
    loop: segment
    define:
      producer: Speaker
      kind: narration
      inputs:
        - name: Text
          type: text
        - name: Speed
          type: number
          default: 1.0
      artefacts:
        - name: Clip
          kind: audio
      variants:
        - provider: local
          model: espeak-ng
          prompt: "Read {{Text}}"
    inputs:
      Text: Script.Line[segment]
  - name: Mix
    define:
      producer: Mixer
      kind: timeline
      inputs:
        - name: Clips
          type: audio
          fanIn: true
        - name: First
          type: audio
          required: false
      artefacts:
        - name: Timeline
          kind: json
      variants:
        - provider: tutopanda
          model: ordered-timeline
    inputs:
      Clips: {collect: Voice.Clip, groupBy: segment}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "test.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _marker_line(text: str) -> int:
    lines = [number for number, line in enumerate(text.splitlines(), start=1) if "#!" in line]
    assert len(lines) == 1, "each case marks exactly one line"
    return lines[0]


def _edit(old: str, new: str) -> str:
    """Replace ``old``, which must occur exactly once at the start of a line."""
    framed = "\n" + BASE
    assert framed.count("\n" + old) == 1, old
    return framed.replace("\n" + old, "\n" + new)[1:]


def test_base_blueprint_is_valid(tmp_path: Path) -> None:
    blueprint = load_blueprint(str(_write(tmp_path, BASE)))
    validate_blueprint(blueprint)
    assert [module.name for module in blueprint.modules] == ["Script", "Voice", "Mix"]
    assert blueprint.module("Script").artefact_loops["Line"] == ("segment",)  # type: ignore[union-attr]


CASES: dict[str, tuple[str, str]] = {
    # class of error: (edited blueprint text, fragment the hint must contain)
    "yaml-syntax": (_edit("  name: Test\n", "  name: Test: again #!\n"), "quote"),
    "duplicate-yaml-key": (_edit("  name: Test\n", "  name: Test\n  id: again #!\n"), "remove or rename"),
    "unknown-key": (_edit("  name: Test\n", "  nmae: Test #!\n"), "did you mean 'name'"),
    "unknown-top-level-section": (_edit("loops:\n", "loop: #!\n"), "did you mean 'loops'"),
    "missing-field": (_edit("  - name: Topic\n    type: string\n", "  - name: Topic #!\n"), "type:"),
    "bad-name": (_edit("  - name: Topic\n", "  - name: My Topic #!\n"), "letters, digits"),
    "bad-input-type": (
        _edit("    type: string\n  - name: NumOf", "    type: strng #!\n  - name: NumOf"),
        "'string'",
    ),
    "default-does-not-fit-type": (_edit("    default: 2\n", "    default: two #!\n"), "whole number"),
    "enum-without-values": (
        _edit("  - name: Topic\n", "  - name: Mood #!\n    type: enum\n  - name: Topic\n"),
        "values:",
    ),
    "enum-default-not-a-choice": (
        _edit(
            "  - name: Topic\n",
            "  - name: Mood\n    type: enum\n    values: [calm, loud]\n"
            "    default: clam #!\n  - name: Topic\n",
        ),
        "choices: calm, loud",  # the message itself says "did you mean 'calm'?"
    ),
    "min-greater-than-max": (
        _edit("    default: 2\n", "    default: 2\n    min: 5 #!\n    max: 1\n"),
        "swap",
    ),
    "range-on-string": (
        _edit("    type: string\n  - name: NumOf", "    type: string\n    min: 1 #!\n  - name: NumOf"),
        "remove min",
    ),
    "bad-artefact-kind": (_edit("          kind: audio\n", "          kind: sound #!\n"), "audio"),
    "bad-producer-kind": (
        _edit("      kind: narration\n", "      kind: narator #!\n"),
        "did you mean 'narration'",
    ),
    "count-input-not-int": (
        _edit("          countInput: Count\n", "          countInput: Topic #!\n"),
        "Count",
    ),
    "duplicate-input": (_edit("  - name: NumOfSegments\n", "  - name: Topic #!\n"), "rename"),
    "duplicate-module": (_edit("  - name: Mix\n", "  - name: Voice #!\n"), "rename"),
    "duplicate-artefact": (
        _edit(
            "        - name: Timeline\n",
            "        - name: Timeline\n          kind: json\n        - name: Timeline #!\n",
        ),
        "rename",
    ),
    "duplicate-variant": (
        _edit(
            "          model: ordered-timeline\n",
            "          model: ordered-timeline\n"
            "        - provider: tutopanda #!\n          model: ordered-timeline\n",
        ),
        "remove one",
    ),
    "unknown-module-loop": (
        _edit("  - name: Voice\n    loop: segment\n", "  - name: Voice #!\n    loop: segmnt\n"),
        "did you mean 'segment'",
    ),
    "unknown-parent-loop": (
        _edit("  - name: segment\n", "  - name: segment #!\n    parent: scene\n"),
        "valid loops",
    ),
    "loop-count-not-int": (
        _edit(
            "  - name: segment\n    countInput: NumOfSegments\n",
            "  - name: segment #!\n    countInput: Topic\n",
        ),
        "NumOfSegments",
    ),
    "loop-parent-cycle": (
        _edit("  - name: segment\n", "  - name: segment #!\n    parent: segment\n"),
        "inside itself",
    ),
    "dangling-module": (
        _edit("      Text: Script.Line[segment]\n", "      Text: Scrpt.Line[segment] #!\n"),
        "did you mean 'Script'",
    ),
    "dangling-input": (_edit("      Topic: Topic\n", "      Topic: Topc #!\n"), "did you mean 'Topic'"),
    "dangling-artefact": (
        _edit("      Text: Script.Line[segment]\n", "      Text: Script.Lines[segment] #!\n"),
        "did you mean 'Line'",
    ),
    "dangling-collector": (
        _edit(
            "      Clips: {collect: Voice.Clip, groupBy: segment}\n",
            "      Clips: {collect: Voice.Clips, groupBy: segment} #!\n",
        ),
        "did you mean 'Clip'",
    ),
    "unknown-target-input": (
        _edit(
            "      Text: Script.Line[segment]\n", "      Text: Script.Line[segment]\n      Sped: Topic #!\n"
        ),
        "did you mean 'Speed'",
    ),
    "bad-reference-syntax": (
        _edit("      Topic: Topic\n", "      Topic: Script..Line #!\n"),
        "Script.MovieSummary",
    ),
    "wrong-index": (
        _edit("      Text: Script.Line[segment]\n", "      Text: Script.Line #!\n"),
        "exactly its loops",
    ),
    "picks-outside-its-loop": (
        _edit(
            "      Clips: {collect: Voice.Clip, groupBy: segment}\n",
            "      Clips: {collect: Voice.Clip, groupBy: segment}\n      First: Voice.Clip[segment] #!\n",
        ),
        "collect:",
    ),
    "optional-input-into-required": (
        _edit("      Topic: Topic\n", "      Topic: Topic #!\n").replace(
            "    type: string\n  - name: NumOf", "    type: string\n    required: false\n  - name: NumOf"
        ),
        "give Topic a default",
    ),
    "type-mismatch": (_edit("      Topic: Topic\n", "      Topic: NumOfSegments #!\n"), "same type"),
    "artefact-kind-mismatch": (
        _edit(
            "      Clips: {collect: Voice.Clip, groupBy: segment}\n",
            "      Clips: {collect: Script.Line, groupBy: segment} #!\n",
        ),
        "type: text",
    ),
    "collect-into-plain-input": (
        _edit(
            "      Text: Script.Line[segment]\n", "      Text: {collect: Script.Line, groupBy: segment} #!\n"
        ),
        "fanIn: true",
    ),
    "fan-in-without-collect": (
        _edit("      Clips: {collect: Voice.Clip, groupBy: segment}\n", "      Clips: Voice.Clip #!\n"),
        "collect:",
    ),
    "collect-unknown-group-loop": (
        _edit(
            "      Clips: {collect: Voice.Clip, groupBy: segment}\n",
            "      Clips: {collect: Voice.Clip, groupBy: segmnt} #!\n",
        ),
        "did you mean 'segment'",
    ),
    "required-input-unwired": (
        _edit("  - name: Script\n", "  - name: Script #!\n").replace("      Topic: Topic\n", ""),
        "Topic:",
    ),
    "counted-artefact-without-loop": (
        _edit("      Count: NumOfSegments\n", "      Count: Other #!\n").replace(
            "loops:\n", "  - name: Other\n    type: int\n    default: 1\nloops:\n"
        ),
        "countInput: Other",
    ),
    "cycle": (
        _edit("      Text: Script.Line[segment]\n", "      Text: Script.Line[segment] #!\n")
        .replace(
            "        - name: Count\n",
            "        - name: Prev\n          type: json\n          required: false\n        - name: Count\n",
        )
        .replace("      Count: NumOfSegments\n", "      Count: NumOfSegments\n      Prev: Mix.Timeline\n"),
        "cannot depend",
    ),
    "self-reference": (
        _edit("          model: ordered-timeline\n", "          model: ordered-timeline\n").replace(
            "      Clips: {collect: Voice.Clip, groupBy: segment}\n",
            "      Clips: {collect: Voice.Clip, groupBy: segment}\n      First: Mix.Timeline #!\n",
        ),
        "type: json",
    ),
    "prompt-placeholder-unknown": (
        _edit('          prompt: "Read {{Text}}"\n', '          prompt: "Read {{Txt}}" #!\n'),
        "did you mean 'Text'",
    ),
    "prompt-file-missing": (
        _edit('          prompt: "Read {{Text}}"\n', "          promptFile: nope.txt #!\n"),
        "relative",
    ),
    "variant-missing-model": (
        _edit("        - provider: local\n          model: draft\n", "        - provider: local #!\n"),
        "model:",
    ),
    "no-variants": (
        _edit("      producer: Writer\n", "      producer: Writer #!\n").replace(
            "      variants:\n        - provider: local\n          model: draft\n", ""
        ),
        "variants:",
    ),
    "no-artefacts": (
        _edit("      producer: Mixer\n", "      producer: Mixer #!\n").replace(
            "      artefacts:\n        - name: Timeline\n          kind: json\n", ""
        ),
        "artefacts:",
    ),
    "use-and-define": (
        _edit("  - name: Mix\n    define:\n", "  - name: Mix #!\n    use: timeline\n    define:\n"),
        "use: narration",
    ),
    "module-use-missing-file": (
        BASE.split("  - name: Mix\n")[0] + "  - name: Mix\n    use: missing.yaml #!\n",
        "relative to the file",
    ),
    "unknown-bundled-module": (
        BASE.split("  - name: Mix\n")[0] + "  - name: Mix\n    use: narator #!\n",
        "did you mean 'narration'",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_error_points_at_file_line_and_fix(tmp_path: Path, case: str) -> None:
    text, hint = CASES[case]
    path = _write(tmp_path, text)
    with pytest.raises(BlueprintError) as caught:
        load_blueprint(str(path))
    error = caught.value
    assert error.file == str(path), error.message
    assert error.line == _marker_line(text), error.message
    assert error.hint is not None and hint in error.hint, (error.message, error.hint)
    assert error.message.startswith(f"{path}:{error.line}: ")


def test_error_inside_a_module_file_names_that_file(tmp_path: Path) -> None:
    module = tmp_path / "modules" / "speaker.yaml"
    module.parent.mkdir()
    module.write_text(
        "producer: Speaker\nkind: narration\ninputs:\n  - name: Text\n    type: text\n"
        "artefacts:\n  - name: Clip\n    kind: noise\nvariants:\n  - {provider: local, model: espeak-ng}\n",
        encoding="utf-8",
    )
    text = BASE.split("  - name: Voice\n")[0] + (
        "  - name: Voice\n    loop: segment\n    use: modules/speaker.yaml\n"
        "    inputs:\n      Text: Script.Line[segment]\n"
    )
    with pytest.raises(BlueprintError) as caught:
        load_blueprint(str(_write(tmp_path, text)))
    assert caught.value.file == str(tmp_path / "modules" / "speaker.yaml")
    assert caught.value.line == 8
    assert caught.value.hint is not None and "audio" in caught.value.hint


def test_prompt_placeholder_in_a_prompt_file_is_checked(tmp_path: Path) -> None:
    (tmp_path / "read.txt").write_text("Read {{Txet}} slowly", encoding="utf-8")
    text = _edit('          prompt: "Read {{Text}}"\n', "          promptFile: read.txt\n")
    with pytest.raises(BlueprintError) as caught:
        load_blueprint(str(_write(tmp_path, text)))
    assert "read.txt" in caught.value.message
    assert caught.value.hint is not None and caught.value.hint.startswith("did you mean 'Text'?")


def test_unknown_bundled_blueprint_lists_the_bundled_names() -> None:
    with pytest.raises(BlueprintError) as caught:
        load_blueprint("image-audoi")
    assert caught.value.hint is not None
    assert "did you mean 'image-audio'" in caught.value.hint
    assert "audio-only" in caught.value.hint and "video-audio-music" in caught.value.hint


def test_missing_blueprint_file_is_a_blueprint_error(tmp_path: Path) -> None:
    with pytest.raises(BlueprintError, match="does not exist"):
        load_blueprint(str(tmp_path / "nope.yaml"))


def test_yaml_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(BlueprintError) as caught:
        load_blueprint(str(_write(tmp_path, "- just\n- a list\n")))
    assert caught.value.line == 1 and caught.value.hint == "start the file with `meta:`"


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    text = _edit("  name: Test\n", "  name: !!python/object/apply:os.system ['echo hi'] #!\n")
    with pytest.raises(BlueprintError) as caught:
        load_blueprint(str(_write(tmp_path, text)))
    assert caught.value.line == _marker_line(text)
