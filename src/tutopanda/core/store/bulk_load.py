"""Pausing Python's cyclic garbage collector while bulk-loading many small objects.

Replaying a long event log into memory creates hundreds of thousands of small, *acyclic* objects
(pydantic models, dicts, sets). Every few hundred allocations CPython's cyclic collector wakes up and
re-scans all the survivors, which more than doubled the cost of building a manifest from 100k events in
``bench/event_log.py`` (0.8 s -> 1.7 s). Those objects hold no reference cycles, so reference counting
frees them anyway; pausing the collector for the duration of the load loses nothing. (mypy does the same
during its builds.) Only wrap code that consumes data completely — never a ``yield`` that hands control
back to a caller.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


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
