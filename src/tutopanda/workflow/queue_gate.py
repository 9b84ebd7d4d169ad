"""Queue gates: one cheap look for queued work per tick, for all of a worker's queues, instead of a
DBOS poll of every queue.

DBOS 3.4 polls each queue from its own thread, and every poll is a write transaction whether or not
anything is queued: a connection check, the latest-application-version query, a ``SELECT ... FOR
UPDATE SKIP LOCKED`` and the commit (four round trips, a few milliseconds of Python; on SQLite, the
write lock). A worker serving three queues at 0.1 s made 30 such polls a second, and during a build
96% of them found nothing (``bench/scale.py``: an idle PostgreSQL worker used 11% of a core; four of
them polled away about 40% of one during a build). ``bench/dbos_limit_repro.py`` shows the cost in
DBOS alone.

A gate keeps a queue's poller from reaching the database while nothing of this application version is
``ENQUEUED`` on it: it sets the in-memory queue's worker concurrency to 0, which DBOS checks before it
polls (in memory), and back to the worker's limit as soon as one query — for all the worker's queues
together, every ``GATE_INTERVAL_SECONDS`` — finds queued work. It only ever delays a poll by a tick:
when the query fails (the schema not there yet, the server blinking), every gate opens, which is what
DBOS does on its own.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from typing import Any

from tutopanda.workflow.liveness import is_postgres, sqlite_path

__all__ = ["GATE_INTERVAL_SECONDS", "QueueGates"]

GATE_INTERVAL_SECONDS = 0.05
"""How often a worker looks for queued work on its queues (one indexed query for all of them)."""

_log = logging.getLogger(__name__)


class QueueGates:
    """Opens a worker's DBOS queues (``{name: Queue}``) to polling only while they hold queued work."""

    def __init__(
        self,
        database_url: str,
        application_version: str,
        queues: dict[str, Any],
        *,
        interval: float = GATE_INTERVAL_SECONDS,
    ) -> None:
        self.database_url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.application_version = application_version
        self._queues = dict(queues)
        self._limits = {name: queue._worker_concurrency for name, queue in self._queues.items()}
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: Any = None
        self.checks = 0

    def start(self) -> None:
        self.check_once()
        self._thread = threading.Thread(target=self._watch, name="tutopanda-queue-gates", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close()
        self._set(set(self._queues))  # as DBOS would poll on its own

    def check_once(self) -> set[str]:
        """Open the gates of the queues with queued work, close the others; the open ones."""
        try:
            waiting = self._waiting()
        except Exception as exc:  # no schema yet, a dropped connection: poll as DBOS would, reconnect
            _log.debug("queue gate check failed: %s", exc)
            self._close()
            waiting = set(self._queues)
        self.checks += 1
        self._set(waiting)
        return waiting

    def _set(self, open_queues: set[str]) -> None:
        for name, queue in self._queues.items():
            queue._worker_concurrency = self._limits[name] if name in open_queues else 0

    def _waiting(self) -> set[str]:
        names = sorted(self._queues)
        query = (
            "SELECT DISTINCT queue_name FROM {table} WHERE status = 'ENQUEUED' AND queue_name IN ({names}) "
            "AND (application_version = {p} OR application_version IS NULL)"
        )
        if is_postgres(self.database_url):
            import psycopg

            if self._connection is None:
                self._connection = psycopg.connect(self.database_url, autocommit=True)
            sql = query.format(table="dbos.workflow_status", names=", ".join(["%s"] * len(names)), p="%s")
        else:
            if self._connection is None:
                database = sqlite_path(self.database_url)
                if database is None or not database.exists():
                    raise FileNotFoundError(str(database))
                self._connection = sqlite3.connect(
                    f"file:{database}?mode=ro", uri=True, timeout=1.0, check_same_thread=False
                )
            sql = query.format(table="workflow_status", names=", ".join(["?"] * len(names)), p="?")
        rows = self._connection.execute(sql, (*names, self.application_version)).fetchall()
        return {str(row[0]) for row in rows}

    def _close(self) -> None:
        with contextlib.suppress(Exception):
            if self._connection is not None:
                self._connection.close()
        self._connection = None

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            self.check_once()
