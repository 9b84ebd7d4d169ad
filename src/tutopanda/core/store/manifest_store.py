"""Loading and saving a movie's manifests, and moving ``current.json`` by compare-and-swap.

A save runs under the movie's ``pointer`` lock (on object stores: with conditional writes instead, see
:meth:`ManifestStore._save_conditional`) and in this order:

1. re-read ``current.json`` and compare its ``hash`` with the hash the caller started from (a mismatch
   means another writer got there first: :class:`ManifestConflictError`);
2. write ``manifests/rev-NNNN.json`` atomically (an identical existing file is accepted — a retry after a
   crash — a different one is an error: manifests are immutable);
3. write ``current.json`` atomically, naming the new file and the SHA-256 of its bytes.

A crash at any point leaves ``current.json`` naming either the old or the new complete manifest: the
manifest file is complete before the pointer can name it, and each file appears by atomic rename. A
manifest written without its pointer update is an orphan that readers ignore; :meth:`next_revision`
skips over it. Leftover temp files are ignored by readers and removed by the next save.

Before the first save, :meth:`ManifestStore.load_current` returns the synthetic empty manifest
``rev-0000`` (never ``None``), so callers need no special case.
"""

from __future__ import annotations

from dataclasses import dataclass

from tutopanda.core.errors import (
    CorruptDataError,
    ManifestConflictError,
    MovieNotInitialisedError,
    UsageError,
)
from tutopanda.core.store.atomic_file import WRITE_STEPS, StepHook, clean_temp_files, write_atomic
from tutopanda.core.store.conditional_write import put_if_absent, put_if_match, read_versioned
from tutopanda.core.store.hashing import sha256_hex
from tutopanda.core.store.locks import movie_lock
from tutopanda.core.store.manifest import Manifest, empty_manifest, manifest_bytes, parse_manifest
from tutopanda.core.store.movie_paths import MoviePaths, ensure_initialised
from tutopanda.core.store.pointer import CurrentPointer, parse_pointer, pointer_bytes
from tutopanda.core.store.revisions import EMPTY_REVISION, format_revision, is_revision, parse_revision
from tutopanda.core.store.storage import StorageContext

__all__ = ["POINTER_LOCK_TIMEOUT", "SAVE_STEPS", "ManifestSnapshot", "ManifestStore"]

POINTER_LOCK_TIMEOUT = 60.0
"""Seconds a save waits for another save of the same movie (saves take milliseconds)."""

POINTER_SWAP_ATTEMPTS = 3
"""Object stores: conditional replaces of ``current.json`` tried before giving up (a lost one re-reads)."""

SAVE_STEPS = tuple(
    f"{target}:{step}"
    for target in ("manifest", "pointer")
    for step in ("before-temp-write", "after-temp-write", "after-fsync", "after-rename")
)
"""The steps of :meth:`ManifestStore.save`, in order, as passed to the store's step hook."""


@dataclass(frozen=True)
class ManifestSnapshot:
    """The current manifest together with the pointer that named it (its hash is the CAS token)."""

    manifest: Manifest
    pointer: CurrentPointer

    @property
    def pointer_hash(self) -> str | None:
        """Pass this to :meth:`ManifestStore.save` as ``expected_pointer_hash``."""
        return self.pointer.hash


