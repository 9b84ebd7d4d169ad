"""Whether the durable build named by a movie's lock record may still run: asked of the DBOS database.

``core.store.durable_lock`` keeps a record while a durable build holds a movie and counts it as held unless
a probe proves the workflow ended. This is that probe. It is cheap and import-light (no DBOS import on
the path of an ordinary local command): SQLite is read directly, read-only; PostgreSQL with one
query. A workflow ``PENDING`` (running, or its worker died and it awaits recovery) or ``ENQUEUED``
holds the movie; any other status has ended. A workflow the database does not know yet may be one
whose submitter is between writing the record and enqueuing it, so it is held for a grace period;
after that the record is stale.

The database is found the way the CLI finds it: the record names it (a SQLite path, or a PostgreSQL
URL without credentials); the URL with credentials comes from ``TUTOPANDA_DBOS_DATABASE_URL`` or the
settings and is used only when it names the same server and database.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from typing import Any

from tutopanda.core.store.durable_lock import DurableHolder
from tutopanda.core.store.storage import StorageContext

__all__ = ["ACTIVE_STATUSES", "UNKNOWN_WORKFLOW_GRACE_SECONDS", "database_label", "probe"]

ACTIVE_STATUSES = frozenset({"PENDING", "ENQUEUED"})
UNKNOWN_WORKFLOW_GRACE_SECONDS = 120.0
"""How long a record naming a workflow the database does not know still holds the movie (a submitter
writes the record just before it enqueues; one that died in between leaves a record nobody runs)."""
DATABASE_URL_ENV = "TUTOPANDA_DBOS_DATABASE_URL"
_GONE = "(no database)"


def database_label(database_url: str) -> str:
    """``database_url`` as the record stores it: no user name or password."""
    scheme, _, rest = database_url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}" if "@" in rest else database_url


def _configured_url(ctx: StorageContext, label: str) -> str | None:
    """A URL with credentials for the database ``label`` names, from the environment or settings."""
    candidates = [os.environ.get(DATABASE_URL_ENV, "")]
    with contextlib.suppress(Exception):
        from tutopanda.settings import load_settings

        candidates.append(load_settings(ctx.url).dbos.database_url or "")
    for url in candidates:
        if url and database_label(url) == label:
            return url
    return None


def _status(ctx: StorageContext, holder: DurableHolder) -> tuple[bool, str | None]:
    """(could ask, the workflow's status or None when unknown to the database)."""
    from tutopanda.workflow.liveness import is_postgres, sqlite_path

    label = holder.database
    if is_postgres(label):
        url = _configured_url(ctx, label)
        if url is None:
            return False, None
        import psycopg

        plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(plain, connect_timeout=5) as c:
            row: Any = c.execute(
                "SELECT status FROM dbos.workflow_status WHERE workflow_uuid = %s", (holder.workflow_id,)
            ).fetchone()
        return True, (str(row[0]) if row else None)
    path = sqlite_path(label)
    if path is None:
        return False, None
    if not path.exists():
        return True, _GONE  # the database is gone: nothing can run the workflow
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)) as c:
        try:
            row = c.execute(
                "SELECT status FROM workflow_status WHERE workflow_uuid = ?", (holder.workflow_id,)
            ).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return True, None
            raise
    return True, (str(row[0]) if row else None)


def probe(ctx: StorageContext, movie_id: str, holder: DurableHolder, age: float | None) -> bool | None:
    """True while ``holder``'s workflow may still run, False once it ended, None if unknowable."""
    asked, status = _status(ctx, holder)
    if not asked:
        return None
    if status is None:
        return age is None or age < UNKNOWN_WORKFLOW_GRACE_SECONDS
    return status in ACTIVE_STATUSES
