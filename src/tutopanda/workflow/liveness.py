"""Peer recovery on PostgreSQL: a worker that dies is noticed by the live ones, which resume its builds.

DBOS 3.4 resumes a process's unfinished workflows only when a process with the *same* executor id
starts again, and has no liveness detection of its own. A fleet cannot wait for a dead machine to come
back, so each process proves it is alive the way PostgreSQL already knows best: it holds a session
advisory lock keyed on its executor id for as long as it runs. The server releases the lock the moment
the process's connection drops (``kill -9``, a crash, a lost machine once TCP keep-alives notice).

Every live process watches: it lists the executors that still own ``PENDING`` workflows and tries each
one's lock. Getting it proves that executor is dead, so it re-enqueues that executor's pending
workflows (``DBOS._recover_pending_workflows``, which only touches rows still pending for that id, so two
survivors racing do no harm), then releases the lock again. Steps that had finished stay finished; the
interrupted ones run again, and job steps find their outputs already stored (``dbos_executor``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from tutopanda.core.errors import UsageError

__all__ = ["LIVENESS_INTERVAL_SECONDS", "Liveness", "executor_lock_key", "is_postgres"]

LIVENESS_INTERVAL_SECONDS = 0.5
"""How often a process looks for dead peers (one small query per interval)."""

_PENDING_EXECUTORS = (
    "SELECT DISTINCT executor_id FROM dbos.workflow_status WHERE status = 'PENDING' AND executor_id <> %s"
)

_log = logging.getLogger(__name__)


def is_postgres(database_url: str) -> bool:
    """Whether a DBOS system database URL names PostgreSQL (where peers can see each other)."""
    return database_url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://"))


def executor_lock_key(executor_id: str) -> int:
    """The advisory-lock key of an executor id: a signed 64-bit hash in our own namespace."""
    digest = hashlib.blake2b(f"tutopanda-executor:{executor_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Liveness:
    """Holds this process's liveness lock and recovers the workflows of peers found dead."""

    def __init__(
        self,
        database_url: str,
        executor_id: str,
        recover: Callable[[list[str]], Any],
        *,
        interval: float = LIVENESS_INTERVAL_SECONDS,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.database_url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.executor_id = executor_id
        self._recover = recover
        self._interval = interval
        self._notify = notify
        self._stop = threading.Event()
        self._connection: Any = None
        self._thread: threading.Thread | None = None
        self.recovered: list[str] = []

    def acquire(self) -> None:
        """Take this executor's lock (before DBOS launches: it then resumes only what is ours)."""
        import psycopg

        self._connection = psycopg.connect(self.database_url, autocommit=True)
        row = self._connection.execute(
            "SELECT pg_try_advisory_lock(%s)", (executor_lock_key(self.executor_id),)
        ).fetchone()
        if not row or not row[0]:
            self._connection.close()
            raise UsageError(
                f"another process runs with executor id '{self.executor_id}' on this database",
                "give each worker its own --id (or stop the other one first)",
            )

    def start(self) -> None:
        """Watch for dead peers in a daemon thread (after DBOS launched)."""
        self._thread = threading.Thread(target=self._watch, name="tutopanda-liveness", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()

    def check_once(self) -> list[str]:
        """Recover the workflows of every dead executor found now; the executor ids recovered."""
        found: list[str] = []
        try:
            rows = self._connection.execute(_PENDING_EXECUTORS, (self.executor_id,)).fetchall()
        except Exception as exc:  # the schema may not exist yet, or the server blinked: next round
            _log.debug("liveness query failed: %s", exc)
            return found
        for (executor,) in rows:
            key = executor_lock_key(executor)
            got = self._connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if not got or not got[0]:
                continue  # alive: it holds its lock
            try:
                handles = self._recover([executor])
                found.append(executor)
                if self._notify is not None:
                    count = len(handles) if isinstance(handles, list) else 0
                    self._notify(f"worker {executor} is gone: resumed its {count} unfinished workflow(s)")
            except Exception as exc:
                _log.warning("could not recover the workflows of %s: %s", executor, exc)
            finally:
                self._connection.execute("SELECT pg_advisory_unlock(%s)", (key,))
        self.recovered.extend(found)
        return found

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            self.check_once()
