"""Checking a movie's store, and repairing what can be repaired (``tutopanda verify [--repair]``).

:func:`verify_movie` reads everything and reports :class:`Problem` s, each with a stable ``kind``, the
path (relative to the movie folder), a message, a hint, a severity and whether ``--repair`` can fix it:

* **blobs** — every blob file is re-hashed (streamed): its bytes must hash to its name
  (``blob-corrupt``); every blob a manifest or an input event names must exist (``blob-missing``: an
  error for the current manifest and for input values, a warning when only older revisions name it —
  ``gc --keep-revisions`` removes those on purpose);
* **manifests** — every ``manifests/rev-NNNN.json`` parses and holds its own revision
  (``manifest-corrupt``);
* **the pointer** — ``current.json`` exists (``pointer-missing``), parses (``pointer-corrupt``) and names a
  manifest that exists (``pointer-target-missing``), whose bytes hash to the pointer's ``hash``
  (``pointer-hash-mismatch``) and which parses (``pointer-target-corrupt``);
* **event logs** — every line parses: a torn last line (``event-torn-tail``) and unreadable lines with
  their numbers (``event-unreadable``);
* **plan and run records** — ``runs/*-plan.json`` and ``*-run.json`` parse (``record-corrupt``) and match
  their file name and the manifests (``record-mismatch``, a warning);
* **temp files** left by crashed writes, older than the grace period (``temp-file``, a warning).

With ``repair=True`` (under the movie's build lock, so never beside a running build):

* a torn tail is cut off at the last newline and unreadable lines are blanked in place (same length,
  so appenders are undisturbed), both under the same ``flock`` the appender takes; the bytes removed are
  kept in ``events/<log>.log.rejected``;
* a corrupt blob file is removed (its bytes are worthless: they do not match their name); the next build
  produces the artefact again (the planner treats a missing blob as a missing output);
* damaged manifests and plan/run records are moved aside as ``<name>.corrupt`` (never deleted);
* a missing, damaged or mismatched pointer is re-pointed at the newest *complete* manifest (it parses and
  holds its own revision; a manifest whose bytes no longer match the pointer's hash is passed over); when
  none remains, a manifest is rebuilt from the event logs (each input's latest value, each artefact's
  latest success whose blob is whole). A blob the chosen manifest names but which is gone stays reported:
  the next build produces it again;
* stale temp files are removed.

The checks are in :mod:`~tutopanda.core.upkeep.verify_checks`, the repairs in
:mod:`~tutopanda.core.upkeep.verify_repairs`; this module holds the report and the entry points.

What cannot be repaired is said: a missing blob (the next build makes it again — or, for an input
value's bytes, the user must give the value again) and mismatched records.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tutopanda.core.errors import LockHeldError, TutopandaError, UsageError
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.movie_paths import movie_paths
from tutopanda.core.store.storage import StorageContext, validate_movie_id
from tutopanda.core.upkeep.verify_checks import GRACE_SECONDS, Checked, Problem, inspect_movie
from tutopanda.core.upkeep.verify_repairs import Repair, repair_movie

__all__ = [
    "GRACE_SECONDS",
    "Checked",
    "Problem",
    "Repair",
    "VerifyReport",
    "movie_ids",
    "verify_all",
    "verify_movie",
]


@dataclass
class VerifyReport:
    """The result of verifying one movie.

    ``problems`` are what is wrong *now* (after repairing, when ``repaired``); ``found`` what the first
    check found; ``repairs`` what was done. The movie is :attr:`ok` when no error remains (warnings —
    stale temp files, history whose blobs gc removed — do not count).
    """

    movie_id: str
    problems: list[Problem]
    checked: Checked
    found: list[Problem] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    repaired: bool = False

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "movie": self.movie_id,
            "ok": self.ok,
            "repaired": self.repaired,
            "checked": self.checked.to_dict(),
            "problems": [problem.to_dict() for problem in self.problems],
            "found": [problem.to_dict() for problem in self.found],
            "repairs": [repair.to_dict() for repair in self.repairs],
        }


# -- entry points --------------------------------------------------------------------------------


def _require_movie(ctx: StorageContext, movie_id: str) -> None:
    paths = movie_paths(ctx, movie_id)
    if not any(ctx.exists(path) for path in (paths.current, paths.manifests_dir, paths.events_dir)):
        raise UsageError(
            f"there is no movie '{movie_id}' in {ctx.builds_dir()}",
            "run 'tutopanda movies list' to see the movies in this storage root (or check --root)",
        )


def verify_movie(
    ctx: StorageContext,
    movie_id: str,
    *,
    repair: bool = False,
    grace: float = GRACE_SECONDS,
    now: float | None = None,
    command: str = "tutopanda verify --repair",
) -> VerifyReport:
    """Check ``movie_id`` (and with ``repair``, fix what can be fixed, then check again).

    Repairing takes the movie's build lock without waiting: while a build runs it raises
    :class:`LockHeldError` naming the holder and changes nothing.
    """
    _require_movie(ctx, movie_id)
    moment = time.time() if now is None else now
    if not repair:
        found = inspect_movie(ctx, movie_id, grace=grace, now=moment)
        return VerifyReport(movie_id, found.problems, found.checked, found=found.problems)
    with movie_lock(ctx, movie_id, "build", timeout=0.0, command=command):
        found = inspect_movie(ctx, movie_id, grace=grace, now=moment)
        if not any(problem.repairable for problem in found.problems):
            return VerifyReport(movie_id, found.problems, found.checked, found.problems, repaired=True)
        repairs = repair_movie(ctx, movie_id, found, grace=grace, now=moment)
        after = inspect_movie(ctx, movie_id, grace=grace, now=moment)
    return VerifyReport(movie_id, after.problems, after.checked, found.problems, repairs, repaired=True)


def movie_ids(ctx: StorageContext) -> list[str]:
    """Every folder under the builds directory that looks like a movie (even one missing current.json)."""
    ids: list[str] = []
    for name in ctx.list_names(ctx.builds_dir()):
        try:
            validate_movie_id(name)
        except UsageError:
            continue
        paths = movie_paths(ctx, name)
        if any(ctx.exists(path) for path in (paths.current, paths.manifests_dir, paths.events_dir)):
            ids.append(name)
    return ids


def verify_all(
    ctx: StorageContext, *, repair: bool = False, grace: float = GRACE_SECONDS, now: float | None = None
) -> list[VerifyReport]:
    """:func:`verify_movie` for every movie; a movie that cannot be checked gets a one-problem report."""
    reports: list[VerifyReport] = []
    for movie_id in movie_ids(ctx):
        try:
            reports.append(verify_movie(ctx, movie_id, repair=repair, grace=grace, now=now))
        except LockHeldError as exc:
            problem = Problem("build-running", "", exc.message, repairable=False, hint=exc.hint)
            reports.append(VerifyReport(movie_id, [problem], Checked(), found=[problem]))
        except TutopandaError as exc:
            problem = Problem("unreadable", "", exc.message, repairable=False, hint=exc.hint)
            reports.append(VerifyReport(movie_id, [problem], Checked(), found=[problem]))
    return reports
