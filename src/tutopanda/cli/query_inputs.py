"""What the user hands ``query``: the question, an optional script, and input values from flags and
from ``settings.toml``.

Why a module of its own: every one of these is checked before anything is created or recorded (a bad
value exits 2 naming the flag or the settings file), and the command only has to call the checks.
Flags are checked against the vocabularies their inputs use (:mod:`tutopanda.core.blueprint.vocabulary`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from tutopanda.core.blueprint import Blueprint
    from tutopanda.providers.local.script_markdown import ParsedScript
    from tutopanda.settings import Settings

__all__ = ["check_prompt", "flag_values", "read_script", "settings_values"]


def flag_values(blueprint: Blueprint, prompt: str | None, flags: dict[str, Any]) -> dict[str, object]:
    from tutopanda.core.blueprint.vocabulary import check, find_vocabulary
    from tutopanda.core.errors import InputValidationError, UsageError
    from tutopanda.settings import OPTION_INPUTS  # every flag of the table (the MCP server takes a subset)

    values: dict[str, object] = {}
    if prompt is not None:
        values["InquiryPrompt"] = prompt
    for flag, name in OPTION_INPUTS.items():
        value = flags.get(flag)
        if value is None:
            continue
        spec = blueprint.input(name)
        option = "--" + flag.replace("_", "-")
        if spec is None:
            raise UsageError(
                f"{option} does not apply to blueprint {blueprint.meta.id} (it has no {name} input)",
                f"drop {option}, or see 'tutopanda blueprints describe {blueprint.meta.id}'",
            )
        vocabulary = find_vocabulary(spec.vocabulary) if spec.vocabulary else None
        if vocabulary is not None and isinstance(value, str):  # the flag's name in the one-line error
            verdict = check(vocabulary, value)
            if verdict.value is None:
                raise InputValidationError(f"{option}: {verdict.message}", verdict.hint)
            value = verdict.value
        values[name] = value
    return values


def settings_values(blueprint: Blueprint, settings: Settings, given: dict[str, object]) -> dict[str, object]:
    """The settings' input values for a new movie: only inputs the blueprint has and no flag set."""
    from tutopanda.settings import general_input_values

    # unset, overridden by a flag, or not an input of this blueprint: skipped silently
    return general_input_values(settings, lambda name: blueprint.input(name) is not None, given)


def check_prompt(prompt: str) -> None:
    """Refuse an empty question, or one over the text limits, before anything is named after it."""
    from tutopanda.core.errors import UsageError
    from tutopanda.core.limits import check_text

    if not prompt or prompt.isspace():  # isspace, not strip: no copy of a 50 MB question
        raise UsageError("the question is empty", 'ask something: tutopanda query "How do volcanoes erupt?"')
    check_text("the question (input InquiryPrompt)", prompt)


def read_script(script: Path, segments: int | None) -> ParsedScript:
    """``--script``: the user's Markdown, read with the document limits, checked against ``--segments``."""
    from tutopanda.core.errors import UsageError
    from tutopanda.core.limits import MAX_DOCUMENT_BYTES, check_file_size
    from tutopanda.providers.local.script_markdown import parse_script_markdown

    try:
        if script.exists() and not script.is_file():  # a folder, FIFO or device
            raise UsageError(f"--script {script} is not a file", "give the path of a Markdown file")
        check_file_size(f"--script {script}", script.stat().st_size, limit=MAX_DOCUMENT_BYTES)
        text = script.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {script}: {exc.strerror or exc}", "check the --script path") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"--script {script} is not UTF-8 text (byte {exc.start + 1})", "save the file as UTF-8"
        ) from None
    parsed = parse_script_markdown(text, str(script))
    if segments is not None and segments != len(parsed.segments):
        raise UsageError(
            f"--segments {segments} but {script} has {len(parsed.segments)} sections",
            "drop --segments: with --script the sections set the number of segments",
        )
    return parsed
