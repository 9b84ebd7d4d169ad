"""A models catalogue of one model whose one file a loopback Hugging-Face-like hub serves.

Shared by the tests of ``tutopanda models`` (``tests/cli``), of the models store against planted links
(``tests/security``) and of ``query``'s first-use offer: each needs the same catalogue file, the same
environment (``TUTOPANDA_MODELS_CATALOGUE``, ``TUTOPANDA_MODELS``, ``HF_ENDPOINT``) and the hub of
``tests/providers/fake_hub.py`` serving the file at its pinned revision.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.providers.fake_hub import FakeHub, HubFile, fake_hub

__all__ = ["REVISION", "serve_one_model"]

REVISION = "a" * 40
"""The revision the catalogue pins unless a test names another."""


@contextmanager
def serve_one_model(
    monkeypatch: pytest.MonkeyPatch,
    folder: Path,
    data: bytes,
    *,
    name: str = "tiny-llm",
    file: str = "tiny.gguf",
    repo: str = "acme/tiny",
    revision: str = REVISION,
    models: Path | None = None,
) -> Iterator[FakeHub]:
    """Serve ``data`` as ``file`` of the default LLM ``name`` (licence Apache-2.0, pinned to the SHA-256
    of ``data``), with the catalogue written in ``folder``; the models store is ``models`` if given, else
    the one under the storage root (``TUTOPANDA_MODELS`` unset)."""
    catalogue = folder / "catalogue.toml"
    catalogue.write_text(
        f"""
[[model]]
name = "{name}"
kind = "llm"
default = true
repo = "{repo}"
revision = "{revision}"
licence = "Apache-2.0"
description = "a test model"
[[model.file]]
path = "{file}"
size = {len(data)}
sha256 = "{hashlib.sha256(data).hexdigest()}"
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("TUTOPANDA_MODELS_CATALOGUE", str(catalogue))
    if models is None:
        monkeypatch.delenv("TUTOPANDA_MODELS", raising=False)
    else:
        monkeypatch.setenv("TUTOPANDA_MODELS", str(models))
    with fake_hub() as server:
        server.add(repo, revision, file, HubFile(data))
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server
