"""Editing from the page (``tutopanda viewer --allow-edits``): a segment's texts, then the rebuild.

The page is a third front end of the engine's one change verb (:mod:`tutopanda.core.engine.change`), beside
``tutopanda edit`` and the MCP server, so it follows the same rules by construction rather than by
copy: the edit is previewed on a throw-away copy of the movie (nothing recorded), the provider checks
(:mod:`tutopanda.providers.wiring`) run before anything is recorded, and the record-build-publish
sequence runs under the movie's build lock, re-checked against the state the user reviewed.

What the page adds is a two-step conversation over HTTP: :meth:`Editor.preview` answers with the plan
(what re-runs and why, what it costs) and a one-time token; :meth:`Editor.start` applies exactly that
preview in a background thread once the user confirms. A plan that calls paid online providers needs
the cost the page showed to come back with the confirmation; a plan that changed meanwhile (another
command recorded something, new jobs appeared) is not run: the user reviews it again.

One build at a time per viewer: a second confirmation while one runs is refused, and a build started
elsewhere (the CLI, a durable build) makes the engine refuse with the lock's holder named.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tutopanda.core.engine.planner import Plan
from tutopanda.core.errors import ManifestConflictError, StorageError, TutopandaError, UsageError
from tutopanda.core.limits import check_text
from tutopanda.core.movie.document import EditableText, take_snapshot
from tutopanda.core.store.blob_store import BlobStore
from tutopanda.core.store.storage import StorageContext

__all__ = ["Editor", "ProviderChoice", "new_edit_token"]

ProviderChoice = Literal["live", "local", "mock"]
"""As ``--providers``: live (each module's selected provider), local (live, offline only), mock."""

PREVIEW_TTL = 30 * 60.0
"""Seconds a preview may wait for its confirmation: after that the user previews again."""
MAX_PREVIEWS = 16
"""Previews kept at once (older ones are forgotten first): each holds only its edits and plan ids."""
MAX_PLAN_ROWS = 200
"""Jobs listed in a preview (the counts always cover all of them)."""
_TEXT_LIMIT = 200_000
"""Bytes of a current text read to show in the editor (a longer one is not offered for editing)."""


def _conflict(message: str, hint: str) -> ManifestConflictError:
    """The confirmation does not match what can run now (another build runs, the preview expired,
    the cost was not confirmed): the app answers 409 and the page asks the user to review again.

    (The engine's own conflict error, rather than a class of this module: the same meaning — the
    movie is not in the state the user agreed to — and the same answer.)
    """
    return ManifestConflictError(message, hint)


@dataclass
class _Preview:
    """What the user reviewed: the change, the jobs it plans and their cost."""

    movie_id: str
    change: Any  # tutopanda.core.engine.change.Change (the engine is imported when first used)
    job_ids: frozenset[str]
    cost: float | None
    paid: dict[str, str]
    made: float


@dataclass
class _Build:
    """The page's build of one movie: running, then what became of it."""

    movie_id: str
    state: Literal["running", "built", "failed", "declined"] = "running"
    revision: str | None = None
    error: str | None = None
    hint: str | None = None
    jobs_run: int = 0
    started: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "revision": self.revision,
            "error": self.error,
            "hint": self.hint,
            "jobsRun": self.jobs_run,
        }


def _plan_document(plan: Plan, paid: Mapping[str, str]) -> dict[str, Any]:
    """The plan as the page shows it: counts and cost, and each job with the reasons it runs."""
    summary = plan.to_dict()["summary"]
    return {
        "revision": plan.revision,
        "baseRevision": plan.base_revision,
        "totalJobs": plan.total_jobs,
        "dirtyJobs": len(plan.jobs),
        "estimatedCost": plan.estimated_cost,
        "unpricedJobs": plan.unpriced_jobs,
        "byReason": summary.get("byReason", {}),
        "paid": dict(paid),
        "jobs": [
            {
                "jobId": planned.job.id,
                "producer": f"{planned.job.module}.{planned.job.producer}",
                "provider": f"{planned.job.variant.provider}/{planned.job.variant.model}",
                "reasons": [{"code": reason.code, "detail": reason.detail} for reason in planned.reasons],
                "estimatedCost": planned.estimated_cost,
            }
            for planned in plan.jobs[:MAX_PLAN_ROWS]
        ],
    }


