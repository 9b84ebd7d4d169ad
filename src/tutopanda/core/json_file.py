"""The one way Tutopanda writes its human-readable JSON files, and reports why one does not validate.

Manifests, ``current.json`` and plans are files people open: indent 2, sorted keys, a trailing newline,
non-ASCII written as itself and no NaN/Infinity. The pointer hashes a manifest's exact bytes, so the
format must come from one place.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

__all__ = ["pretty_json_bytes", "validation_summary"]


def pretty_json_bytes(data: Any) -> bytes:
    """``data`` as pretty JSON bytes; raises :class:`ValueError`/:class:`TypeError` for non-JSON data."""
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
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
