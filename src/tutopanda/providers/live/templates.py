"""Prompt templates: ``{{Variable}}`` replaced by the job's resolved input values.

Why a tiny renderer of our own: blueprint prompt files are plain text a user edits, with only one
construct to learn. Fan-in inputs (lists of groups, e.g. every segment's narration) render as numbered
lines so the model sees their order; a ``{{Name}}`` with no value is a configuration error naming the
variable and the inputs that exist, raised before any paid call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from tutopanda.core.engine.provider_contract import ArtefactInput
from tutopanda.core.errors import ProviderConfigError

__all__ = ["TEMPLATE_VARIABLE", "render_template", "render_value", "template_variables"]

TEMPLATE_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


def template_variables(template: str) -> list[str]:
    """The variable names a template uses, in order of first use."""
    return list(dict.fromkeys(TEMPLATE_VARIABLE.findall(template)))


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return [item for entry in value for item in _flatten(entry)]
    return [value]


def render_value(value: Any) -> str:
    """How one input value appears in a prompt."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, ArtefactInput):
        return f"[{value.kind} {value.id}]"
    if isinstance(value, list | tuple):
        items = [render_value(item) for item in _flatten(value)]
        return "\n".join(f"{index}. {item}" for index, item in enumerate(items, start=1))
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def render_template(template: str, values: Mapping[str, Any], *, where: str) -> str:
    """``template`` with every ``{{Name}}`` replaced; ProviderConfigError naming ``where`` if unknown."""
    missing = [name for name in template_variables(template) if name not in values]
    if missing:
        known = ", ".join(sorted(values)) or "(none)"
        raise ProviderConfigError(
            f"{where}: the prompt template uses {{{{{missing[0]}}}}}, which is not an input of this job",
            f"use one of: {known}",
        )
    return TEMPLATE_VARIABLE.sub(lambda match: render_value(values[match.group(1)]), template)
