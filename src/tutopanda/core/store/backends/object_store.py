"""The object-store backend (S3 and compatibles): conditional writes instead of locks and renames.

Many workers on many machines share one bucket. There is no lock they all see, no rename and no append,
so what the store needs from a lock is done with *conditional writes*, which the server checks:

* :meth:`ObjectStoreBackend.put_if_absent` — ``PUT`` with ``If-None-Match: *``: exactly one of several
  concurrent writers creates the object; the others learn it exists (event-log segments, manifests).
* :meth:`ObjectStoreBackend.read_versioned` + :meth:`ObjectStoreBackend.put_if_match` — read an object
  with its ETag and replace it only if the tag is unchanged (``If-Match``): the ``current.json`` pointer.
  An ETag is a hash of the content, so a value that returned to an earlier state would match a stale
  tag; the pointer is safe from that because every save names a strictly newer revision.

Everything else is the generic fsspec behaviour (``fsspec_store.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import time
from typing import IO, Any

from tutopanda.core.store.backends.fsspec_store import FsspecBackend
from tutopanda.core.store.backends.io_errors import storage_error
from tutopanda.core.store.backends.protocol import Versioned

__all__ = ["OBJECT_STORE_SCHEMES", "ObjectStoreBackend"]

OBJECT_STORE_SCHEMES = frozenset({"s3", "s3a"})
"""URL schemes of object stores with server-side conditional writes (``If-None-Match``/``If-Match``)."""

_CHUNK = 1024 * 1024

_PRECONDITION_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})


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


class ObjectStoreBackend(FsspecBackend):
    """A storage root on a shared object store (see the module docstring)."""

    immutable_objects = True

    def put_stream(self, path: str, source: IO[bytes]) -> None:
        """One upload (multipart for big files); an interrupted one is aborted, never committed."""
        stream = self.fs.open(path, "wb")
        try:
            shutil.copyfileobj(source, stream, _CHUNK)
        except BaseException:  # never publish a prefix under the name
            with contextlib.suppress(Exception):
                stream.discard()  # aborts the (multipart) upload; close() would commit it
            stream.closed = True  # so that nothing (not even __del__) commits the prefix
            raise
        stream.close()

    def put_if_absent(self, path: str, data: bytes, temp: str) -> bool:
        return self._conditional_put(path, data, "creating", mode="create")  # If-None-Match: *

    def put_if_match(self, path: str, data: bytes, tag: str, temp: str) -> bool:
        return self._conditional_put(path, data, "writing", IfMatch=tag)

    def _conditional_put(self, path: str, data: bytes, action: str, **condition: str) -> bool:
        """One conditional ``PUT``; False when the condition did not hold.

        A refusal (an existing object for a create, a changed or vanished one for a swap) is checked
        against our own bytes first: see :meth:`_is_ours`.
        """
        try:
            self.fs.pipe_file(path, data, **condition)
        except (FileExistsError, FileNotFoundError):
            return self._is_ours(path, data)
        except OSError as exc:
            if _lost_precondition(exc):
                return self._is_ours(path, data)
            raise storage_error(exc, action, path) from exc
        return True

    def _is_ours(self, path: str, data: bytes) -> bool:
        """After a refused conditional write: whether the object holds exactly our bytes anyway.

        The client retries a PUT whose response was lost; the retry then fails its own precondition
        against the write that did land. Our bytes are unique (pointers carry a time, segments carry
        events with their own times and ids), so finding them means the write was ours.
        """
        return self.read_versioned(path).data == bytes(data)

    def read_versioned(self, path: str) -> Versioned:
        """Bytes and ETag in one request (retried when the object is replaced between HEAD and GET)."""
        for attempt in range(5):
            self.fs.invalidate_cache(path)
            try:
                with self.fs.open(path, "rb") as stream:
                    data = stream.read()
                    tag = str(stream.details.get("ETag") or stream.details.get("etag") or "")
                return Versioned(bytes(data), tag or hashlib.sha256(data).hexdigest())
            except FileNotFoundError:
                return Versioned(None, None)
            except OSError as exc:
                if type(exc).__name__ == "FileExpired" and attempt < 4:  # replaced between HEAD and GET
                    time.sleep(0.01 * (attempt + 1))
                    continue
                raise storage_error(exc, "reading", path) from exc
        raise AssertionError("unreachable")  # pragma: no cover
