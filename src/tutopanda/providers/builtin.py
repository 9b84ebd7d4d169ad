"""The ``builtin`` plugin: Tutopanda's own handlers, registered the way a third-party plugin would be.

``pyproject.toml`` points the ``tutopanda.providers`` entry point ``builtin`` here. Today it registers
the mocks; local and live handlers join later through this same function.
"""

from __future__ import annotations

from tutopanda.providers.mock.registration import register_mocks
from tutopanda.providers.registry import ProviderRegistry

__all__ = ["register"]


def register(registry: ProviderRegistry) -> None:
    """Add every built-in handler factory to ``registry``."""
    register_mocks(registry)
