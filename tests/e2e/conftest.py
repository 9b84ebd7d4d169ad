"""The ``cli`` fixture of the build acceptance tests: a movie CLI with a mock call log and clean handlers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.build_helpers import MovieCli, clear_handler_cache
from tutopanda.providers.mock.counter import MOCK_CALL_LOG_ENV


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MovieCli]:
    """``tutopanda`` on a tmp root; every mock call is logged to ``cli.call_log``."""
    call_log = tmp_path / "calls.jsonl"
    monkeypatch.setenv(MOCK_CALL_LOG_ENV, str(call_log))
    monkeypatch.delenv("TUTOPANDA_MOCK_OPTIONS", raising=False)
    clear_handler_cache()
    yield MovieCli(tmp_path / "store", call_log)
    clear_handler_cache()
