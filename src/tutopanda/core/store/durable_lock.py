"""The durable build's hold on a movie: a lock *record* in the store, seen by every machine.

A local build holds the movie's ``build`` lock (:mod:`tutopanda.core.store.locks`) for as long as its
process runs. A durable (DBOS) build outlives any one process: it is submitted by one, planned by a
worker, its jobs run on others, a dead worker's share is resumed by a survivor. No process-held lock
can span that, and a file lock is per machine. So the build holds the movie through a record in the
store, ``<movie>/.locks/durable.json``, naming its workflow:

* the submitter **creates** it, create-only (``If-None-Match: *`` on S3, an exclusive link locally),
  before enqueuing the workflow, and the workflow's plan step claims it again (idempotent: same id);
* the workflow's **last step removes** it — after success or failure alike;
* every command that takes the movie's ``build`` lock (local builds, ``edit``, ``query``, ``gc``,
  ``verify --repair``, ``movies clean``, a ``--no-wait`` submitter of another state) reads it after
  taking its own lock and is refused, naming the workflow and its submitter, while it stands;
* a record whose workflow ended without removing it (cancelled, out of recovery attempts, its
  database deleted) is **stale**: a *probe* installed by the layer that can read the DBOS database
  (:func:`set_probe`; the CLI installs ``tutopanda.workflow.durable_probe``) reports the workflow's
  state and a stale record is removed on sight. Without a probe, or when the database cannot be
  reached, the record counts as held: refusing a command is recoverable, two writers are not.

A worker killed mid-build leaves its workflow ``PENDING``, so the record keeps the movie locked until
the workflow is resumed (by a live peer or a restarted worker) and ends, or is cancelled.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass

from tutopanda.core.errors import LockHeldError
from tutopanda.core.store.movie_paths import LOCKS_DIR
from tutopanda.core.store.storage import StorageContext

__all__ = [
    "RECORD_NAME",
    "DurableHolder",
    "DurableProbe",
    "acting_for",
    "check_durable_hold",
    "claim",
    "read_record",
    "record_path",
    "release",
    "set_probe",
]

RECORD_NAME = "durable.json"
"""The record's file name in the movie's lock folder (beside the local lock files)."""
RECORD_MAX_BYTES = 64 * 1024
"""A record is a few hundred bytes; anything bigger is not ours and is not read."""


@dataclass(frozen=True)
class DurableHolder:
    """Which durable build holds the movie, and who submitted it (for the refusal message)."""

    workflow_id: str
    pid: int
    host: str
    command: str
    since: str
    database: str
    """Where the workflow's state lives, without credentials (the probe's hint, never a secret)."""

    @classmethod
    def here(cls, ctx: StorageContext, workflow_id: str, command: str, database: str) -> DurableHolder:
        return cls(workflow_id, os.getpid(), socket.gethostname(), command, ctx.clock.timestamp(), database)

    def describe(self) -> str:
        return (
            f"durable build {self.workflow_id} (submitted by pid {self.pid} on {self.host}, "
            f"{self.command}, since {self.since})"
        )

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode("utf-8")


DurableProbe = Callable[[StorageContext, str, DurableHolder, float | None], bool | None]
"""``probe(ctx, movie_id, holder, record_age_seconds)``: True while the holder's workflow may still
run (pending or queued), False once it has ended, None when that cannot be known."""

_probe: list[DurableProbe] = []
_acting_for: ContextVar[str | None] = ContextVar("tutopanda_durable_workflow", default=None)


def set_probe(probe: DurableProbe | None) -> None:
    """Install (or remove) the probe that tells a stale record from a live build."""
    _probe.clear()
    if probe is not None:
        _probe.append(probe)


@contextlib.contextmanager
def acting_for(workflow_id: str) -> Iterator[None]:
    """Run the enclosed code as durable build ``workflow_id``: its own record does not refuse it."""
    token = _acting_for.set(workflow_id)
    try:
        yield
    finally:
        _acting_for.reset(token)


def record_path(ctx: StorageContext, movie_id: str) -> str:
    return ctx.join(ctx.movie_dir(movie_id), LOCKS_DIR, RECORD_NAME)


class _Unreadable:
    """A record that exists but cannot be parsed: held, and its path is in the message."""


def read_record(ctx: StorageContext, movie_id: str) -> DurableHolder | _Unreadable | None:
    """The record (None when there is none)."""
    path = record_path(ctx, movie_id)
    try:
        if ctx.size(path) > RECORD_MAX_BYTES:
            return _Unreadable()
        data = json.loads(ctx.read_bytes(path))
        return DurableHolder(
            str(data["workflow_id"]),
            int(data["pid"]),
            str(data["host"]),
            str(data["command"]),
            str(data["since"]),
            str(data["database"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None if not ctx.exists(path) else _Unreadable()
    except Exception:  # a storage error (a special file, a refused read): held, reported below
        return _Unreadable()


def _is_active(ctx: StorageContext, movie_id: str, holder: DurableHolder) -> bool | None:
    if not _probe:
        return None
    try:
        age = ctx.modified_age(record_path(ctx, movie_id))
    except Exception:
        age = None
    try:
        return _probe[0](ctx, movie_id, holder, age)
    except Exception:
        return None


def _remove_if_still(ctx: StorageContext, movie_id: str, workflow_id: str) -> None:
    """Remove the record if it still names ``workflow_id`` (another build may have replaced it)."""
    current = read_record(ctx, movie_id)
    if isinstance(current, DurableHolder) and current.workflow_id == workflow_id:
        ctx.remove(record_path(ctx, movie_id))


def check_durable_hold(ctx: StorageContext, movie_id: str, lock_name: str) -> None:
    """Refuse (:class:`LockHeldError`) while a durable build other than the one we act for holds the
    movie; remove a record the probe proves stale. Called by the ``build`` lock once it is taken."""
    holder = read_record(ctx, movie_id)
    if holder is None:
        return
    if isinstance(holder, _Unreadable):
        raise LockHeldError(
            f"movie '{movie_id}' is locked ({lock_name}) by a durable build whose record cannot be read",
            f"if no durable build of this movie is running (tutopanda build status --movie {movie_id}), "
            f"delete {record_path(ctx, movie_id)}",
        )
    if holder.workflow_id == _acting_for.get():
        return
    active = _is_active(ctx, movie_id, holder)
    if active is False:
        _remove_if_still(ctx, movie_id, holder.workflow_id)
        return
    unknown = " (its database could not be checked)" if active is None else ""
    raise LockHeldError(
        f"movie '{movie_id}' is locked ({lock_name}) by {holder.describe()}{unknown}",
        f"wait for that build to finish (tutopanda build status --movie {movie_id}); the lock is freed "
        "when its workflow ends, succeeds, fails or is cancelled",
    )


def claim(ctx: StorageContext, movie_id: str, holder: DurableHolder) -> None:
    """Make ``holder`` the movie's durable holder (create-only), or confirm it already is.

    Raises :class:`LockHeldError` when another durable build holds it and may still run. A stale
    record (the probe says its workflow ended) is replaced.
    """
    from tutopanda.core.store.conditional_write import put_if_absent

    path = record_path(ctx, movie_id)
    ctx.makedirs(path.rsplit("/", 1)[0])
    for _ in range(5):
        if put_if_absent(ctx, path, holder.to_bytes()):
            return
        with acting_for(holder.workflow_id):
            check_durable_hold(ctx, movie_id, "build")  # ours: fine; stale: removed; live: refused
        current = read_record(ctx, movie_id)
        if isinstance(current, DurableHolder) and current.workflow_id == holder.workflow_id:
            return
    raise LockHeldError(
        f"movie '{movie_id}': could not record durable build {holder.workflow_id} (others kept racing)",
        "run the command again",
    )


def release(ctx: StorageContext, movie_id: str, workflow_id: str) -> None:
    """Drop ``workflow_id``'s hold on the movie (no-op if the record names another build or none)."""
    _remove_if_still(ctx, movie_id, workflow_id)