@dataclass
class Editor:
    """The edit operations of one viewer process over the store behind ``ctx``.

    ``providers`` is the mode builds run in (the viewer's ``--providers``); ``prices`` the user's price
    file. Methods block (planning, building): the web app calls them off its event loop.
    """

    ctx: StorageContext
    providers: ProviderChoice = "live"
    concurrency: int = 4
    prices: Any = None  # a pathlib.Path or None: the user's price overrides
    _previews: OrderedDict[str, _Preview] = field(default_factory=OrderedDict)
    _builds: dict[str, _Build] = field(default_factory=dict)
    _running: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- the provider wiring (the same parts the CLI's edit hands to the engine) ------------------

    @property
    def _mode(self) -> Literal["live", "mock"]:
        return "mock" if self.providers == "mock" else "live"

    def _resolver(self) -> Any:
        from tutopanda.providers.wiring import resolver

        return resolver(self._mode, prices=self.prices)

    def _check(self, plan: Plan) -> None:
        """The offline checks every front end runs before recording: keys, configs, ``local``."""
        from tutopanda.core.engine.provider_contract import EnvSecretResolver
        from tutopanda.providers.wiring import check_offline, preflight

        if self.providers == "local":
            check_offline(plan)
        preflight(plan, self._mode, EnvSecretResolver())

    def _paid(self, plan: Plan) -> dict[str, str]:
        from tutopanda.providers.wiring import online_jobs

        return online_jobs(plan) if self._mode == "live" else {}

    # -- reading --------------------------------------------------------------------------------

    def texts(self, movie_id: str) -> dict[str, Any]:
        """The editable texts of each segment (narration, image prompts) with their current words."""
        snapshot = take_snapshot(self.ctx, movie_id)
        blobs = BlobStore(self.ctx, movie_id)
        segments: dict[int, list[dict[str, Any]]] = {}
        for text in snapshot.layout.texts:
            if text.segment is None:
                continue
            entry = snapshot.manifest.artefacts.get(text.artefact_id)
            if entry is None or entry.blob.size > _TEXT_LIMIT:
                continue
            try:
                words = blobs.get_bytes(entry.blob).decode("utf-8", errors="replace")
            except (StorageError, OSError):
                continue
            segments.setdefault(text.segment, []).append(
                {
                    "artefactId": text.artefact_id,
                    "key": text.key,
                    "item": text.item,
                    "label": text.label,
                    "text": words,
                }
            )
        with self._lock:
            build = self._builds.get(movie_id)
        return {
            "providers": self.providers,
            "revision": snapshot.manifest.revision,
            "segments": [{"index": index, "texts": items} for index, items in sorted(segments.items())],
            "build": build.to_dict() if build is not None else None,
        }

    def status(self, movie_id: str) -> dict[str, Any]:
        """The page's last build of ``movie_id`` (``{"state": "idle"}`` when it started none), with the
        build's progress while it runs (the same document as ``/progress``)."""
        from tutopanda.viewer.progress import build_progress

        with self._lock:
            build = self._builds.get(movie_id)
        if build is None:
            return {"state": "idle"}
        found = build.to_dict()
        if build.state == "running":
            found["progress"] = build_progress(self.ctx, movie_id)
        return found

    # -- preview --------------------------------------------------------------------------------

    def _edits(self, movie_id: str, texts: Mapping[str, Any]) -> Any:
        """The requested texts as the engine's :class:`~tutopanda.core.movie.edit.EditSet`."""
        from tutopanda.core.movie.edit import EditSet, TextEdit
        from tutopanda.core.store.hashing import sha256_hex

        if not isinstance(texts, Mapping) or not texts:
            raise UsageError("no texts to change", "edit a narration or an image prompt, then preview")
        snapshot = take_snapshot(self.ctx, movie_id)
        edits = EditSet()
        for artefact_id, value in texts.items():
            known: EditableText | None = snapshot.layout.by_id.get(str(artefact_id))
            if known is None or known.segment is None:
                raise UsageError(
                    f"movie '{movie_id}' has no segment text {artefact_id}", "reload the page and edit again"
                )
            if not isinstance(value, str) or not value.strip():
                raise UsageError(
                    f"the new text of {known.label} is empty", "write the text you want, or cancel the edit"
                )
            check_text(known.label, value, error=UsageError)
            entry = snapshot.manifest.artefacts.get(known.artefact_id)
            if entry is not None and sha256_hex(value.encode("utf-8")) == entry.hash:
                continue  # unchanged
            edits.texts.append(TextEdit(known.artefact_id, known.producer_id, value, "viewer"))
        if edits.is_empty:
            raise UsageError("the texts are unchanged: nothing to rebuild", "change a text first")
        return edits

    def preview(self, movie_id: str, texts: Mapping[str, Any]) -> dict[str, Any]:
        """The plan the edit would run (nothing is recorded), and the token that confirms it."""
        from tutopanda.core.engine.change import Change, movie_state, preview

        baseline = movie_state(self.ctx, movie_id)
        edits = self._edits(movie_id, texts)
        change = Change(
            f"tutopanda viewer edit --movie {movie_id}", edits=edits, source="viewer", based_on=baseline
        )
        plan = preview(self.ctx, movie_id, change, resolver=self._resolver(), mode=self._mode)
        self._check(plan)
        paid = self._paid(plan)
        token = secrets.token_urlsafe(18)
        now = time.monotonic()
        with self._lock:
            for old, kept in list(self._previews.items()):
                if now - kept.made > PREVIEW_TTL:
                    del self._previews[old]
            self._previews[token] = _Preview(
                movie_id,
                change,
                frozenset(planned.job.id for planned in plan.jobs),
                plan.estimated_cost,
                paid,
                now,
            )
            while len(self._previews) > MAX_PREVIEWS:
                self._previews.popitem(last=False)
        return {
            "token": token,
            "edits": edits.describe(),
            "plan": _plan_document(plan, paid),
            "needsCostConfirmation": bool(paid),
        }

    # -- apply ----------------------------------------------------------------------------------

    def start(self, movie_id: str, token: str, accept_cost: Any = None) -> dict[str, Any]:
        """Apply the preview ``token`` in a background thread; the page follows it by polling.

        A paid plan runs only when ``accept_cost`` is the estimate the preview showed (the page sends
        it back once the user ticked the cost), so a stale or forged confirmation cannot spend money.
        """
        with self._lock:
            chosen = self._previews.get(token) if isinstance(token, str) else None
            if chosen is None or chosen.movie_id != movie_id:
                raise _conflict(
                    "this preview is no longer valid (it was used, expired, or is for another movie)",
                    "preview the edit again",
                )
            if chosen.paid and not _same_cost(accept_cost, chosen.cost):
                raise _conflict(
                    "this plan calls paid online providers: confirm its estimated cost first",
                    "tick the cost confirmation in the page, then start the build",
                )
            if self._running is not None:
                raise _conflict(
                    f"the viewer is already building movie '{self._running}'",
                    "wait for it to finish, then preview again",
                )
            del self._previews[token]
            self._running = movie_id
            build = self._builds[movie_id] = _Build(movie_id)
        threading.Thread(
            target=self._build, args=(chosen, build), name=f"viewer build: {movie_id}", daemon=True
        ).start()
        return build.to_dict()

    def _build(self, chosen: _Preview, build: _Build) -> None:
        """Record and build the reviewed change (the engine's apply, under the movie's build lock).

        A daemon thread: stopping the viewer stops the build like a Ctrl-C of ``tutopanda edit`` would
        at worst (every finished job is in the event log; the next build does not pay for it again).
        """
        from tutopanda.core.engine.change import apply
        from tutopanda.core.engine.provider_contract import EnvSecretResolver
        from tutopanda.core.engine.runner import RunOptions

        def agree(actual: Plan) -> bool:
            """The plan computed now is the one reviewed: no new job, no higher cost."""
            if {planned.job.id for planned in actual.jobs} - chosen.job_ids:
                return False
            dearer = (actual.estimated_cost or 0.0) > (chosen.cost or 0.0) + 1e-9
            return not (chosen.paid and dearer)

        try:
            outcome = apply(
                self.ctx,
                chosen.movie_id,
                chosen.change,
                confirm=agree,
                resolver=self._resolver(),
                preflight=self._check,
                options=RunOptions(mode=self._mode, concurrency=self.concurrency),
                secrets=EnvSecretResolver(),
                on_built=lambda report: _refresh_prompt_files(self.ctx, chosen.movie_id),
            )
            report = outcome.report
            if report is None:
                build.state = "declined"
                build.error = "the plan changed since you reviewed it (new jobs or a higher cost)"
                build.hint = "nothing was recorded: preview the edit again"
            else:
                build.revision = report.revision
                build.jobs_run = sum(1 for item in report.outcomes if item.attempts > 0)
                if report.failed or report.stopped or report.interrupted:
                    build.state = "failed"
                    failed = ", ".join(f"{o.job_id} ({o.error or o.status})" for o in report.failed[:3])
                    build.error = f"{len(report.failed)} job(s) failed: {failed}" + (
                        f"; {report.stopped}" if report.stopped else ""
                    )
                    build.hint = report.stopped_hint or (
                        "everything that succeeded is kept; fix the cause and run "
                        f"'tutopanda build run --movie {chosen.movie_id}' (only the failed jobs run)"
                    )
                else:
                    build.state = "built"
        except ManifestConflictError as exc:
            build.state, build.error, build.hint = "declined", exc.message, "preview the edit again"
        except TutopandaError as exc:
            build.state, build.error, build.hint = "failed", exc.message, exc.hint
        except Exception as exc:  # reported to the page: a thread's exception would otherwise vanish
            build.state, build.error, build.hint = "failed", f"the build stopped: {exc}", None
        finally:
            with self._lock:
                self._running = None


def _same_cost(accepted: Any, estimate: float | None) -> bool:
    if isinstance(accepted, bool) or not isinstance(accepted, int | float):
        return False
    return abs(float(accepted) - float(estimate or 0.0)) < 1e-9


def _refresh_prompt_files(ctx: StorageContext, movie_id: str) -> None:
    """Prompt files the user exported (``inspect``) follow the new texts, as after ``tutopanda edit``."""
    from tutopanda.core.movie.document import prompt_index, write_prompt_files

    try:
        if prompt_index(ctx, movie_id):
            write_prompt_files(ctx, movie_id, take_snapshot(ctx, movie_id))
    except TutopandaError:  # the build is committed; a stale prompt file is reported by the next edit
        return


def new_edit_token() -> str:
    """The per-process secret the page must send with every edit (the CSRF defence's first half)."""
    return secrets.token_urlsafe(32)
