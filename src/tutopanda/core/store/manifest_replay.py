"""Building a manifest by replaying events.

The rule: for each input, its **latest** input event; for each artefact, its latest **succeeded** event.
A failed or skipped attempt never replaces an earlier success — the artefact the user paid for stays
available — and "latest" means latest in log (append) order. Optional filters restrict the replay to
events up to a revision and to chosen ids.

The functions take plain iterables, so a log can be streamed straight through without being loaded
into a list first.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from tutopanda.core.clock import Clock
from tutopanda.core.gc_control import gc_paused
from tutopanda.core.store.event_log import artefact_log, input_log
from tutopanda.core.store.events import ArtefactEvent, InputEvent
from tutopanda.core.store.manifest import Manifest, ManifestArtefact, ManifestInput
from tutopanda.core.store.revisions import parse_revision
from tutopanda.core.store.storage import StorageContext

__all__ = ["build_manifest", "build_manifest_from_logs", "latest_inputs", "latest_succeeded"]


def _upto(up_to_revision: str | None) -> int | None:
    return None if up_to_revision is None else parse_revision(up_to_revision)


def latest_inputs(
    events: Iterable[InputEvent], *, up_to_revision: str | None = None, ids: Collection[str] | None = None
) -> dict[str, InputEvent]:
    """The latest event per input id (optionally only up to ``up_to_revision`` and only for ``ids``)."""
    limit = _upto(up_to_revision)
    latest: dict[str, InputEvent] = {}
    with gc_paused():
        for event in events:
            if ids is not None and event.id not in ids:
                continue
            if limit is not None and parse_revision(event.revision) > limit:
                continue
            latest[event.id] = event
    return latest


def latest_succeeded(
    events: Iterable[ArtefactEvent], *, up_to_revision: str | None = None, ids: Collection[str] | None = None
) -> dict[str, ArtefactEvent]:
    """The latest *succeeded* event per artefact id (same filters as :func:`latest_inputs`)."""
    limit = _upto(up_to_revision)
    latest: dict[str, ArtefactEvent] = {}
    with gc_paused():
        for event in events:
            if event.status != "succeeded":
                continue
            if ids is not None and event.artefact_id not in ids:
                continue
            if limit is not None and parse_revision(event.revision) > limit:
                continue
            latest[event.artefact_id] = event
    return latest


def _manifest_artefact(event: ArtefactEvent) -> ManifestArtefact:
    blob = event.output.blob
    assert blob is not None  # guaranteed by ArtefactEvent validation for succeeded events
    return ManifestArtefact(
        hash=blob.hash,
        blob=blob,
        produced_by=event.produced_by,
        inputs_hash=event.inputs_hash,
        status="succeeded",
        provider=event.provider,
        model=event.model,
        diagnostics=event.diagnostics,
        created_at=event.created_at,
    )


def build_manifest(
    input_events: Iterable[InputEvent],
    artefact_events: Iterable[ArtefactEvent],
    *,
    revision: str,
    base_revision: str | None,
    clock: Clock,
    up_to_revision: str | None = None,
    input_ids: Collection[str] | None = None,
    artefact_ids: Collection[str] | None = None,
    timeline: Any | None = None,
) -> Manifest:
    """A :class:`Manifest` for ``revision`` from the replayed events (see the module docstring)."""
    input_state = latest_inputs(input_events, up_to_revision=up_to_revision, ids=input_ids)
    artefact_state = latest_succeeded(artefact_events, up_to_revision=up_to_revision, ids=artefact_ids)
    with gc_paused():
        inputs = {
            input_id: ManifestInput(hash=event.hash, digest=event.digest, created_at=event.created_at)
            for input_id, event in sorted(input_state.items())
        }
        artefacts = {key: _manifest_artefact(event) for key, event in sorted(artefact_state.items())}
        return Manifest(
            revision=revision,
            base_revision=base_revision,
            created_at=clock.timestamp(),
            inputs=inputs,
            artefacts=artefacts,
            timeline=timeline,
        )


def build_manifest_from_logs(
    ctx: StorageContext,
    movie_id: str,
    *,
    revision: str,
    base_revision: str | None,
    up_to_revision: str | None = None,
    input_ids: Collection[str] | None = None,
    artefact_ids: Collection[str] | None = None,
    timeline: Any | None = None,
) -> Manifest:
    """:func:`build_manifest` over the movie's own event logs, streamed; ``createdAt`` from ``ctx.clock``."""
    return build_manifest(
        input_log(ctx, movie_id),
        artefact_log(ctx, movie_id),
        revision=revision,
        base_revision=base_revision,
        clock=ctx.clock,
        up_to_revision=up_to_revision,
        input_ids=input_ids,
        artefact_ids=artefact_ids,
        timeline=timeline,
    )
