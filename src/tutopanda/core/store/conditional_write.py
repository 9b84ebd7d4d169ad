"""Create-only and compare-and-swap writes of whole files, on every storage backend.

Many workers on many machines share one object store (S3 and compatibles). There is no lock they all
see, no rename and no append, so the two things the store needs from a lock are done with *conditional
writes* instead, which S3 checks on the server:

* :func:`put_if_absent` — ``PUT`` with ``If-None-Match: *``: exactly one of several concurrent writers
  creates the object; the others learn it exists. Event-log segments and manifest files use it.
* :func:`read_versioned` + :func:`put_if_match` — read an object with its version tag (the ETag) and
  replace it only if the tag is unchanged (``If-Match``). The ``current.json`` pointer uses it. An ETag
  is a hash of the content, so a value that returned to an earlier state would match a stale tag; the
  pointer is safe from that because every save names a strictly newer revision.

On the local filesystem :func:`put_if_absent` is a hard-link create (atomic, see ``atomic_file``) and
the pointer keeps using its file lock; ``memory://`` and other backends get check-then-write under an
in-process lock (they are private to one process, or — for backends without conditional writes — not
supported for sharing between machines; ``docs/scale-out.md``). Each of these lives in its backend
(:mod:`tutopanda.core.store.backends`); this module is the store's entry point to them.
"""

from __future__ import annotations

from tutopanda.core.store.atomic_file import temp_path_for
from tutopanda.core.store.backends import Versioned
from tutopanda.core.store.storage import StorageContext, storage_error

__all__ = ["Versioned", "put_if_absent", "put_if_match", "read_versioned"]


def put_if_absent(ctx: StorageContext, path: str, data: bytes) -> bool:
    """Create ``path`` with ``data`` unless something exists there; return whether this call created it."""
    try:
        return ctx.backend.put_if_absent(path, data, temp_path_for(ctx, path))
    except OSError as exc:
        raise storage_error(exc, "creating", path) from exc


def read_versioned(ctx: StorageContext, path: str) -> Versioned:
    """The bytes at ``path`` and their version tag, read together (one request on object stores)."""
    try:
        return ctx.backend.read_versioned(path)
    except OSError as exc:
        raise storage_error(exc, "reading", path) from exc


def put_if_match(ctx: StorageContext, path: str, data: bytes, tag: str | None) -> bool:
    """Replace ``path`` with ``data`` only if its tag is still ``tag`` (``None``: only if it is absent).

    Returns ``False`` when another writer changed (or created) it first; the caller re-reads and decides.
    """
    if tag is None:
        return put_if_absent(ctx, path, data)
    try:
        return ctx.backend.put_if_match(path, data, tag, temp_path_for(ctx, path))
    except OSError as exc:
        raise storage_error(exc, "writing", path) from exc
