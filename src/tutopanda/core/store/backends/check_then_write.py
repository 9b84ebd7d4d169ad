"""Versioned reads and compare-and-swap as check-then-write, for backends without server-side conditions.

Why a module of its own: the local-disk and the generic fsspec backends both tag a file with the SHA-256
of its bytes and replace it only if that tag is unchanged, by reading, comparing and writing under an
in-process lock. The steps are the same on both; only the lock differs (the fsspec backend shares its
lock with ``put_if_absent``), so the backends pass theirs in. Object stores do neither: their ETag and
``If-Match`` come from the server (``object_store.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager

from tutopanda.core.store.backends.protocol import StorageBackend, Versioned
from tutopanda.core.store.regular_file import MAX_STORE_FILE_BYTES

__all__ = ["hashed_version", "swap_if_match"]


def hashed_version(read_bytes: Callable[[str, int], bytes], path: str) -> Versioned:
    """The bytes at ``path`` (read with ``read_bytes(path, limit)``) tagged with their SHA-256.

    ``Versioned(None, None)`` when there is no file; any other ``OSError`` passes through.
    """
    try:
        data = read_bytes(path, MAX_STORE_FILE_BYTES)
    except FileNotFoundError:
        return Versioned(None, None)
    return Versioned(data, hashlib.sha256(data).hexdigest())


def swap_if_match(
    backend: StorageBackend,
    lock: AbstractContextManager[object],
    path: str,
    data: bytes,
    tag: str,
    temp: str,
) -> bool:
    """Under ``lock``: replace ``path`` with ``data`` (``backend.write_atomic`` through ``temp``) only
    if ``backend.read_versioned`` still tags it ``tag``; False (nothing written) when another writer
    moved it."""
    with lock:
        if backend.read_versioned(path).tag != tag:
            return False
        backend.write_atomic(path, data, temp, lambda step: None)
        return True
