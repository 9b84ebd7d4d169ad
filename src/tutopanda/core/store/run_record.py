"""Run records: ``runs/rev-NNNN-run.json``, what one build did and what it cost.

The plan says what *should* run; the run record says what *did*: per job its status, attempts, duration,
provider/model and cost, and the run's totals. ``build status`` and (later) the viewer read them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from tutopanda.core.errors import CorruptDataError
from tutopanda.core.store.atomic_file import write_atomic
from tutopanda.core.store.json_file import compact_json_bytes
from tutopanda.core.store.movie_paths import MoviePaths, ensure_initialised
from tutopanda.core.store.revisions import is_revision, revision_key
from tutopanda.core.store.storage import StorageContext

JobStatus = Literal["succeeded", "failed", "cached", "blocked", "not-run"]


@dataclass
class JobOutcome:
    """What happened to one planned job (the run record's per-job line)."""

    job_id: str
    producer: str
    kind: str
    layer: int
    provider: str
    model: str
    status: JobStatus = "not-run"
    attempts: int = 0
    duration: float = 0.0
    cost: float | None = None
    error: str | None = None
    artefacts: list[str] = field(default_factory=list)
    started: float | None = None
    """Seconds from the start of the run to the job's first call (None when it made no call)."""
    ended: float | None = None
    """Seconds from the start of the run to the end of its last call."""
    provisional: bool = False
    """Its outputs were written by a stand-in (diagnostic ``provisional``): kept, but planned again next
    build (see :mod:`tutopanda.core.engine.planner`), so the closing output can say so."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "jobId": self.job_id,
            "producer": self.producer,
            "kind": self.kind,
            "layer": self.layer,
            "provider": self.provider,
            "model": self.model,
            "status": self.status,
            "attempts": self.attempts,
            "durationSeconds": round(self.duration, 6),  # time in provider calls, retries included
            "cost": self.cost,
            "error": self.error,
            "artefacts": self.artefacts,
            "startSeconds": None if self.started is None else round(self.started, 6),
            "endSeconds": None if self.ended is None else round(self.ended, 6),
        }


__all__ = [
    "RUN_SUFFIX",
    "list_run_records",
    "load_run_record",
    "run_record",
    "run_revisions",
    "save_run_record",
]

RUN_SUFFIX = "-run.json"


def run_record(
    *,
    revision: str,
    committed_revision: str | None,
    status: str,
    mode: str,
    concurrency: int,
    started_at: str,
    finished_at: str,
    duration: float,
    outcomes: Iterable[JobOutcome],
) -> dict[str, Any]:
    """The JSON document of one run."""
    jobs = [outcome.to_dict() for outcome in outcomes]
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job["status"]] = counts.get(job["status"], 0) + 1
    costs = [job["cost"] for job in jobs if job["cost"] is not None]
    return {
        "revision": revision,
        "committedRevision": committed_revision,
        "status": status,
        "mode": mode,
        "concurrency": concurrency,
        "startedAt": started_at,
        "finishedAt": finished_at,
        "durationSeconds": round(duration, 6),
        "totals": {
            "jobs": len(jobs),
            "calls": sum(job["attempts"] for job in jobs),
            "cost": round(sum(costs), 6) if costs else 0.0,
            **{
                status_name: counts.get(status_name, 0)
                for status_name in ("succeeded", "failed", "cached", "blocked", "not-run")
            },
        },
        "jobs": jobs,
    }


def _path(ctx: StorageContext, movie_id: str, revision: str, paths: MoviePaths | None = None) -> str:
    return ctx.join((paths or ensure_initialised(ctx, movie_id)).runs_dir, f"{revision}{RUN_SUFFIX}")


def save_run_record(
    ctx: StorageContext, movie_id: str, record: dict[str, Any], *, paths: MoviePaths | None = None
) -> str:
    """Write the run record of ``record["revision"]`` atomically; return its path (``paths``: the
    movie's, already checked by an opened :class:`~tutopanda.core.store.movie_store.MovieStore`)."""
    path = _path(ctx, movie_id, str(record["revision"]), paths)
    write_atomic(ctx, path, compact_json_bytes(record))
    return path


def load_run_record(ctx: StorageContext, movie_id: str, revision: str) -> dict[str, Any] | None:
    """The run record of ``revision``, or None if that revision never ran."""
    path = _path(ctx, movie_id, revision)
    try:
        data = json.loads(ctx.read_bytes(path))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise CorruptDataError(
            f"{path} is not valid JSON: {exc}", "delete it (it only records a past run)"
        ) from exc
    if not isinstance(data, dict):
        raise CorruptDataError(f"{path} does not hold a run record", "delete it (it only records a past run)")
    return data


def run_revisions(ctx: StorageContext, movie_id: str, *, paths: MoviePaths | None = None) -> list[str]:
    """Revisions that have a run record, oldest first (from file names: nothing is parsed)."""
    runs_dir = (paths or ensure_initialised(ctx, movie_id)).runs_dir
    revisions = [
        name.removesuffix(RUN_SUFFIX)
        for name in ctx.list_names(runs_dir)
        if name.endswith(RUN_SUFFIX) and is_revision(name.removesuffix(RUN_SUFFIX))
    ]
    return sorted(revisions, key=revision_key)


def list_run_records(ctx: StorageContext, movie_id: str) -> list[dict[str, Any]]:
    """Every run record of the movie, oldest first."""
    records = [load_run_record(ctx, movie_id, revision) for revision in run_revisions(ctx, movie_id)]
    return [record for record in records if record is not None]
