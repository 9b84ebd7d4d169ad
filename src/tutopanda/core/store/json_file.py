"""The two ways Tutopanda writes its JSON files, and reports why one does not validate.

Manifests, ``current.json`` and plans are files people open: indent 2, sorted keys, a trailing newline,
non-ASCII written as itself and no NaN/Infinity. The pointer hashes a manifest's exact bytes, so the
format must come from one place. Run records are machine files (``build status`` and the viewer show
them): the same rules without the indentation, which lets Python's C encoder write them —
pretty-printing goes through the pure-Python encoder, most of a second for a 4,000-job record.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tutopanda.core.errors import CorruptDataError

ModelT = TypeVar("ModelT", bound=BaseModel)

__all__ = ["compact_json_bytes", "parse_json_model", "pretty_json_bytes", "validation_summary"]


def pretty_json_bytes(data: Any) -> bytes:
    """``data`` as pretty JSON bytes; raises :class:`ValueError`/:class:`TypeError` for non-JSON data."""
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def compact_json_bytes(data: Any) -> bytes:
    """``data`` as one line of JSON (sorted keys, no spaces) plus a newline; raises like
    :func:`pretty_json_bytes`."""
    text = json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def validation_summary(exc: ValidationError) -> str:
    """The first problem of a pydantic error on one line: ``field.path: message`` (or just the message)."""
    errors = exc.errors(include_url=False)
    if not errors:
        return "invalid"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", "invalid"))
    return f"{where}: {message}" if where else message


def parse_json_model(model: type[ModelT], data: bytes, source: str, what: str, hint: str) -> ModelT:
    """Parse a stored JSON file into ``model``; :class:`CorruptDataError` naming ``source`` and the field."""
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise CorruptDataError(f"{source} is not a valid {what} ({validation_summary(exc)})", hint) from exc
