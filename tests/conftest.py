"""Shared test configuration.

Tests never touch the user's real ``~/.tutopanda``: ``TUTOPANDA_HOME`` points into a per-test tmp dir.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("tutopanda-home")
    monkeypatch.setenv("TUTOPANDA_HOME", str(home))
    monkeypatch.delenv("TUTOPANDA_DEBUG", raising=False)
    return home
