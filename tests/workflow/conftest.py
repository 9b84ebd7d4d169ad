"""Workflow tests pin the DBOS application version.

The version is computed from the package's code (``workflow/code_version.py``), so a source file
edited while a test runs (a developer's editor, another checkout's tooling) would give the submitter
and a worker started seconds later different versions, and the worker would rightly ignore the build.
Each test gets one pinned version instead; ``test_code_version.py`` tests the computed one, and
unsets the pin where it needs to.
"""

from __future__ import annotations

import uuid

import pytest

from tutopanda.workflow.code_version import APP_VERSION_ENV


@pytest.fixture(autouse=True)
def _pinned_application_version(monkeypatch: pytest.MonkeyPatch) -> str:
    version = f"tutopanda-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(APP_VERSION_ENV, version)
    return version
