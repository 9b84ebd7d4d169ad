"""Peer recovery: a worker that dies is noticed by the live ones, which resume its builds.

DBOS 3.4 resumes a process's unfinished workflows only when a process with the *same* executor id
starts again, and has no liveness detection of its own. A fleet cannot wait for a dead machine to come
back, so each process proves it is alive by holding a lock keyed on its executor id for as long as it
runs, of a kind the system releases the moment the process dies:

* **PostgreSQL** (many machines): a session advisory lock on a dedicated connection; the server drops
  it when the connection goes (``kill -9``, a crash, a lost machine once TCP keep-alives notice).
* **SQLite** (one machine): an ``flock`` on ``<database>.executors/<id>.lock``; the kernel drops it when
  the process exits, however it exits.

Holding the lock also refuses a second live process with the same id (it would resume, and so re-run,
the first one's in-flight work).

Every live process watches: it lists the executors that still own ``PENDING`` workflows of this
application version and tries each one's lock. Getting it in two rounds a second apart proves that
executor is dead (a blip of its connection does not), so it re-enqueues that executor's pending
workflows (``DBOS._recover_pending_workflows``, which only touches rows still pending for that id, so two
survivors racing do no harm), then releases the lock. Finished steps stay finished; the interrupted ones
run again, and batch steps find their outputs already stored (``dbos_executor``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import filelock

from tutopanda.core.errors import UsageError

__all__ = [
    "LIVENESS_GRACE_SECONDS",
    "LIVENESS_INTERVAL_SECONDS",
    "Liveness",
    "executor_lock_key",
    "is_postgres",
    "sqlite_path",
]

LIVENESS_INTERVAL_SECONDS = 0.5
"""How often a process looks for dead peers (one small query per interval)."""
LIVENESS_GRACE_SECONDS = 1.0
"""How long a peer's lock must stay free before it counts as dead (rides out a reconnect)."""

_log = logging.getLogger(__name__)


def is_postgres(database_url: str) -> bool:
    """Whether a DBOS system database URL names PostgreSQL (where peers on many machines meet)."""
    return database_url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://"))


