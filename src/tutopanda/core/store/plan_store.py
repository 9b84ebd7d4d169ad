"""Saved plans: ``runs/rev-NNNN-plan.json``, one per attempted revision.

A thin JSON store — the planner decides what a plan contains. Plans are written atomically (compact,
sorted keys, trailing newline) so ``tutopanda`` commands and the viewer can show why a revision ran.
Saving a plan for a revision that already has one replaces it (the latest attempt wins).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tutopanda.core.errors import CorruptDataError, UsageError
from tutopanda.core.store.atomic_file import write_atomic
from tutopanda.core.store.json_file import compact_json_bytes
from tutopanda.core.store.movie_paths import MoviePaths, ensure_initialised
from tutopanda.core.store.revisions import is_revision, parse_revision
from tutopanda.core.store.storage import StorageContext

__all__ = ["PlanStore", "plan_bytes"]

_SUFFIX = "-plan.json"


def plan_bytes(plan: Mapping[str, Any]) -> bytes:
    """File content of a plan: compact JSON, sorted keys, trailing newline (no NaN/Infinity)."""
    try:
        return compact_json_bytes(plan)  # a machine file: `build plan` shows it to people
    except (TypeError, ValueError) as exc:
        raise UsageError(f"plan cannot be stored as JSON: {exc}", "plans must be plain JSON data") from exc


class PlanStore:
    """The plans of one (initialised) movie."""

    def __init__(self, ctx: StorageContext, movie_id: str, *, paths: MoviePaths | None = None) -> None:
        """``paths``: as for :class:`~tutopanda.core.store.blob_store.BlobStore`."""
        self._ctx = ctx
        self.movie_id = movie_id
        self._paths = paths or ensure_initialised(ctx, movie_id)

    def path_of(self, revision: str) -> str:
        """Where the plan of ``revision`` lives."""
        return self._paths.plan(revision)

    def save(self, revision: str, plan: Mapping[str, Any]) -> str:
        """Write the plan of ``revision`` atomically; return its path."""
        path = self.path_of(revision)
        data = plan_bytes(plan)
        self._ctx.makedirs(self._paths.runs_dir)
        write_atomic(self._ctx, path, data)
        return path

    def load(self, revision: str) -> dict[str, Any]:
        """The plan saved for ``revision`` (:class:`UsageError` if there is none)."""
        path = self.path_of(revision)
        try:
            data = self._ctx.read_bytes(path)
        except FileNotFoundError:
            raise UsageError(
                f"movie '{self.movie_id}' has no plan for {revision}",
                f"revisions with a plan: {', '.join(self.list_revisions()) or 'none'}",
            ) from None
        try:
            plan = json.loads(data)
        except ValueError as exc:
            raise CorruptDataError(f"{path} is not valid JSON: {exc}", "delete it and plan again") from exc
        if not isinstance(plan, dict):
            raise CorruptDataError(f"{path} does not hold a JSON object", "delete it and plan again")
        return plan

    def exists(self, revision: str) -> bool:
        """Whether a plan was saved for ``revision``."""
        return self._ctx.exists(self.path_of(revision))

    def list_revisions(self) -> list[str]:
        """Revisions that have a plan, oldest first."""
        revisions = [
            name.removesuffix(_SUFFIX)
            for name in self._ctx.list_names(self._paths.runs_dir)
            if name.endswith(_SUFFIX) and is_revision(name.removesuffix(_SUFFIX))
        ]
        return sorted(revisions, key=parse_revision)
