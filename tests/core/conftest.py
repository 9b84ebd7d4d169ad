"""Fixtures for the storage tests: every storage test runs on a local directory, ``memory://`` and S3.

S3 is a ``moto`` server on 127.0.0.1 (in this process, started once per test session); each test gets its
own prefix in one bucket. It proves the object-store code paths (segmented event logs, conditional
writes) against a real S3 wire protocol without any network.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tutopanda.core.clock import FixedClock
from tutopanda.core.logger import MemoryLogger
from tutopanda.core.store.movie_paths import init_movie
from tutopanda.core.store.storage import StorageConfig, StorageContext

from .factories import EventFactory


@pytest.fixture(params=["local", "memory", "s3"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which storage backend the test runs on."""
    return str(request.param)


@pytest.fixture
def memory_logger() -> MemoryLogger:
    return MemoryLogger()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(step=timedelta(seconds=1))


@pytest.fixture
def storage_root(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty storage root: a tmp dir, or a unique ``memory://`` root removed afterwards."""
    if backend == "local":
        yield str(tmp_path / "store")
        return
    if backend == "s3":
        yield f"s3://{request.getfixturevalue('s3_bucket')}/t-{uuid.uuid4().hex}"
        return
    root = f"memory://t-{uuid.uuid4().hex}"
    yield root
    ctx = StorageContext.open(StorageConfig(root))
    if ctx.fs.exists(ctx.root):
        ctx.fs.rm(ctx.root, recursive=True)


@pytest.fixture
def ctx(storage_root: str, clock: FixedClock, memory_logger: MemoryLogger) -> StorageContext:
    """An opened storage context with a pinned clock and a capturing logger."""
    return StorageContext.open(StorageConfig(storage_root), clock=clock, logger=memory_logger)


@pytest.fixture
def movie(ctx: StorageContext) -> str:
    """The id of an initialised movie."""
    init_movie(ctx, "demo")
    return "demo"


@pytest.fixture
def events(clock: FixedClock) -> EventFactory:
    return EventFactory(clock)