def sqlite_path(database_url: str) -> Path | None:
    """The file of a ``sqlite:///path`` URL (None for anything else)."""
    if not database_url.startswith("sqlite:///"):
        return None
    return Path(database_url.removeprefix("sqlite:///").split("?", 1)[0])


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
        application_version: str,
        interval: float = LIVENESS_INTERVAL_SECONDS,
        grace: float = LIVENESS_GRACE_SECONDS,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.database_url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.executor_id = executor_id
        self.application_version = application_version
        self._recover = recover
        self._interval = interval
        self._grace = grace
        self._notify = notify
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: Any = None  # PostgreSQL: the session that holds our advisory lock
        self._own_file: filelock.BaseFileLock | None = None  # SQLite: our lock file
        self._suspects: dict[str, float] = {}  # executor id -> when its lock was first found free
        self.lost_own_lock = False
        self.recovered: list[str] = []

    # -- our own lock ------------------------------------------------------------------------------

    def acquire(self) -> None:
        """Take this executor's lock (before DBOS launches: it then resumes only what is ours)."""
        if not self._take_own():
            self.stop()
            raise UsageError(
                f"another process runs with executor id '{self.executor_id}' on this database",
                "give each worker its own --id (or stop the other one first)",
            )

    def _take_own(self) -> bool:
        if is_postgres(self.database_url):
            import psycopg

            with contextlib.suppress(Exception):
                if self._connection is not None:
                    self._connection.close()
            self._connection = psycopg.connect(self.database_url, autocommit=True)
            row = self._connection.execute(
                "SELECT pg_try_advisory_lock(%s)", (executor_lock_key(self.executor_id),)
            ).fetchone()
            return bool(row and row[0])
        lock = filelock.FileLock(self._lock_file(self.executor_id))
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        self._own_file = lock
        return True

    def _still_alive(self) -> bool:
        """Whether we still hold our own lock; after a dropped connection, take it again."""
        if not is_postgres(self.database_url):
            return True  # a file lock lives as long as this process
        try:
            self._connection.execute("SELECT 1")
            return True
        except Exception:
            pass
        try:
            retaken = self._take_own()
        except Exception as exc:
            _log.debug("liveness reconnect failed: %s", exc)
            retaken = False
        if not retaken and not self.lost_own_lock and self._notify is not None:
            self._notify(
                f"worker {self.executor_id} lost its liveness lock (database connection); "
                "peers may resume its workflows: finished work is kept, in-flight jobs may run twice"
            )
        self.lost_own_lock = not retaken
        return retaken

    def _lock_file(self, executor_id: str) -> str:
        database = sqlite_path(self.database_url) or Path("dbos.sqlite")
        folder = database.parent / f"{database.name}.executors"
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(executor_id.encode()).hexdigest()[:32]
        return str(folder / f"{digest}.lock")

    # -- watching peers ----------------------------------------------------------------------------

    def start(self) -> None:
        """Watch for dead peers in a daemon thread (after DBOS launched)."""
        self._thread = threading.Thread(target=self._watch, name="tutopanda-liveness", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            if self._connection is not None:
                self._connection.close()
        with contextlib.suppress(Exception):
            if self._own_file is not None:
                self._own_file.release()

    def _pending_executors(self) -> list[str]:
        query = (
            "SELECT DISTINCT executor_id FROM {table} WHERE status = 'PENDING' "
            "AND executor_id <> {p} AND application_version = {p}"
        )
        if is_postgres(self.database_url):
            sql = query.format(table="dbos.workflow_status", p="%s")
            rows = self._connection.execute(sql, (self.executor_id, self.application_version)).fetchall()
        else:
            database = sqlite_path(self.database_url)
            if database is None or not database.exists():
                return []
            uri = f"file:{database}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=1.0)) as connection:
                sql = query.format(table="workflow_status", p="?")
                rows = connection.execute(sql, (self.executor_id, self.application_version)).fetchall()
        return sorted(str(row[0]) for row in rows)

    @contextlib.contextmanager
    def _peer_lock(self, executor_id: str) -> Any:
        """Yield True when ``executor_id``'s lock could be taken (it is dead), holding it meanwhile."""
        if is_postgres(self.database_url):
            key = executor_lock_key(executor_id)
            row = self._connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            got = bool(row and row[0])
            try:
                yield got
            finally:
                if got:
                    self._connection.execute("SELECT pg_advisory_unlock(%s)", (key,))
            return
        lock = filelock.FileLock(self._lock_file(executor_id))
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            yield False
            return
        try:
            yield True
        finally:
            lock.release()

    def check_once(self, now: float | None = None) -> list[str]:
        """Recover the workflows of every executor found dead now; the executor ids recovered."""
        now = time.monotonic() if now is None else now
        found: list[str] = []
        try:
            if not self._still_alive():
                return found  # without our own lock we could be the one others think dead
            pending = self._pending_executors()
        except Exception as exc:  # the schema may not exist yet, or the server blinked: next round
            _log.debug("liveness query failed: %s", exc)
            return found
        for gone in set(self._suspects) - set(pending):
            del self._suspects[gone]
        for executor in pending:
            try:
                with self._peer_lock(executor) as free:
                    if not free:
                        self._suspects.pop(executor, None)  # alive: it holds its lock
                        continue
                    first_free = self._suspects.setdefault(executor, now)
                    if now - first_free < self._grace:
                        continue  # free once: maybe reconnecting; dead if still free next time
                    handles = self._recover([executor])
                    self._suspects.pop(executor, None)
                    found.append(executor)
                    count = len(handles) if isinstance(handles, list) else 0
                    if count and self._notify is not None:
                        self._notify(f"worker {executor} is gone: resumed its {count} unfinished workflow(s)")
            except Exception as exc:
                _log.warning("could not check or recover the workflows of %s: %s", executor, exc)
        self.recovered.extend(found)
        return found

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            self.check_once()
