"""The DBOS application version of this process: the package version plus a hash of its code.

DBOS hands a queued workflow only to workers of the version that enqueued it, and peer recovery
(``liveness``) resumes only workflows of its own version. A fixed version string (the package's
``__version__``) would let a worker running edited code replay a checkpointed workflow whose steps
were recorded by different code, or run a batch planned by a different blueprint expansion. So the
version names the code itself: every file of the installed ``tutopanda`` package (its Python modules
and its bundled blueprints, prompts and schemas, which decide what a job does) is hashed, in path
order, with its path.

Hashing ~200 small files takes a few milliseconds, once per process (cached). ``DBOS__APPVERSION``
(DBOS's own variable) pins the version instead, for a fleet whose operators deploy identical builds
that differ only in, say, file layout.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from tutopanda import __version__

__all__ = ["APP_VERSION_ENV", "application_version", "code_hash"]

APP_VERSION_ENV = "DBOS__APPVERSION"
"""DBOS's variable for an explicit application version; when set it wins over the computed one."""

_SKIPPED_DIRS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


def code_hash(package_dir: Path) -> str:
    """SHA-256 hex over every file under ``package_dir`` (relative path and bytes, in path order).

    Compiled caches are skipped: they differ between machines running the same source.
    """
    digest = hashlib.sha256()
    files: list[tuple[str, Path]] = []
    for folder, dirs, names in os.walk(package_dir):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for name in names:
            if name.endswith(_SKIPPED_SUFFIXES):
                continue
            path = Path(folder) / name
            files.append((path.relative_to(package_dir).as_posix(), path))
    for relative, path in sorted(files):
        try:
            data = path.read_bytes()
        except OSError:
            continue  # vanished while listing: what is left is the code we run with
        digest.update(relative.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


@functools.cache
def _computed_version() -> str:
    package_dir = Path(__file__).resolve().parent.parent
    return f"tutopanda-{__version__}-{code_hash(package_dir)[:16]}"


def application_version() -> str:
    """``tutopanda-<version>-<code hash>``, or ``$DBOS__APPVERSION`` when set."""
    pinned = os.environ.get(APP_VERSION_ENV, "").strip()
    return pinned or _computed_version()
