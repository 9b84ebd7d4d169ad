"""Python's cyclic garbage collector, tuned for the two things the engine does in bulk.

**Loading** (:func:`gc_paused`). Replaying a long event log into memory creates hundreds of thousands of
small, *acyclic* objects (pydantic models, dicts, sets). Every few hundred allocations CPython's cyclic
collector wakes up and re-scans all the survivors, which more than doubled the cost of building a
manifest from 100k events in ``bench/event_log.py`` (0.8 s -> 1.7 s). Those objects hold no reference
cycles, so reference counting frees them anyway; pausing the collector for the duration of the load
loses nothing. (mypy does the same during its builds.) Only wrap code that consumes data completely —
never a ``yield`` that hands control back to a caller.

**Building** (:func:`paced_collections`). CPython collects its young generation every 700 new container
objects. A job's short-lived objects (its context, its input dict, closures, futures, the event it
appends) outlive several of those collections, so they are promoted to the old generation — and
promotions, once they reach a quarter of the old generation, trigger a *full* collection, which walks
every object the process holds: the job graph, the plan, the trace index. On a 10,000-job mock build
that was 14 full collections and 2.4 s of 17 s, and it grew faster than the build (each walk is longer
on a bigger movie), making big builds super-linear. With a young generation of 20,000 objects, those
objects die by reference count before any collection sees them: 1–2 full collections
(``bench/build_scale.py``). Nothing is kept longer than it would be anyway: reference counting still
frees every acyclic object at once; cyclic garbage waits for up to 20,000 allocations instead of 700.
The threshold is the process's (one interpreter-wide setting), so it is raised by the first build of
the process to start and restored by the last to end (a durable worker runs batches side by side), and
left alone if the application disabled collection or changed the threshold meanwhile.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["YOUNG_GENERATION", "gc_paused", "paced_collections"]

YOUNG_GENERATION = 20_000
"""New container objects between young-generation collections while a build runs (CPython: 700)."""


class _Pacing:
    """How many builds are running, and the thresholds to restore when the last one ends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.saved: tuple[int, int, int] | None = None


_state = _Pacing()


@contextmanager
def paced_collections() -> Iterator[None]:
    """For the block, young-generation collections every :data:`YOUNG_GENERATION` objects."""
    with _state.lock:
        if _state.running == 0:
            young, middle, old = gc.get_threshold()
            if 0 < young < YOUNG_GENERATION:  # 0: collection disabled by the application, leave it
                _state.saved = (young, middle, old)
                gc.set_threshold(YOUNG_GENERATION, middle, old)
        _state.running += 1
    try:
        yield
    finally:
        with _state.lock:
            _state.running -= 1
            saved = _state.saved
            if _state.running == 0 and saved is not None:
                _state.saved = None
                if gc.get_threshold()[0] == YOUNG_GENERATION:  # nobody else changed it meanwhile
                    gc.set_threshold(*saved)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; restore the previous state afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
