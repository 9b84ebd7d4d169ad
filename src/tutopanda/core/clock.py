"""Injectable time source.

Everything that stamps a time (events, manifests, pointers) takes a :class:`Clock` so tests can pin
time and get byte-identical output. Times are ISO-8601 UTC with a ``Z`` suffix (see conventions).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FixedClock", "SystemClock", "format_timestamp"]


def format_timestamp(moment: datetime) -> str:
    """Render ``moment`` as ISO-8601 UTC with millisecond precision and a ``Z`` suffix."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class Clock(Protocol):
    """A source of the current time."""

    def now(self) -> datetime: ...

    def timestamp(self) -> str: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def timestamp(self) -> str:
        return format_timestamp(self.now())


class FixedClock:
    """A clock for tests: starts at ``start`` and advances by ``step`` on every reading."""

    def __init__(self, start: datetime | None = None, step: timedelta = timedelta(0)) -> None:
        self._current = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._step = step

    def now(self) -> datetime:
        value = self._current
        self._current = self._current + self._step
        return value

    def timestamp(self) -> str:
        return format_timestamp(self.now())
