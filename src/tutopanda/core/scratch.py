"""A throw-away copy of a movie, for dry runs that must leave the real movie byte-for-byte unchanged.

The copy lives in a temporary local directory. Blobs are hard-linked when the source is on local disk
(instant, no extra space; blob files are never modified in place, so sharing them is safe) and copied
otherwise. Lock files are not copied.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tutopanda.core.locks import LOCKS_DIR, movie_lock
from tutopanda.core.movie_layout import ensure_initialised
from tutopanda.core.storage import StorageConfig, StorageContext

__all__ = ["scratch_copy"]


def _copy_local(source: Path, target: Path) -> None:
    for directory, subdirs, files in os.walk(source):
        relative = Path(directory).relative_to(source)
        if not relative.parts:
            subdirs[:] = [name for name in subdirs if name != LOCKS_DIR]
        (target / relative).mkdir(parents=True, exist_ok=True)
        for name in files:
            src, dst = Path(directory) / name, target / relative / name
            if relative.parts[:1] == ("blobs",):
                with contextlib.suppress(OSError):
                    os.link(src, dst)
                    continue
            shutil.copy2(src, dst)


def _copy_fsspec(ctx: StorageContext, source: str, target: Path) -> None:
    for path in ctx.fs.find(source):
        relative = path[len(source) :].lstrip("/")
        if relative.startswith(LOCKS_DIR + "/"):
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        with ctx.fs.open(path, "rb") as src, destination.open("wb") as dst:
            shutil.copyfileobj(src, dst)
    for relative in ("manifests", "events", "runs", "blobs", "prompts"):
        (target / relative).mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def scratch_copy(ctx: StorageContext, movie_id: str) -> Iterator[StorageContext]:
    """A storage context whose ``movie_id`` is a private copy of the real one; deleted on exit."""
    source = ensure_initialised(ctx, movie_id).root
    with tempfile.TemporaryDirectory(prefix="tutopanda-dry-run-") as temp:
        scratch = StorageContext.open(
            StorageConfig(root=temp, base_path=ctx.base_path), clock=ctx.clock, logger=ctx.logger
        )
        target = Path(scratch.movie_dir(movie_id))
        # Copy under the movie's build lock, so a build in progress is never copied half-way.
        with movie_lock(ctx, movie_id, "build", timeout=0.0, command="tutopanda build run --dry-run"):
            if ctx.is_local:
                _copy_local(Path(source), target)
            else:
                _copy_fsspec(ctx, source, target)
        yield scratch
