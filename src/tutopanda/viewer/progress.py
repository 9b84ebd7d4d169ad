"""Live build progress for the viewer, one source for local and durable (DBOS) builds alike.

Both executors leave the same traces in the store, so the viewer reads those and never asks the
executor:

- **who builds**: a local build holds the movie's ``build`` lock (its holder file names the command);
  a durable build stands in ``.locks/durable.json`` for its whole life, while its processes take the
  lock only for moments (so a lock probe alone shows nothing during a DBOS build);
- **what it builds**: the plan of the *pending* revision (``runs/rev-NNNN-plan.json``, NNNN one past
  the movie's newest revision), written by both executors before their first job. A plan older than
  the build (left by an earlier attempt of the same revision) is not taken for it; until the new one
  is written the build is "planning";
- **how far it got**: the artefact events of the pending revision, appended by whichever process ran
  each job. A job is finished when every output it produces has an event (succeeded or failed).
  Jobs the plan found fresh are done from the start and counted as such, so the bar says "12 of 17"
  rather than "1 of 6" after a small edit.

Nothing here writes: the lock is only probed (taken and released at once) when its holder file says
a build may hold it.
"""

from __future__ import annotations

import json
from typing import Any

from tutopanda.core.errors import LockHeldError, StorageError, UsageError
from tutopanda.core.store import durable_lock
from tutopanda.core.store.event_log import artefact_log
from tutopanda.core.store.locks import LOCKS_DIR, movie_lock
from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.plan_store import PlanStore
from tutopanda.core.store.regular_file import read_regular
from tutopanda.core.store.storage import StorageContext

__all__ = ["build_progress"]

_HOLDER_LIMIT = 4096
"""A lock holder file is one short JSON line; a bigger one is not ours and is not read."""


def _local_holder(ctx: StorageContext, movie_id: str) -> dict[str, Any] | None:
    """The local build holding the movie's lock (``{command, since}``), None when none does.

    Read-only first: only when the holder file exists is the lock itself probed (taken and released at
    once), so an idle movie is never locked by the viewer, and a holder file left by a crashed build
    does not read as "building".
    """
    path = ctx.join(ctx.movie_dir(movie_id), LOCKS_DIR, "build.holder.json")
    if not ctx.exists(path):
        return None
    try:
        with movie_lock(ctx, movie_id, "build", timeout=0.0, command="tutopanda viewer (probe)"):
            return None
    except LockHeldError:
        pass
    found: dict[str, Any] = {}
    try:
        raw = read_regular(path, _HOLDER_LIMIT) if ctx.is_local else ctx.read_bytes(path)[:_HOLDER_LIMIT]
        data = json.loads(raw)
        if isinstance(data, dict):
            found = {key: str(data[key]) for key in ("command", "since") if key in data}
    except (OSError, StorageError, ValueError):
        pass  # informational only: the build is running whatever its holder file says
    return found


def _durable_holder(ctx: StorageContext, movie_id: str) -> dict[str, Any] | None:
    """The durable build whose record stands in the movie's lock folder, None when there is none."""
    try:
        holder = durable_lock.read_record(ctx, movie_id)
    except (OSError, StorageError):
        return None
    if holder is None:
        return None
    if not isinstance(holder, durable_lock.DurableHolder):
        return {"workflow": None}  # a record that cannot be read still holds the movie
    return {"command": holder.command, "since": holder.since, "workflow": holder.workflow_id}


def _pending_plan(
    ctx: StorageContext, movie_id: str, revision: str, since: str | None
) -> dict[str, Any] | None:
    """The plan of ``revision`` when it was written for this build (not before ``since``)."""
    try:
        plan = PlanStore(ctx, movie_id).load(revision)
    except (StorageError, UsageError, OSError):
        return None
    created = plan.get("createdAt")
    if since and isinstance(created, str) and created < since:
        return None  # an earlier attempt's plan for the same revision: this build has not planned yet
    return plan


def build_progress(ctx: StorageContext, movie_id: str) -> dict[str, Any] | None:
    """While a build of ``movie_id`` runs (local or durable): its pending revision and job counts.

    ``jobs`` is every job of the movie's graph and ``finished`` those done: fresh at planning time
    (``fresh``), or run since (``succeeded``, ``failed``). ``planned`` is False until the build wrote
    its plan. None when no build runs.
    """
    durable = _durable_holder(ctx, movie_id)
    local = None if durable is not None else _local_holder(ctx, movie_id)
    holder = durable if durable is not None else local
    if holder is None:
        return None
    try:
        revision = ManifestStore(ctx, movie_id).next_revision()
    except (StorageError, UsageError, OSError):
        revision = None
    progress: dict[str, Any] = {
        "building": True,
        "executor": "durable" if durable is not None else "local",
        "command": holder.get("command"),
        "since": holder.get("since"),
        "workflow": holder.get("workflow"),
        "revision": revision,
        "planned": False,
        "jobs": 0,
        "finished": 0,
    }
    plan = _pending_plan(ctx, movie_id, revision, holder.get("since")) if revision else None
    if plan is None:
        return progress
    jobs = [job for layer in plan.get("layers", []) for job in layer.get("jobs", [])]
    summary = plan.get("summary", {})
    total = summary.get("totalJobs")
    total = total if isinstance(total, int) and total >= len(jobs) else len(jobs)
    status: dict[str, str] = {}
    cost = 0.0
    for event in artefact_log(ctx, movie_id):
        if event.revision != revision:
            continue
        status[event.artefact_id] = event.status
        spent = event.diagnostics.get("cost")
        if event.status == "succeeded" and isinstance(spent, int | float) and not isinstance(spent, bool):
            cost += float(spent)
    succeeded = failed = 0
    running: list[str] = []
    for job in jobs:
        outputs = [status.get(artefact) for artefact in job.get("produces", [])]
        if outputs and all(outputs):
            if "failed" in outputs:
                failed += 1
            else:
                succeeded += 1
        else:
            running.append(str(job.get("jobId", "")))
    fresh = total - len(jobs)
    progress.update(
        planned=True,
        jobs=total,
        dirty=len(jobs),
        fresh=fresh,
        succeeded=succeeded,
        failed=failed,
        finished=fresh + succeeded + failed,
        cost=round(cost, 6),
        estimatedCost=summary.get("estimatedCost"),
        next=running[0] if running else None,
    )
    return progress
