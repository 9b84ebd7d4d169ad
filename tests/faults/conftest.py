"""The fault suite drives the real CLI like the end-to-end tests: the same ``cli`` fixture (a tmp root,
every mock call logged to ``cli.call_log``)."""

from tests.e2e.conftest import cli

__all__ = ["cli"]
