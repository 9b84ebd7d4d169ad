"""Parsing ``--model Module=provider/model`` options into the selection :func:`expand` accepts.

Why: model ids themselves contain slashes (``black-forest-labs/flux-schnell``), so the split rule must be
fixed in one place: the provider is everything before the *first* slash, the model everything after.
Whether the named module and variant exist is checked by expansion, which knows the blueprint.
"""

from __future__ import annotations

from collections.abc import Iterable

from tutopanda.core.errors import InputValidationError

__all__ = ["parse_model_options"]


def parse_model_options(options: Iterable[str]) -> dict[str, tuple[str, str]]:
    """``["Images=replicate/black-forest-labs/flux-schnell"]`` -> ``{"Images": ("replicate", "black-…")}``."""
    selection: dict[str, tuple[str, str]] = {}
    for option in options:
        name, sep, choice = option.partition("=")
        provider, slash, model = choice.partition("/")
        name, provider, model = name.strip(), provider.strip(), model.strip()
        if not sep or not slash or not name or not provider or not model:
            raise InputValidationError(
                f"model choice {option!r} is not of the form Module=provider/model",
                "write e.g. Images=replicate/black-forest-labs/flux-schnell",
            )
        if name in selection:
            raise InputValidationError(f"model for {name} is chosen twice", "choose each module's model once")
        selection[name] = (provider, model)
    return selection
