"""Content-addressed storage of artefact payloads: ``blobs/<h[0:2]>/<sha256>.<ext>``.

A blob's name is the SHA-256 of its bytes, so storing the same bytes twice writes them once (the second
put only hashes), and a blob file is never modified after it appears. Puts stream: bytes go to a temp
file under ``blobs/.tmp/`` while being hashed, and the finished file is renamed into place — a reader
never sees a partial blob, and a 1 GiB payload needs no more than one chunk of memory. On object stores
(no rename) the hashing happens in a local spool first and the upload goes straight to the final name.

With ``verify_on_read`` every read re-hashes the bytes and raises :class:`CorruptDataError` naming the
blob if they no longer match (for streaming reads: when the stream has been read to the end).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, cast

from tutopanda.core.errors import BlobNotFoundError, CorruptDataError, StorageError
from tutopanda.core.store.atomic_file import clean_temp_files, temp_path_for
from tutopanda.core.store.blob_ref import BlobRef, extension_for_mime, validate_blob_hash
from tutopanda.core.store.hashing import CHUNK_SIZE, hash_stream, sha256_hex
from tutopanda.core.store.movie_paths import MoviePaths, ensure_initialised
from tutopanda.core.store.regular_file import open_regular
from tutopanda.core.store.storage import StorageContext, storage_error

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

    from tutopanda.core.store.backends.held_folder import HeldFolders
    from tutopanda.core.store.backends.protocol import StorageBackend

__all__ = ["BlobStore", "Chunk", "hash_file"]

Chunk = bytes | bytearray | memoryview
"""What a streaming put accepts from an iterator."""

SPOOL_IN_MEMORY = 8 * 1024 * 1024
"""Object stores: blobs up to this size are hashed in memory before the upload; bigger ones spill to a
local temp file (the upload streams from it either way)."""


def _file_chunks(path: str | Path) -> Iterator[memoryview]:
    """Chunks of a local file through one reused buffer (each chunk is only valid until the next)."""
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    with open_regular(path, buffering=0) as opened:  # unbuffered readinto is fastest; never a FIFO
        stream = cast(io.RawIOBase, opened)
        while True:
            count = stream.readinto(buffer)
            if not count:
                return
            yield view[:count]


def hash_file(path: str | Path) -> tuple[str, int]:
    """SHA-256 hex and size of a local file, read in 1 MiB ``readinto`` steps (runs at disk speed)."""
    digest = hashlib.sha256()
    size = 0
    for chunk in _file_chunks(path):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class _VerifyingReader(io.RawIOBase):
    """Passes reads through while hashing; at end of stream, compares with the expected hash."""

    def __init__(self, inner: IO[bytes], blob_hash: str, size: int, describe: str) -> None:
        super().__init__()
        self._inner = inner
        self._expected = (blob_hash, size)
        self._digest = hashlib.sha256()
        self._size = 0
        self._describe = describe

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._inner.read(len(view))
        if not data:
            self._check()
            return 0
        view[: len(data)] = data
        self._digest.update(data)
        self._size += len(data)
        return len(data)

    def _check(self) -> None:
        actual = (self._digest.hexdigest(), self._size)
        if actual != self._expected:
            raise CorruptDataError(
                f"{self._describe} is corrupt: its bytes hash to {actual[0]} ({actual[1]} bytes)",
                "delete that blob file; the next build will produce the artefact again",
            )

    def close(self) -> None:
        self._inner.close()
        super().close()


_DEFERRED: list[set[str]] = []
"""The folder sets of every open :meth:`BlobStore.deferred_folder_sync` block in this process.

Process-wide, not per store: a durable worker runs several batches at once, each with its own store of
the same movie, and a put in one must see a rename still waiting for its folder sync in another (see
``_is_stored``). Folders are compared by their path as the store spells it (the same storage root gives
the same spelling). Another process storing the same bytes on the same disk is not covered: its event
may be durable a block's length (milliseconds) before the folder entry it names."""
_DEFERRED_LOCK = threading.Lock()
_UNSYNCED: set[str] = set()
"""Folders whose deferred fsync failed in this process: a put that finds its blob in one fsyncs it
again (and fails if that fails) before saying it is stored, as for a folder whose sync is pending."""


