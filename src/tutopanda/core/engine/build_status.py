"""A movie's build status, from its current manifest and its run records.

What ``tutopanda build status`` shows: the current revision, the jobs that failed in the last run, the
current artefacts counted by kind, and the totals over every run: cost paid and time spent, overall and
per producer.
"""

from __future__ import annotations

from typing import Any

from tutopanda.core.store.manifest_store import ManifestStore
from tutopanda.core.store.run_record import list_run_records
from tutopanda.core.store.storage import StorageContext

__all__ = ["artefact_kind", "movie_status"]


def artefact_kind(mime_type: str) -> str:
    """The artefact kind (text, json, image, audio, video, other) of a MIME type."""
    if mime_type == "application/json":
        return "json"
    major = mime_type.partition("/")[0]
    return major if major in ("text", "image", "audio", "video") else "other"


def movie_status(ctx: StorageContext, movie_id: str) -> dict[str, Any]:
    """The status document of ``movie_id`` (JSON-ready)."""
    manifest = ManifestStore(ctx, movie_id).load_current()
    runs = list_run_records(ctx, movie_id)
    by_kind: dict[str, int] = {}
    for entry in manifest.artefacts.values():
        kind = artefact_kind(entry.blob.mime_type)
        by_kind[kind] = by_kind.get(kind, 0) + 1
    producers: dict[str, dict[str, float]] = {}
    for run in runs:
        for job in run.get("jobs", []):
            if job.get("attempts", 0) == 0:
                continue
            item = producers.setdefault(job["producer"], {"jobs": 0, "durationSeconds": 0.0, "cost": 0.0})
            item["jobs"] += 1
            item["durationSeconds"] = round(
                item["durationSeconds"] + float(job.get("durationSeconds") or 0), 6
            )
            item["cost"] = round(item["cost"] + float(job.get("cost") or 0), 6)
    last = runs[-1] if runs else None
    failed = (
        [
            {"jobId": job["jobId"], "status": job["status"], "error": job.get("error")}
            for job in last.get("jobs", [])
            if job.get("status") in ("failed", "blocked")
        ]
        if last
        else []
    )
    return {
        "movie": movie_id,
        "revision": None if manifest.is_empty_revision else manifest.revision,
        "lastRun": {"revision": last["revision"], "status": last["status"]} if last else None,
        "runs": len(runs),
        "failedJobs": failed,
        "artefacts": len(manifest.artefacts),
        "artefactsByKind": dict(sorted(by_kind.items())),
        "totalCost": round(sum(float(run.get("totals", {}).get("cost") or 0) for run in runs), 6),
        "totalDurationSeconds": round(sum(float(run.get("durationSeconds") or 0) for run in runs), 6),
        "producers": dict(sorted(producers.items())),
    }
