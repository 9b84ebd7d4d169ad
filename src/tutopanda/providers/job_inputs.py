"""Reading a job's inputs and requested artefacts the way the bundled modules hand them over.

Why one place: every local handler reads text inputs (sometimes fan-in lists of groups), small integers
and enum strings, and matches the artefacts it must produce by *name* (``MovieTitle``,
``NarrationScript[2]``) from ``context.produces`` rather than by position, so a blueprint that reorders
or omits artefacts still gets the right text in each.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tutopanda.core.engine.provider_contract import JobContext
from tutopanda.core.errors import ProviderConfigError

__all__ = ["RequestedArtefact", "config_number", "input_int", "input_text", "requested_artefacts", "strings"]

_ARTEFACT_ID = re.compile(r"^(?:Artifact:)?(?:[^.\[]+\.)*(?P<name>[^.\[]+)(?P<indices>(?:\[\d+\])*)$")


@dataclass(frozen=True)
class RequestedArtefact:
    """One entry of ``context.produces``, with its name and loop indices split out of the id."""

    artefact_id: str
    kind: str
    name: str
    indices: tuple[int, ...]

    @property
    def last_index(self) -> int:
        """The innermost loop index (0 for an artefact outside any loop)."""
        return self.indices[-1] if self.indices else 0


def requested_artefacts(context: JobContext) -> list[RequestedArtefact]:
    """The artefacts to produce, in the order the blueprint declares them."""
    found = []
    for artefact_id, kind in context.produces:
        match = _ARTEFACT_ID.match(artefact_id)
        name = match["name"] if match else artefact_id
        indices = tuple(int(i) for i in re.findall(r"\d+", match["indices"])) if match else ()
        found.append(RequestedArtefact(artefact_id, kind, name, indices))
    return found


def strings(value: Any) -> Iterator[str]:
    """Every non-blank string inside an input value (fan-in lists of groups flattened), in order."""
    if isinstance(value, str):
        if value.strip():
            yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def input_text(inputs: Mapping[str, Any], alias: str, default: str = "") -> str:
    """A text input (fan-in groups joined by blank lines), stripped; ``default`` when absent or blank."""
    text = "\n\n".join(part.strip() for part in strings(inputs.get(alias)))
    return text or default


def input_int(inputs: Mapping[str, Any], alias: str, default: int) -> int:
    """A positive integer input (numeric strings accepted); ``default`` when absent or unusable."""
    value = inputs.get(alias)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return int(value)
    return default


def config_number(
    config: Mapping[str, Any], key: str, default: float, *, low: float, high: float, where: str
) -> float:
    """A numeric config value within ``[low, high]``; :class:`ProviderConfigError` when it is not."""
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ProviderConfigError(
            f"{where}: config {key} = {value!r} is not a number from {low:g} to {high:g}",
            f"set {key} to a number from {low:g} to {high:g} in the variant's config (default {default:g})",
        )
    return float(value)
