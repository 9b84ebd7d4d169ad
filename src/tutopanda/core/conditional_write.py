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
supported for sharing between machines; ``docs/scale-out.md``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from tutopanda.core.atomic_file import create_exclusive, write_atomic
from tutopanda.core.hashing import sha256_hex
from tutopanda.core.storage import StorageContext, storage_error

__all__ = ["Versioned", "put_if_absent", "put_if_match", "read_versioned"]

_local_lock = threading.Lock()
"""Serialises check-then-write on backends without server-side conditions (one process only)."""

_PRECONDITION_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})


@dataclass(frozen=True)
class Versioned:
    """A file's bytes and the tag a conditional replace must present (``None``/``None``: no file)."""

    data: bytes | None
    tag: str | None


def _lost_precondition(exc: BaseException) -> bool:
    """Whether ``exc`` (from s3fs/botocore) means "the condition did not hold", not a real failure."""
    for candidate in (exc, exc.__cause__, exc.__context__):
        response: Any = getattr(candidate, "response", None)
        if isinstance(response, dict):
            error = response.get("Error", {})
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if error.get("Code") in _PRECONDITION_CODES or status in (409, 412):
                return True
    return False


def put_if_absent(ctx: StorageContext, path: str, data: bytes) -> bool:
    """Create ``path`` with ``data`` unless something exists there; return whether this call created it."""
    if ctx.is_local:
        return create_exclusive(ctx, path, data)
    if ctx.is_object_store:
        return _conditional_put(ctx, path, data, "creating", mode="create")  # If-None-Match: *
    with _local_lock:
        if ctx.exists(path):
            return False
        write_atomic(ctx, path, data)
        return True


def _conditional_put(ctx: StorageContext, path: str, data: bytes, action: str, **condition: str) -> bool:
    """One conditional ``PUT`` on an object store; False when the condition did not hold.

    A refusal (an existing object for a create, a changed or vanished one for a swap) is checked
    against our own bytes first: see :func:`_is_ours`.
    """
    try:
        ctx.fs.pipe_file(path, data, **condition)
    except (FileExistsError, FileNotFoundError):
        return _is_ours(ctx, path, data)
    except OSError as exc:
        if _lost_precondition(exc):
            return _is_ours(ctx, path, data)
        raise storage_error(exc, action, path) from exc
    return True


def _is_ours(ctx: StorageContext, path: str, data: bytes) -> bool:
    """After a refused conditional write: whether the object holds exactly our bytes anyway.

    The client retries a PUT whose response was lost; the retry then fails its own precondition
    against the write that did land. Our bytes are unique (pointers carry a time, segments carry
    events with their own times and ids), so finding them means the write was ours.
    """
    return read_versioned(ctx, path).data == bytes(data)


def read_versioned(ctx: StorageContext, path: str) -> Versioned:
    """The bytes at ``path`` and their version tag, read together (one request on object stores)."""
    if not ctx.is_object_store:
        try:
            data = ctx.read_bytes(path)
        except FileNotFoundError:
            return Versioned(None, None)
        return Versioned(data, sha256_hex(data))
    for attempt in range(5):
        ctx.fs.invalidate_cache(path)
        try:
            with ctx.fs.open(path, "rb") as stream:
                data = stream.read()
                tag = str(stream.details.get("ETag") or stream.details.get("etag") or "")
            return Versioned(bytes(data), tag or sha256_hex(data))
        except FileNotFoundError:
            return Versioned(None, None)
        except OSError as exc:
            if type(exc).__name__ == "FileExpired" and attempt < 4:  # replaced between HEAD and GET
                time.sleep(0.01 * (attempt + 1))
                continue
            raise storage_error(exc, "reading", path) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def put_if_match(ctx: StorageContext, path: str, data: bytes, tag: str | None) -> bool:
    """Replace ``path`` with ``data`` only if its tag is still ``tag`` (``None``: only if it is absent).

    Returns ``False`` when another writer changed (or created) it first; the caller re-reads and decides.
    """
    if tag is None:
        return put_if_absent(ctx, path, data)
    if ctx.is_object_store:
        return _conditional_put(ctx, path, data, "writing", IfMatch=tag)
    with _local_lock:
        if read_versioned(ctx, path).tag != tag:
            return False
        write_atomic(ctx, path, data)
        return True
