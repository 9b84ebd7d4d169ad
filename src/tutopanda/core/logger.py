"""Injectable structured logger.

Core code logs through this small protocol rather than a global logger so tests can capture what was
said (for example the warning about a torn event-log line) and so the CLI can route messages to Rich.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

__all__ = ["Logger", "MemoryLogger", "StdlibLogger"]


class Logger(Protocol):
    """Structured logging: a message plus keyword fields."""

    def debug(self, message: str, **fields: Any) -> None: ...

    def info(self, message: str, **fields: Any) -> None: ...

    def warning(self, message: str, **fields: Any) -> None: ...

    def error(self, message: str, **fields: Any) -> None: ...


class StdlibLogger:
    """Forwards to :mod:`logging` under the ``tutopanda`` name (the default)."""

    def __init__(self, name: str = "tutopanda") -> None:
        self._logger = logging.getLogger(name)

    def _log(self, level: int, message: str, fields: dict[str, Any]) -> None:
        if fields:
            rendered = " ".join(f"{key}={value}" for key, value in sorted(fields.items()))
            message = f"{message} ({rendered})"
        self._logger.log(level, message)

    def debug(self, message: str, **fields: Any) -> None:
        self._log(logging.DEBUG, message, fields)

    def info(self, message: str, **fields: Any) -> None:
        self._log(logging.INFO, message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._log(logging.WARNING, message, fields)

    def error(self, message: str, **fields: Any) -> None:
        self._log(logging.ERROR, message, fields)


class MemoryLogger:
    """Keeps every record in :attr:`records` as ``(level, message, fields)``; for tests."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def debug(self, message: str, **fields: Any) -> None:
        self.records.append(("debug", message, fields))

    def info(self, message: str, **fields: Any) -> None:
        self.records.append(("info", message, fields))

    def warning(self, message: str, **fields: Any) -> None:
        self.records.append(("warning", message, fields))

    def error(self, message: str, **fields: Any) -> None:
        self.records.append(("error", message, fields))

    def messages(self, level: str | None = None) -> list[str]:
        """The messages logged, optionally only those at ``level``."""
        return [message for lvl, message, _ in self.records if level is None or lvl == level]
