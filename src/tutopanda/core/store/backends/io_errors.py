"""Turning an ``OSError`` from any backend into the one-line :class:`StorageError` a user reads.

It lives beside the backends (and is re-exported by ``core/store/storage.py``) because every backend maps its
failures the same way, and the backends are imported by ``storage.py``, not the other way round.
"""

from __future__ import annotations

import errno

from tutopanda.core.errors import StorageError

__all__ = ["storage_error"]


def storage_error(exc: OSError, action: str, path: str) -> StorageError:
    """Translate an ``OSError`` raised while doing ``action`` ("writing", "reading"…) on ``path``."""
    if exc.errno == errno.ENOSPC:
        return StorageError(
            f"disk full {action} {path}", "free some disk space (or move the storage root) and retry"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StorageError(
            f"permission denied {action} {path}",
            "check the permissions of the storage root, or choose another root",
        )
    reason = exc.strerror or str(exc)
    return StorageError(
        f"could not finish {action} {path}: {reason}", "check the storage root is reachable and retry"
    )
