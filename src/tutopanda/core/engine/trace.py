"""Constructive traces: how the engine knows whether a job's stored outputs are still the right ones.

AI producers are non-deterministic, so a job is never "verified" by running it again: the stored output
*is* the truth. Instead each artefact event records the **trace hash** of the job that made it — the
canonical hash of the *values* the job consumed:

* every input alias, bound to the hash of its value (input values hashed with
  :func:`~tutopanda.core.store.hashing.hash_value`, upstream artefacts by their blob hash), fan-in inputs as
  their groups of member hashes, in order;
* the producer kind, the selected variant (provider, model, config, prompt template), the run mode when
  it is not ``live`` (see :func:`variant_trace_json`) and the ids of the artefacts it produces.

A job is **fresh** when each of its outputs has a succeeded event with the job's current trace hash. That
one rule gives early cutoff (an upstream rebuilt to identical bytes leaves downstream traces unchanged),
free undo (reverting an edit recreates an old trace, whose outputs are still in the log) and correct
retries (a failed event never satisfies freshness).

A **manual override** is an artefact the user supplied by hand (``inputsHash`` = :data:`MANUAL`). It stands
in for the producer's output under any trace the producer has not made newer output for, so editing one
segment's narration text re-runs only what consumes that segment, and undoing an unrelated edit brings the
user's text back rather than an older draft.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from tutopanda.core.blueprint import FanIn, Job
from tutopanda.core.store.events import MANUAL, ArtefactEvent
from tutopanda.core.store.hashing import canonical_json, hash_value, sha256_hex

__all__ = [
    "OPERATIONAL_CONFIG_KEYS",
    "TRACE_VERSION",
    "TraceIndex",
    "input_value_hashes",
    "job_trace",
    "variant_trace_json",
]

TRACE_VERSION = 1
"""Bumped only if the trace recipe changes (which makes every stored trace stale)."""

OPERATIONAL_CONFIG_KEYS = frozenset(
    {"jobTimeoutSeconds", "maxInFlight", "requestsPerMinute", "timeoutSeconds", "waitSeconds"}
)
"""Variant config keys that change *how* calls are made (throttles, patience), never *what* they make:
left out of traces, so tuning them never re-runs (or re-pays for) a job."""


def input_value_hashes(values: Mapping[str, object]) -> dict[str, str]:
    """The hash of each input value, by canonical input id."""
    return {input_id: hash_value(value).hash for input_id, value in values.items()}


def job_trace(job: Job, value_hash: Callable[[str], str], *, variant_json: str | None = None) -> str:
    """The trace hash of ``job`` given the hash of every canonical id it consumes.

    ``value_hash(canonical_id)`` returns an input value's hash or an upstream artefact's blob hash. The
    hash is that of the canonical JSON of ``{"inputs", "kind", "produces", "trace", "variant"}``;
    ``variant_json`` (the canonical JSON of ``job.variant.to_dict()``) may be passed in by callers that
    hash many jobs of the same module, since it is the costly part and identical for all of them.
    """
    bound: dict[str, object] = {}
    for alias, binding in job.bindings.items():
        if isinstance(binding, FanIn):
            bound[alias] = {
                "groupBy": binding.group_by,
                "orderBy": binding.order_by,
                "groups": [[value_hash(member) for member in group] for group in binding.groups()],
            }
        else:
            bound[alias] = value_hash(binding)
    # Only strings, None, the int version, lists and str-keyed dicts: for these json.dumps with sorted
    # keys and no spaces *is* the canonical form (test_trace checks it against hash_canonical), and
    # skipping the generic normaliser halves the cost of planning a large movie.
    head = json.dumps(
        {
            "trace": TRACE_VERSION,
            "kind": job.kind,
            "inputs": bound,
            "produces": [artefact.id for artefact in job.produces],
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    if variant_json is None:
        variant_json = variant_trace_json(job)
    # "variant" sorts after every other key, so appending it keeps the text canonical.
    return sha256_hex(f'{head[:-1]},"variant":{variant_json}}}'.encode())


@dataclass(frozen=True)
class _Seen:
    seq: int
    event: ArtefactEvent


class TraceIndex:
    """Every artefact event of a movie, indexed for freshness questions; grows as a run appends.

    Built once per plan from the artefact log (linear in its length); lookups are dictionary hits.
    """

    def __init__(self) -> None:
        self._seq = 0
        self._by_trace: dict[tuple[str, str], _Seen] = {}
        self._latest: dict[str, _Seen] = {}
        self._latest_produced: dict[str, _Seen] = {}
        self._override: dict[str, _Seen] = {}

    @classmethod
    def from_events(cls, events: Iterable[ArtefactEvent]) -> TraceIndex:
        """An index over ``events`` in log order."""
        index = cls()
        for event in events:
            index.add(event)
        return index

    def copy(self) -> TraceIndex:
        """An independent index with the same events (adding to one does not change the other)."""
        twin = TraceIndex()
        twin._seq = self._seq
        twin._by_trace = dict(self._by_trace)
        twin._latest = dict(self._latest)
        twin._latest_produced = dict(self._latest_produced)
        twin._override = dict(self._override)
        return twin

    def add(self, event: ArtefactEvent) -> None:
        """Record one event (the newest so far)."""
        self._seq += 1
        seen = _Seen(self._seq, event)
        artefact_id = event.artefact_id
        self._latest[artefact_id] = seen
        if event.status != "succeeded":
            return
        if event.inputs_hash == MANUAL:
            self._override[artefact_id] = seen
        else:
            self._by_trace[(artefact_id, event.inputs_hash)] = seen
            self._latest_produced[artefact_id] = seen

    def override(self, artefact_id: str) -> ArtefactEvent | None:
        """The user's manual replacement of ``artefact_id`` if it is newer than any production of it."""
        seen = self._override.get(artefact_id)
        produced = self._latest_produced.get(artefact_id)
        if seen is None or (produced is not None and seen.seq < produced.seq):
            return None
        return seen.event

    def produced(self, artefact_id: str, trace: str) -> ArtefactEvent | None:
        """The latest succeeded event of ``artefact_id`` made by a job with this trace."""
        seen = self._by_trace.get((artefact_id, trace))
        return seen.event if seen else None

    def resolve(self, artefact_id: str, trace: str | None) -> ArtefactEvent | None:
        """The event whose output stands for ``artefact_id`` under ``trace``.

        The user's latest manual replacement wins unless the producer made this artefact *for this very
        trace* after it: so an edit survives undo (returning to the inputs it was made under restores
        the edit, not the older draft), while a run for new inputs supersedes it for those inputs.
        """
        manual = self._override.get(artefact_id)
        produced = self._by_trace.get((artefact_id, trace)) if trace is not None else None
        if manual is not None and (produced is None or produced.seq < manual.seq):
            return manual.event
        return produced.event if produced else None

    def latest(self, artefact_id: str) -> ArtefactEvent | None:
        """The latest event of any status for ``artefact_id``."""
        seen = self._latest.get(artefact_id)
        return seen.event if seen else None

    def latest_success(self, artefact_id: str) -> ArtefactEvent | None:
        """The latest succeeded event for ``artefact_id`` (override or produced), whatever its trace."""
        override = self.override(artefact_id)
        if override is not None:
            return override
        produced = self._latest_produced.get(artefact_id)
        return produced.event if produced else None


def variant_trace_json(job: Job, mode: str = "live") -> str:
    """The canonical JSON of the job's variant as traced: without :data:`OPERATIONAL_CONFIG_KEYS`, and
    with ``"mode"`` when the run is not ``live``.

    Why the mode: with ``--providers mock`` the variant ``local/espeak-ng`` is run by a mock handler, so
    provider and model alone do not say what made an output. Without the mode a movie made with mocks
    and then built live found its mock outputs "fresh" and re-made only what an edit touched, mixing
    mock clips with real ones. With it, a change of mode re-runs every job it affects, and switching
    back finds the old outputs again (free undo). ``live`` is left out so the traces of every movie
    built live stay what they were.
    """
    variant = job.variant.to_dict()
    if mode != "live":
        variant["mode"] = mode
    config = variant.get("config") or {}
    if any(key in config for key in OPERATIONAL_CONFIG_KEYS):
        variant["config"] = {
            key: value for key, value in config.items() if key not in OPERATIONAL_CONFIG_KEYS
        }
    return canonical_json(variant)
