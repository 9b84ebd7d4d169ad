"""Revision ids: ``rev-0001``, ``rev-0002``, … (zero-padded to four digits, growing past four).

``rev-0000`` names the synthetic empty manifest a movie has before its first build. Ids must round-trip
exactly (``rev-01`` and ``rev-00001`` are refused) so that one revision has one file name.
"""

from __future__ import annotations

import re

from tutopanda.core.errors import UsageError

__all__ = [
    "EMPTY_REVISION",
    "REVISION_PATTERN",
    "format_revision",
    "is_revision",
    "next_revision",
    "parse_revision",
    "revision_key",
]

EMPTY_REVISION = "rev-0000"
"""The revision of the synthetic empty manifest (never written to disk)."""

REVISION_PATTERN = r"^rev-(\d{4}|[1-9]\d{4,})$"
"""A regex matching exactly the well-formed revision ids (for pydantic ``Field(pattern=...)``)."""

_REVISION = re.compile(r"rev-(\d{4,})")


def format_revision(number: int) -> str:
    """``7`` -> ``"rev-0007"``; ``12345`` -> ``"rev-12345"``."""
    if number < 0:
        raise UsageError(f"revision number {number} is negative", "revision numbers start at 0")
    return f"rev-{number:04d}"


def parse_revision(revision: str) -> int:
    """``"rev-0007"`` -> ``7``; raises :class:`UsageError` for anything else."""
    match = _REVISION.fullmatch(revision) if isinstance(revision, str) else None
    if match is None or format_revision(int(match.group(1))) != revision:
        raise UsageError(
            f"invalid revision {revision!r}", "revisions look like 'rev-0001' (at least four digits)"
        )
    return int(match.group(1))


def is_revision(revision: str) -> bool:
    """Whether ``revision`` is a well-formed revision id."""
    try:
        parse_revision(revision)
    except UsageError:
        return False
    return True


def next_revision(revision: str | None) -> str:
    """The revision after ``revision`` (``None`` counts as ``rev-0000``, so the first is ``rev-0001``)."""
    return format_revision(parse_revision(revision or EMPTY_REVISION) + 1)


def revision_key(revision: str) -> int:
    """Sort key ordering revisions numerically (``rev-9999`` before ``rev-10000``)."""
    return parse_revision(revision)
