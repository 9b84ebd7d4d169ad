"""Bring your own narration: the user's script replaces the script job's outputs by hand.

A script written by the user (``tutopanda query --script FILE``) is recorded exactly like any manual
edit: one artefact event per output of the movie's script job (title, summary, one narration per
segment) with ``inputsHash = manual``. The planner then treats the script job as done and builds
everything downstream from the user's words — no special path through the engine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from tutopanda.core.blueprint import Job, JobGraph
from tutopanda.core.errors import UsageError
from tutopanda.core.movie.event_import import append_artefact_records
from tutopanda.core.store.events import ArtefactEvent
from tutopanda.core.store.storage import StorageContext

__all__ = ["replace_script", "script_job"]

_INDEX = re.compile(r"\[(\d+)\]$")


def script_job(graph: JobGraph) -> Job:
    """The movie's script job (kind ``script``); UsageError if the blueprint has none."""
    for job in graph.jobs:
        if job.kind == "script":
            return job
    raise UsageError(
        f"blueprint {graph.blueprint_id} has no script producer to take your script",
        "use a blueprint with a script module (e.g. image-audio)",
    )


def replace_script(
    ctx: StorageContext,
    movie_id: str,
    graph: JobGraph,
    *,
    title: str,
    summary: str,
    segments: Sequence[str],
) -> list[ArtefactEvent]:
    """Record ``title``, ``summary`` and one narration per segment as the script job's outputs."""
    job = script_job(graph)
    records = []
    for produced in job.produces:
        name = produced.id.rsplit(".", 1)[-1]
        match = _INDEX.search(name)
        if match is not None:
            index = int(match.group(1))
            if index >= len(segments):
                raise UsageError(
                    f"the movie has more segments than the script ({index + 1} > {len(segments)})",
                    "give one section per segment, or set the number of segments to match",
                )
            text = segments[index]
        elif "title" in name.lower():
            text = title
        elif "summary" in name.lower():
            text = summary
        else:
            continue
        records.append({"artefactId": produced.id, "producedBy": job.id, "payload": text})
    return append_artefact_records(ctx, movie_id, records, base_dir=Path.cwd(), source="the script")
