"""Storage backends: one implementation of :class:`StorageBackend` per kind of storage, chosen once.

:func:`backend_for` picks the backend for an opened fsspec filesystem; ``StorageContext.open`` calls it,
and the rest of the store talks to ``ctx.backend`` instead of asking which kind of storage it is on.
"""

from __future__ import annotations

from typing import Any

from tutopanda.core.store.backends.fsspec_store import FsspecBackend
from tutopanda.core.store.backends.io_errors import storage_error
from tutopanda.core.store.backends.local_disk import LocalDiskBackend
from tutopanda.core.store.backends.object_store import OBJECT_STORE_SCHEMES, ObjectStoreBackend
from tutopanda.core.store.backends.protocol import StorageBackend, Versioned, WalkedFile

__all__ = [
    "OBJECT_STORE_SCHEMES",
    "FsspecBackend",
    "LocalDiskBackend",
    "ObjectStoreBackend",
    "StorageBackend",
    "Versioned",
    "WalkedFile",
    "backend_for",
    "storage_error",
]


def backend_for(fs: Any, root: str) -> StorageBackend:
    """The backend for ``fs`` rooted at ``root``: local disk, object store, or generic fsspec."""
    protocol = fs.protocol
    protocols = (protocol,) if isinstance(protocol, str) else tuple(protocol)
    if "file" in protocols:
        return LocalDiskBackend(root)
    if any(p in OBJECT_STORE_SCHEMES for p in protocols):
        return ObjectStoreBackend(fs, root)
    return FsspecBackend(fs, root)
