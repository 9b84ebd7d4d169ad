"""Recording mock calls, in-process (:class:`MockCallCounter`) and across processes (a JSON Lines log).

Why: the engine's promises are about *how many* provider calls happen (a fresh job costs nothing, a
failed job is retried, undo is free). Tests assert those counts. In-process tests share a counter with
the handlers; subprocess CLI tests set ``TUTOPANDA_MOCK_CALL_LOG`` to a file and every call appends one
line ``{"jobId", "kind", "attempt", "pid"}`` with a single ``O_APPEND`` write (atomic for lines this
short on local file systems), so concurrent processes never interleave lines.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MOCK_CALL_LOG_ENV", "MockCall", "MockCallCounter", "append_call_log", "read_call_log"]

MOCK_CALL_LOG_ENV = "TUTOPANDA_MOCK_CALL_LOG"
"""When set to a file path, every mock call appends one JSON line to that file."""


@dataclass(frozen=True)
class MockCall:
    """One call of a mock handler."""

    job_id: str
    kind: str
    attempt: int
    provider: str
    model: str


class MockCallCounter:
    """Thread- and task-safe record of mock calls, with counting helpers for assertions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[MockCall] = []

    def record(self, call: MockCall) -> None:
        """Add one call."""
        with self._lock:
            self._calls.append(call)

    @property
    def calls(self) -> list[MockCall]:
        """A copy of every call so far, in call order."""
        with self._lock:
            return list(self._calls)

    def count(self, *, kind: str | None = None, job_id: str | None = None) -> int:
        """How many calls matched ``kind`` and/or ``job_id`` (all calls when both are None)."""
        return sum(
            1
            for call in self.calls
            if (kind is None or call.kind == kind) and (job_id is None or call.job_id == job_id)
        )

    def job_ids(self) -> list[str]:
        """Distinct job ids called, in first-call order."""
        return list(dict.fromkeys(call.job_id for call in self.calls))

    def attempts(self, job_id: str) -> list[int]:
        """The attempt numbers ``job_id`` was called with, in call order."""
        return [call.attempt for call in self.calls if call.job_id == job_id]

    def reset(self) -> None:
        """Forget every call."""
        with self._lock:
            self._calls.clear()


def append_call_log(path: str, call: MockCall) -> None:
    """Append ``call`` to the JSON Lines log at ``path`` with one ``O_APPEND`` write."""
    line = json.dumps(
        {"jobId": call.job_id, "kind": call.kind, "attempt": call.attempt, "pid": os.getpid()},
        sort_keys=True,
        ensure_ascii=True,
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode("ascii"))
    finally:
        os.close(fd)


def read_call_log(path: str | Path) -> list[dict[str, Any]]:
    """Every record of a call log (an empty list when the file does not exist)."""
    file = Path(path)
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text(encoding="ascii").splitlines() if line.strip()]
