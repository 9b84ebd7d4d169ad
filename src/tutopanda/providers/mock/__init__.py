"""Offline, deterministic handlers for every producer kind (``mock`` mode), and their test knobs.

:func:`register_mocks` is what the built-in plugin calls; tests call it on their own registry to share
a :class:`MockCallCounter` or fixed :class:`MockOptions` with the handlers the registry builds.
"""

from __future__ import annotations

from tutopanda.providers.mock.counter import (
    MOCK_CALL_LOG_ENV,
    MockCall,
    MockCallCounter,
    read_call_log,
)
from tutopanda.providers.mock.handler import MOCK_KINDS, MockHandler
from tutopanda.providers.mock.options import MOCK_CONFIG_KEY, MOCK_OPTIONS_ENV, MockOptions
from tutopanda.providers.mock.registration import register_mocks
from tutopanda.providers.mock.timeline import TimelineClip, TimelineDocument, TimelineTrack

__all__ = [
    "MOCK_CALL_LOG_ENV",
    "MOCK_CONFIG_KEY",
    "MOCK_KINDS",
    "MOCK_OPTIONS_ENV",
    "MockCall",
    "MockCallCounter",
    "MockHandler",
    "MockOptions",
    "TimelineClip",
    "TimelineDocument",
    "TimelineTrack",
    "read_call_log",
    "register_mocks",
]
