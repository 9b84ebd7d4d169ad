"""What ``tutopanda build status`` shows of a movie's durable builds: read from the DBOS database.

A DBOS build is a workflow ``build-<movie>-<state>`` whose jobs are child workflows; their statuses and
results in the system database are the progress (no extra bookkeeping to keep in step). Read through
``DBOSClient``, so asking does not start DBOS or take any work.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

__all__ = ["durable_builds"]

_JOB_STATES = ("succeeded", "cached", "failed", "blocked", "running", "queued")


def _planned_jobs(client: Any, workflow_id: str) -> int | None:
    """How many jobs the build's plan step planned (None until it has run)."""
    for step in client.list_workflow_steps(workflow_id):
        if step.get("function_name", "").endswith("plan_step") and isinstance(step.get("output"), dict):
            return sum(len(layer) for layer in step["output"].get("layers", []))
    return None


def _batch_size(workflow_input: Any) -> int:
    """How many jobs a batch workflow was given (its third argument), 1 if unknown."""
    args = workflow_input.get("args") if isinstance(workflow_input, dict) else None
    if isinstance(args, list | tuple) and len(args) > 2 and isinstance(args[2], list):
        return len(args[2])
    return 1


def _batch_records(output: Any) -> list[Any] | None:
    """A finished batch's job records: ``{"executor", "jobs"}`` (older builds: the bare list)."""
    if isinstance(output, dict):
        output = output.get("jobs")
    return output if isinstance(output, list) else None


def durable_builds(database_url: str, movie_id: str, *, limit: int = 3) -> list[dict[str, Any]]:
    """The newest ``limit`` durable builds of ``movie_id``: status, executor and job counts."""
    from tutopanda.workflow.fleet_extra import fleet_extra_missing
    from tutopanda.workflow.liveness import sqlite_path

    try:
        from dbos import DBOSClient
    except ModuleNotFoundError as missing:
        raise fleet_extra_missing(missing.name or "dbos") from missing

    for name in ("dbos", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    database = sqlite_path(database_url)
    if database is not None:
        if not database.exists():
            return []  # never built durably with this database (and asking must not create it)
        import sqlalchemy

        # read only, and never wait long behind a writer: a status report is not worth blocking for
        engine = sqlalchemy.create_engine(
            f"sqlite:///file:{database}?mode=ro&uri=true", connect_args={"timeout": 2.0}
        )
        client = DBOSClient(system_database_engine=engine)
    else:
        client = DBOSClient(system_database_url=database_url)
    try:
        builds = client.list_workflows(
            workflow_id_prefix=f"build-{movie_id}-",
            has_parent=False,
            sort_desc=True,
            limit=limit,
            load_input=False,
        )
        found: list[dict[str, Any]] = []
        for build in builds:
            counts = dict.fromkeys(_JOB_STATES, 0)
            children = client.list_workflows(parent_workflow_id=build.workflow_id)
            for child in children:  # each child is a batch of jobs (dbos_executor.batch_workflow)
                records = _batch_records(child.output) if child.status == "SUCCESS" else None
                if records is not None:
                    for record in records:
                        state = str(record.get("status", "succeeded")) if isinstance(record, dict) else ""
                        counts[state if state in counts else "succeeded"] += 1
                    continue
                size = _batch_size(child.input)
                if child.status == "PENDING":
                    counts["running"] += size
                elif child.status == "ENQUEUED":
                    counts["queued"] += size
                else:
                    counts["failed"] += size
            result = build.output if isinstance(build.output, dict) else {}
            found.append(
                {
                    "workflowId": build.workflow_id,
                    "status": build.status,
                    "executor": build.executor_id,
                    "plannedJobs": _planned_jobs(client, build.workflow_id),
                    "jobs": counts,
                    "revision": result.get("revision"),
                }
            )
        return found
    finally:
        with contextlib.suppress(Exception):
            client.destroy()