class ManifestStore:
    """Manifests of one (initialised) movie. ``hook`` observes each save step (tests inject crashes)."""

    def __init__(
        self,
        ctx: StorageContext,
        movie_id: str,
        *,
        hook: StepHook | None = None,
        paths: MoviePaths | None = None,
    ) -> None:
        """``paths``: as for :class:`~tutopanda.core.store.blob_store.BlobStore`."""
        self._ctx = ctx
        self.movie_id = movie_id
        self._paths: MoviePaths = paths or ensure_initialised(ctx, movie_id)
        self._hook = hook

    # -- reading -------------------------------------------------------------------------------

    def read_pointer(self) -> CurrentPointer:
        """The parsed ``current.json``."""
        path = self._paths.current
        try:
            data = self._ctx.read_bytes(path)
        except FileNotFoundError:
            raise MovieNotInitialisedError(
                f"movie '{self.movie_id}' has no {path}",
                f"run 'tutopanda storage init --movie {self.movie_id}' first",
            ) from None
        return parse_pointer(data, path)

    def snapshot(self) -> ManifestSnapshot:
        """The current manifest and its pointer, checked against each other."""
        pointer = self.read_pointer()
        if pointer.is_empty or pointer.manifest_path is None:
            return ManifestSnapshot(empty_manifest(), pointer)
        path = self._ctx.join(self._paths.root, pointer.manifest_path)
        try:
            data = self._ctx.read_bytes(path)
        except FileNotFoundError:
            raise CorruptDataError(
                f"current.json of movie '{self.movie_id}' names {pointer.manifest_path}, which is missing",
                "restore the file, or rewrite current.json to name the newest complete file in manifests/",
            ) from None
        if sha256_hex(data) != pointer.hash:
            raise CorruptDataError(
                f"{path} does not match the hash recorded in current.json",
                "the manifest was edited or damaged after it was saved; restore it from a backup "
                "(manifests are immutable: never edit them by hand)",
            )
        manifest = parse_manifest(data, path)
        if manifest.revision != pointer.revision:
            raise CorruptDataError(
                f"{path} holds revision {manifest.revision}, but current.json says {pointer.revision}",
                "restore the manifest file, or rewrite current.json to match it",
            )
        return ManifestSnapshot(manifest, pointer)

    def load_current(self) -> Manifest:
        """The current manifest; the empty ``rev-0000`` manifest before the first save."""
        return self.snapshot().manifest

    def load_revision(self, revision: str) -> Manifest:
        """The manifest saved as ``revision`` (``rev-0000`` is the empty manifest)."""
        if parse_revision(revision) == 0:
            return empty_manifest()
        path = self._paths.manifest(revision)
        try:
            data = self._ctx.read_bytes(path)
        except FileNotFoundError:
            raise UsageError(
                f"movie '{self.movie_id}' has no manifest {revision}",
                f"saved revisions: {', '.join(self.list_revisions()) or 'none'}",
            ) from None
        manifest = parse_manifest(data, path)
        if manifest.revision != revision:
            raise CorruptDataError(
                f"{path} holds revision {manifest.revision}", "restore the file from a backup"
            )
        return manifest

    def list_revisions(self) -> list[str]:
        """Revisions with a manifest file, oldest first (orphans of crashed saves included)."""
        revisions = [
            name.removesuffix(".json")
            for name in self._ctx.list_names(self._paths.manifests_dir)
            if name.endswith(".json") and is_revision(name.removesuffix(".json"))
        ]
        return sorted(revisions, key=parse_revision)

    def next_revision(self) -> str:
        """The revision the next save should use: one past both the pointer and every manifest file."""
        numbers = [parse_revision(rev) for rev in self.list_revisions()]
        pointer = self.read_pointer()
        if pointer.revision is not None:
            numbers.append(parse_revision(pointer.revision))
        return format_revision(max(numbers, default=0) + 1)

    # -- writing -------------------------------------------------------------------------------

    def save(self, manifest: Manifest, expected_pointer_hash: str | None) -> CurrentPointer:
        """Write ``manifest`` and make it current, if ``current.json`` still has ``expected_pointer_hash``.

        ``expected_pointer_hash`` is the :attr:`ManifestSnapshot.pointer_hash` the caller planned from
        (``None`` before the first manifest). ``manifest.base_revision`` must be the current revision.
        Returns the new pointer.
        """
        if manifest.revision == EMPTY_REVISION:
            raise UsageError(f"cannot save the synthetic {EMPTY_REVISION} manifest", "save rev-0001 or later")
        data = manifest_bytes(manifest)
        if self._ctx.backend.immutable_objects:  # no lock shared by the fleet: compare-and-swap instead
            return self._save_conditional(manifest, data, expected_pointer_hash)
        with movie_lock(self._ctx, self.movie_id, "pointer", timeout=POINTER_LOCK_TIMEOUT):
            self._check_base(manifest, self.read_pointer(), expected_pointer_hash)
            self._clean_leftovers()
            self._write_manifest(manifest.revision, data)
            new_pointer = self._pointer_for(manifest, data)
            pointer_data = pointer_bytes(new_pointer)
            write_atomic(self._ctx, self._paths.current, pointer_data, hook=self._step_hook("pointer"))
        return new_pointer

    def _save_conditional(
        self, manifest: Manifest, data: bytes, expected_pointer_hash: str | None
    ) -> CurrentPointer:
        """Object stores: the same checks, with the pointer swapped by ``If-Match`` instead of a lock.

        Whoever replaces ``current.json`` first wins; a writer whose ``If-Match`` fails re-reads the
        pointer and (since it moved) raises the same :class:`ManifestConflictError` as the locked path.
        """
        path = self._paths.current
        for _ in range(POINTER_SWAP_ATTEMPTS):
            current = read_versioned(self._ctx, path)
            if current.data is None:
                self.read_pointer()  # raises MovieNotInitialisedError
            pointer = parse_pointer(current.data or b"", path)
            self._check_base(manifest, pointer, expected_pointer_hash)
            self._write_manifest(manifest.revision, data)
            new_pointer = self._pointer_for(manifest, data)
            hook = self._step_hook("pointer")
            _run_steps(hook, path, WRITE_STEPS[:3])
            if put_if_match(self._ctx, path, pointer_bytes(new_pointer), current.tag):
                _run_steps(hook, path, WRITE_STEPS[3:])
                return new_pointer
        raise ManifestConflictError(
            f"current.json of movie '{self.movie_id}' kept changing while saving {manifest.revision}",
            "other writers are saving this movie right now; reload the current manifest and plan again",
        )

    def _check_base(
        self, manifest: Manifest, pointer: CurrentPointer, expected_pointer_hash: str | None
    ) -> None:
        """Refuse a save whose starting point is no longer current (the compare of compare-and-swap)."""
        if pointer.hash != expected_pointer_hash:
            found = f"{pointer.revision} ({pointer.hash})" if pointer.revision else "no manifest"
            raise ManifestConflictError(
                f"current manifest of movie '{self.movie_id}' changed while saving {manifest.revision}: "
                f"expected {expected_pointer_hash or 'no manifest'}, found {found}",
                "another command saved a manifest meanwhile; reload the current manifest and plan again",
            )
        if manifest.base_revision != pointer.revision:
            raise UsageError(
                f"manifest {manifest.revision} is based on {manifest.base_revision or 'nothing'}, "
                f"but the current revision is {pointer.revision or 'none'}",
                "build the new manifest from the current one (its revision is the base revision)",
            )

    def _pointer_for(self, manifest: Manifest, data: bytes) -> CurrentPointer:
        return CurrentPointer(
            revision=manifest.revision,
            manifest_path=MoviePaths.manifest_relative(manifest.revision),
            hash=sha256_hex(data),
            updated_at=self._ctx.clock.timestamp(),
        )

    def _write_manifest(self, revision: str, data: bytes) -> None:
        path = self._paths.manifest(revision)
        if self._ctx.backend.immutable_objects:  # create-only: of two racing writers of a revision, one wins
            hook = self._step_hook("manifest")
            _run_steps(hook, path, WRITE_STEPS[:3])
            if put_if_absent(self._ctx, path, data):
                _run_steps(hook, path, WRITE_STEPS[3:])
                return
        try:
            existing: bytes | None = self._ctx.read_bytes(path)
        except FileNotFoundError:
            existing = None
        if existing is None:
            self._ctx.makedirs(self._paths.manifests_dir)
            write_atomic(self._ctx, path, data, hook=self._step_hook("manifest"))
        elif existing != data:
            raise ManifestConflictError(
                f"manifest {revision} of movie '{self.movie_id}' already exists with different content",
                f"manifests are immutable; save under the next free revision ({self.next_revision()})",
            )

    def _clean_leftovers(self) -> None:
        removed = clean_temp_files(self._ctx, self._paths.manifests_dir)
        removed += clean_temp_files(self._ctx, self._paths.root)
        # plan and run records are written by this movie's builds only, under the build lock; a crash
        # can leave their temp files too (prompts/ is the user's: left to `verify --repair`)
        removed += clean_temp_files(self._ctx, self._paths.runs_dir, older_than=60.0)
        for path in removed:
            self._ctx.logger.info(f"removed leftover temp file {path}", file=path)

    def _step_hook(self, target: str) -> StepHook | None:
        hook = self._hook
        if hook is None:
            return None

        def prefixed(step: str, path: str) -> None:
            hook(f"{target}:{step}", path)

        return prefixed


def _run_steps(hook: StepHook | None, path: str, steps: tuple[str, ...]) -> None:
    """Report write steps to ``hook`` where a backend has no such steps of its own (one conditional PUT)."""
    if hook is not None:
        for step in steps:
            hook(step, path)