class DeferredFolders(set[str]):
    """The folders of a :meth:`BlobStore.deferred_folder_sync` block, and those whose fsync failed."""

    def __init__(self) -> None:
        super().__init__()
        self.failed: set[str] = set()


class BlobStore:
    """The blob store of one (initialised) movie."""

    def __init__(
        self,
        ctx: StorageContext,
        movie_id: str,
        *,
        verify_on_read: bool = False,
        paths: MoviePaths | None = None,
    ) -> None:
        """``paths``: the movie's, from a :class:`~tutopanda.core.store.movie_store.MovieStore` that
        already checked it exists (else it is checked here)."""
        self._ctx = ctx
        self.movie_id = movie_id
        self._paths = paths or ensure_initialised(ctx, movie_id)
        self._blobs_prefix = self._paths.blobs_dir.rstrip("/") + "/"
        self.verify_on_read = verify_on_read
        self._temp_dir_made = False
        """Whether this store made (or found) its temp folder: a build stores thousands of blobs, and
        asking for the folder again before each was a syscall that could only fail (it exists)."""
        self._held: HeldFolders | None = None
        """The blob folders held open by descriptor while :meth:`held_folders` runs."""

    @property
    def _io(self) -> StorageBackend | HeldFolders:
        """Where the write path's file operations go: the held folders during a build, else the backend."""
        return self._held or self._ctx.backend

    @contextmanager
    def held_folders(self) -> Iterator[None]:
        """For the block, puts reach the blob folders through descriptors opened once (a build's
        thousands of puts): no path check per write, and no link in the store followed (see
        :mod:`~tutopanda.core.store.backends.held_folder`). The descriptors are closed when the block
        ends, so every put made through them must have finished by then (the runner waits for its
        store threads first: ``drain_then_close``). Nested blocks reuse the outer one; where the backend
        holds nothing (object stores, a link in the blob folder's path), the block changes nothing.
        """
        if self._held is not None:
            yield
            return
        try:
            held = self._ctx.backend.hold_folder(self._paths.blobs_dir)
        except OSError:  # missing or unreadable: the puts go by path and say what is wrong, as before
            held = None
        self._held = held
        try:
            yield
        finally:
            self._held = None
            if held is not None:
                held.close()

    # -- locating ------------------------------------------------------------------------------

    def path_of(self, ref: BlobRef) -> str:
        """Where the blob ``ref`` lives (whether or not it exists).

        Built directly (a build asks ~7 times per blob): a :class:`BlobRef`'s hash was validated when
        it was made (checked again here: it is cheap) and its extension comes from a fixed table.
        """
        blob_hash = validate_blob_hash(ref.hash)
        return f"{self._blobs_prefix}{blob_hash[:2]}/{blob_hash}.{ref.extension}"

    def _find(self, ref_or_hash: BlobRef | str, *, assume_named: bool = False) -> str | None:
        if isinstance(ref_or_hash, BlobRef):
            path = self.path_of(ref_or_hash)
            if assume_named or self._ctx.exists(path):
                return path
            blob_hash = ref_or_hash.hash
        else:
            blob_hash = validate_blob_hash(ref_or_hash)
        shard = self._ctx.join(self._paths.blobs_dir, blob_hash[:2])
        for name in self._ctx.list_names(shard):
            if name.startswith(blob_hash + "."):
                return self._ctx.join(shard, name)
        return None

    def _require(self, ref_or_hash: BlobRef | str, *, assume_named: bool = False) -> tuple[str, str]:
        path = self._find(ref_or_hash, assume_named=assume_named)
        blob_hash = ref_or_hash.hash if isinstance(ref_or_hash, BlobRef) else ref_or_hash
        if path is None:
            raise BlobNotFoundError(
                f"blob {blob_hash} is not in the blob store of movie '{self.movie_id}'",
                "it was deleted or belongs to another movie; rebuild the artefact that produced it",
            )
        return path, blob_hash

    def exists(self, ref_or_hash: BlobRef | str) -> bool:
        """Whether the blob is stored (by reference, or by hash under any extension)."""
        return self._find(ref_or_hash) is not None

    # -- writing -------------------------------------------------------------------------------

    def put_bytes(self, data: bytes, mime_type: str, *, sync_later: set[str] | None = None) -> BlobRef:
        """Store ``data``; if the same bytes are already stored this only hashes them.

        ``sync_later``: the set from :meth:`deferred_folder_sync`. The blob's folder is added to it
        instead of being fsynced now, and fsynced once when that block ends; record the blob only after
        it (a job storing a thousand blobs syncs each of its folders once instead of once per blob).
        """
        ref = BlobRef(hash=sha256_hex(bytes(data)), size=len(data), mime_type=mime_type)
        if not self._is_stored(ref):
            self._commit([memoryview(data)], ref, sync_later=sync_later)
        return ref

    def put_stream(
        self, source: Iterable[Chunk] | BinaryIO, mime_type: str, *, sync_later: set[str] | None = None
    ) -> BlobRef:
        """Store the bytes of an iterator of chunks or a binary file, holding one chunk at a time
        (``sync_later``: as for :meth:`put_bytes`)."""
        extension_for_mime(mime_type)
        if hasattr(source, "read"):
            reader = cast(BinaryIO, source)
            chunks: Iterable[Chunk] = iter(lambda: reader.read(CHUNK_SIZE), b"")
        else:
            chunks = source
        return self._commit(chunks, None, mime_type=mime_type, sync_later=sync_later)

    @contextmanager
    def deferred_folder_sync(self) -> Iterator[DeferredFolders]:
        """A set to pass as ``sync_later`` to the puts of the block; each folder they renamed a blob
        into is fsynced once when the block ends (raising or not), so record the blobs after it.

        Until then another put that finds one of those blobs already there fsyncs its folder itself
        before returning (its caller may record the blob at once). When a folder's fsync fails, the
        first error is raised once every folder was tried, and the set's ``failed`` names the folders
        whose blobs a power cut could lose (:meth:`lost_in` says whether a blob is one of them).
        """
        folders = DeferredFolders()
        with _DEFERRED_LOCK:
            _DEFERRED.append(folders)
        try:
            yield folders
        finally:
            try:  # every folder, even after one failed: the caller may record the blobs of the others
                failed: BaseException | None = None
                for folder in sorted(folders):
                    try:
                        self._io.sync_folder(folder)
                    except OSError as exc:
                        folders.failed.add(folder)
                        failed = failed or storage_error(exc, "making durable the blob folder", folder)
                    except BaseException as exc:
                        folders.failed.add(folder)
                        failed = failed or exc
                if failed is not None:
                    raise failed
            finally:
                with _DEFERRED_LOCK:
                    _DEFERRED[:] = [batch for batch in _DEFERRED if batch is not folders]
                    _UNSYNCED.update(folders.failed)

    def lost_in(self, ref: BlobRef, folders: DeferredFolders) -> bool:
        """Whether blob ``ref``, put in the block of ``folders``, may not survive a power cut (the
        fsync of its folder failed when the block ended)."""
        return self.path_of(ref).rpartition("/")[0] in folders.failed

    def put_file(self, path: str | Path, mime_type: str) -> BlobRef:
        """Store a local file. Already-stored content costs one read (hashing), never a copy."""
        try:
            blob_hash, size = hash_file(path)
        except FileNotFoundError:
            raise StorageError(f"cannot store {path}: no such file", "check the path") from None
        except OSError as exc:
            raise storage_error(exc, "reading", str(path)) from exc
        ref = BlobRef(hash=blob_hash, size=size, mime_type=mime_type)
        if not self._is_stored(ref):
            self._commit(_file_chunks(path), ref)
        return ref

    def _is_stored(self, ref: BlobRef) -> bool:
        """Whether ``ref`` is stored; if so (locally) its time is refreshed: a put that found its bytes
        already there counts as a fresh write for ``gc``'s grace period, as a real write would.

        With ``verify_on_read`` (a build's store) the file found is also re-hashed: a corrupt one is
        not "stored", so the put writes the good bytes over it. (Checking the size alone, a build whose
        downstream jobs take its texts from memory would commit a manifest naming corrupt bytes.)
        """
        path = self.path_of(ref)
        io_ = self._io
        try:
            stored = io_.regular_size(path) == ref.size  # a link there is not the blob
            if stored and self.verify_on_read:
                with io_.open_read(path) as stream:
                    stored = hash_stream(cast(BinaryIO, stream)) == (ref.hash, ref.size)
            if not stored:
                return False
            io_.touch(path)
            folder = path.rpartition("/")[0]
            with _DEFERRED_LOCK:
                unsynced = folder in _UNSYNCED
                pending = unsynced or any(folder in batch for batch in _DEFERRED)
            if pending:  # maybe renamed by a put whose folder sync is still to come (or failed)
                io_.sync_folder(folder)  # this put's caller may record it right away
                if unsynced:
                    with _DEFERRED_LOCK:
                        _UNSYNCED.discard(folder)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise storage_error(exc, "inspecting", path) from exc
        return True

    def _commit(
        self,
        chunks: Iterable[Chunk],
        expected: BlobRef | None,
        *,
        mime_type: str = "",
        sync_later: set[str] | None = None,
    ) -> BlobRef:
        """Write chunks to a temp file while hashing, then rename it to its content address."""
        if self._ctx.backend.immutable_objects:  # no rename there: hash first, then upload once
            return self._commit_object(chunks, expected, mime_type=mime_type)
        io_ = self._io
        temp_dir = self._paths.blob_temp_dir
        if not self._temp_dir_made:
            try:
                io_.makedirs(temp_dir)
            except OSError as exc:
                raise storage_error(exc, "creating directory", temp_dir) from exc
            self._temp_dir_made = True
        tmp = temp_path_for(self._ctx, self._ctx.join(temp_dir, "blob"), temp_dir)
        renamed = False  # once renamed, the temp file is gone: removing it could only fail
        try:
            blob_hash, size = self._write_temp(tmp, chunks)
            ref = BlobRef(hash=blob_hash, size=size, mime_type=expected.mime_type if expected else mime_type)
            if expected is not None and (blob_hash, size) != (expected.hash, expected.size):
                raise StorageError(
                    f"content changed while being stored (expected blob {expected.hash}, got {blob_hash})",
                    "make sure nothing writes to the file while it is being stored, then retry",
                )
            final = self.path_of(ref)
            if self._is_stored(ref):
                return ref
            folder = final.rpartition("/")[0]
            durable = sync_later is None
            if sync_later is not None:
                with _DEFERRED_LOCK:  # before the rename: see _is_stored
                    sync_later.add(folder)
            try:  # locally: rename, then fsync of the shard folder (now, or when the deferred block ends)
                io_.commit(tmp, final, durable=durable)
            except FileNotFoundError:  # the first blob of its shard: make the folder (only then)
                io_.makedirs(folder)
                io_.sync_folder(self._paths.blobs_dir)  # the new folder's own entry
                io_.commit(tmp, final, durable=durable)
            renamed = True
            return ref
        except OSError as exc:
            raise storage_error(exc, "writing a blob of movie", self.movie_id) from exc
        finally:
            if not renamed:
                with contextlib.suppress(OSError, StorageError):
                    io_.remove(tmp)

    def _commit_object(
        self, chunks: Iterable[Chunk], expected: BlobRef | None, *, mime_type: str = ""
    ) -> BlobRef:
        """Object stores: spool locally while hashing, then upload once to the content address.

        An object store has no rename (a "move" is a server-side copy plus a delete), so the name must be
        known before the upload: the chunks go to a local spool file (in memory up to a few MiB) while
        being hashed, and the finished spool is uploaded straight to ``blobs/<h>/<hash>.<ext>`` (multipart,
        streamed from the spool, for big blobs). A partial upload never becomes visible, and the blob is
        not uploaded at all when it is already stored.
        """
        digest = hashlib.sha256()
        size = 0
        try:
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
                for chunk in chunks:
                    digest.update(chunk)
                    spool.write(chunk)
                    size += len(chunk)
                ref = BlobRef(
                    hash=digest.hexdigest(),
                    size=size,
                    mime_type=expected.mime_type if expected else mime_type,
                )
                if expected is not None and (ref.hash, ref.size) != (expected.hash, expected.size):
                    raise StorageError(
                        f"content changed while being stored (expected blob {expected.hash}, got {ref.hash})",
                        "make sure nothing writes to the file while it is being stored, then retry",
                    )
                if expected is None and self._is_stored(ref):
                    return ref
                spool.seek(0)
                self._ctx.backend.put_stream(self.path_of(ref), cast(IO[bytes], spool))
        except OSError as exc:
            raise storage_error(exc, "writing a blob of movie", self.movie_id) from exc
        return ref

    def _write_temp(self, tmp: str, chunks: Iterable[Chunk]) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        # Locally O_CREAT|O_EXCL|O_NOFOLLOW inside the storage root, and fsync'd before the rename.
        with self._io.create_new(tmp) as write:
            for chunk in chunks:
                digest.update(chunk)
                write(chunk)
                size += len(chunk)
        return digest.hexdigest(), size

    def clean_temp(self, older_than: float = 3600.0) -> list[str]:
        """Remove temp files of interrupted puts older than ``older_than`` seconds; return their paths."""
        return clean_temp_files(self._ctx, self._paths.blob_temp_dir, older_than=older_than)

    # -- reading -------------------------------------------------------------------------------

    def get_bytes(self, ref_or_hash: BlobRef | str) -> bytes:
        """All bytes of a blob (:class:`BlobNotFoundError` if it is missing)."""
        # A reference names its file: read it straight away (one request on an object store) and look
        # for the hash under another extension only if that file is missing.
        path, blob_hash = self._require(ref_or_hash, assume_named=True)
        try:
            data = self._ctx.read_bytes(path)
        except FileNotFoundError:
            path, blob_hash = self._require(ref_or_hash)
            try:
                data = self._ctx.read_bytes(path)
            except FileNotFoundError:
                raise BlobNotFoundError(f"blob {blob_hash} vanished while being read", "retry") from None
        if self.verify_on_read and sha256_hex(data) != blob_hash:
            raise CorruptDataError(
                f"blob {blob_hash} of movie '{self.movie_id}' is corrupt: "
                f"its bytes hash to {sha256_hex(data)}",
                f"delete {path}; the next build will produce the artefact again",
            )
        return data

    @contextmanager
    def open(self, ref_or_hash: BlobRef | str) -> Iterator[IO[bytes]]:
        """A streaming binary reader for a blob; verifies at end of stream when ``verify_on_read``."""
        path, blob_hash = self._require(ref_or_hash)
        try:
            size = self._ctx.size(path)
            with self._ctx.open_read(path) as stream:
                if not self.verify_on_read:
                    yield stream
                    return
                describe = f"blob {blob_hash} of movie '{self.movie_id}' ({path})"
                raw = _VerifyingReader(stream, blob_hash, size if size >= 0 else 0, describe)
                with io.BufferedReader(raw, CHUNK_SIZE) as reader:
                    yield reader
        except FileNotFoundError:
            raise BlobNotFoundError(f"blob {blob_hash} vanished while being read", "retry") from None
