""" "Did you mean ...?" suggestions for misspelt names.

Why: most blueprint and input errors are typos (``NumOfSegment``, ``artifacts``). Naming the closest
valid spelling in the hint turns a lookup in the docs into a one-character fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["SHORT_LIST", "closest", "did_you_mean", "listing"]

SHORT_LIST = 12
"""Up to this many valid names are listed after a suggestion (closed sets such as kinds and types)."""


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to ``name`` (case-insensitive match first), or None if none is close."""
    pool = sorted(set(candidates))
    folded = [candidate for candidate in pool if candidate.casefold() == name.casefold()]
    if folded:
        return folded[0]
    matches = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return matches[0] if matches else None


def listing(candidates: Iterable[str], limit: int = 12) -> str:
    """A short, sorted, comma-separated list for hints (``a, b, c`` or ``(none)``)."""
    pool = sorted(set(candidates))
    if not pool:
        return "(none)"
    shown = ", ".join(pool[:limit])
    return shown + (f", … ({len(pool) - limit} more)" if len(pool) > limit else "")


def did_you_mean(name: str, candidates: Iterable[str], what: str = "") -> str:
    """A hint: ``did you mean 'X'?`` when something is close, plus the valid names when they are few."""
    pool = sorted(set(candidates))
    best = closest(name, pool)
    label = f"valid {what}: " if what else "valid names: "
    if best is None:
        return label + listing(pool)
    if len(pool) <= SHORT_LIST and best.casefold() != name.casefold():
        return f"did you mean '{best}'? ({label}{listing(pool)})"
    return f"did you mean '{best}'?"
