"""The models store: model files (a local LLM's GGUF, Piper voices) fetched once, verified, kept on disk.

Why a store of its own: weights are far too big for the repository or a wheel, and a handler must never
download them behind the user's back (a 1 GB surprise). So a model reaches the machine only through an
explicit ``tutopanda models pull NAME`` (or a yes to the CLI's question), lands in a cache every process
shares, and is *ready* only once every one of its files was checked against a SHA-256 — the pinned one
from the catalogue (``providers/data/models.toml``) or, where none could be pinned, the hash the Hugging
Face hub declares for the pinned revision. Handlers then ask :meth:`ModelStore.path_of`, which is cheap
(sizes plus the marker written after the check), never a re-hash.

Layout (``$TUTOPANDA_MODELS``, else ``$TUTOPANDA_HOME/models``, else ``~/.tutopanda/models``; the CLI
exports ``TUTOPANDA_MODELS`` as ``<storage root>/models`` for a local root)::

    <models>/<name>/<file>              the verified files (a Piper voice: .onnx and .onnx.json)
    <models>/<name>/<file>.part         a download in progress (resumed with an HTTP Range request)
    <models>/<name>/.verified.json      written last, atomically: the model is ready
    <models>/.<name>.lock               one pull or remove of a model at a time (never deleted)

A wrong checksum deletes the ``.part`` file and publishes nothing; an interrupted download keeps the
``.part`` for the next pull to resume and publishes nothing either.

The folder is untrusted input (anyone with write access may plant things in it): a model folder that
is a link or leads out of the models root is refused, every file written is opened with ``O_NOFOLLOW``
and must be a regular file (:mod:`tutopanda.core.store.regular_file`), and a named pipe or a directory where
a download or the marker should be is one clean error, never a hang or a traceback.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from tutopanda.core.errors import StorageError, TutopandaError, UsageError
from tutopanda.core.store.regular_file import file_kind, open_for_append, read_regular

__all__ = [
    "CATALOGUE_ENV",
    "DEFAULT_LLM",
    "MODELS_ENV",
    "Catalogue",
    "ChecksumMismatchError",
    "ModelEntry",
    "ModelFile",
    "ModelState",
    "ModelStore",
    "ModelStoreError",
    "ProgressCallback",
    "UnknownModelError",
    "default_model_store",
    "default_models_root",
    "human_size",
    "load_catalogue",
]

MODELS_ENV = "TUTOPANDA_MODELS"
"""Folder of the models store (the CLI sets it to ``<storage root>/models`` for a local root)."""
CATALOGUE_ENV = "TUTOPANDA_MODELS_CATALOGUE"
"""A TOML file replacing the bundled catalogue (tests; a private mirror of other models)."""
DEFAULT_LLM = "qwen2.5-1.5b-instruct"
"""The local script writer's default model (never one under 1B parameters: see docs/providers.md)."""

ModelKind = Literal["llm", "piper-voice"]
ProgressCallback = Callable[[str, int, "int | None"], None]
"""``progress(file name, bytes so far, total bytes or None)``, called as bytes arrive."""

_MARKER = ".verified.json"
_LOCK = ".lock"
_PART = ".part"
_CHUNK = 1 << 20
_ATTEMPTS = 3
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class ModelStoreError(TutopandaError):
    """A model could not be fetched, verified or removed (exit 1)."""


class ChecksumMismatchError(ModelStoreError):
    """A downloaded file's bytes do not match the SHA-256 they must have; nothing was kept."""


class UnknownModelError(UsageError):
    """A name that is not in the catalogue (exit 2), with a "did you mean"."""


@dataclass(frozen=True)
class ModelFile:
    """One file of a model: its path inside the hub repository and, where pinned, its exact bytes."""

    path: str
    size: int | None = None
    sha256: str | None = None

    @property
    def local_name(self) -> str:
        """The name it is stored under in the model's folder (the last part of ``path``)."""
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ModelEntry:
    """A catalogue entry. ``filename``, ``sha256`` and ``size`` describe the primary (first) file;
    ``files`` lists them all (a Piper voice is an ``.onnx`` plus its ``.onnx.json``)."""

    name: str
    kind: ModelKind
    repo: str
    revision: str
    licence: str
    description: str
    files: tuple[ModelFile, ...]
    language: str | None = None
    default: bool = False
    approx_size: int | None = None

    @property
    def filename(self) -> str:
        return self.files[0].local_name

    @property
    def sha256(self) -> str | None:
        return self.files[0].sha256

    @property
    def size(self) -> int | None:
        """Total bytes of all files when every size is pinned, else the catalogue's approximation."""
        sizes = [f.size for f in self.files]
        if all(s is not None for s in sizes):
            return sum(s for s in sizes if s is not None)
        return self.approx_size

    @property
    def size_is_exact(self) -> bool:
        return all(f.size is not None for f in self.files)

    def url(self, file: ModelFile, endpoint: str | None = None) -> str:
        """``{endpoint}/{repo}/resolve/{revision}/{path}`` (endpoint: ``$HF_ENDPOINT`` or the hub)."""
        base = (endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")
        return f"{base}/{self.repo}/resolve/{quote(self.revision, safe='')}/{quote(file.path)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "language": self.language,
            "repo": self.repo,
            "revision": self.revision,
            "licence": self.licence,
            "description": self.description,
            "default": self.default,
            "size": self.size,
            "sizeExact": self.size_is_exact,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
        }


@dataclass(frozen=True)
class Catalogue:
    """The models that can be pulled, by name, in catalogue order."""

    entries: tuple[ModelEntry, ...]
    source: str = "the bundled catalogue"

    def get(self, name: str) -> ModelEntry:
        """The entry called ``name``; :class:`UnknownModelError` with a "did you mean" otherwise."""
        for entry in self.entries:
            if entry.name == name:
                return entry
        import difflib

        names = [entry.name for entry in self.entries]
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else f"known models: {', '.join(names)}"
        raise UnknownModelError(f"unknown model '{name}'", f"{hint} ('tutopanda models list' shows them all)")

    def find(self, *, kind: ModelKind | None = None, language: str | None = None) -> list[ModelEntry]:
        """Entries of ``kind`` (and spoken ``language``: ``fr`` matches ``fr`` and ``fr-CA``)."""
        found = []
        for entry in self.entries:
            if kind is not None and entry.kind != kind:
                continue
            if language is not None:
                wanted = language.lower().replace("_", "-")
                have = (entry.language or "").lower().replace("_", "-")
                if not (have == wanted or have.split("-")[0] == wanted.split("-")[0]):
                    continue
            found.append(entry)
        return found

    @property
    def default_llm(self) -> ModelEntry | None:
        """The entry marked ``default = true`` among the LLMs (else the first LLM)."""
        llms = self.find(kind="llm")
        return next((e for e in llms if e.default), llms[0] if llms else None)


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read a catalogue TOML: ``path``, else ``$TUTOPANDA_MODELS_CATALOGUE``, else the bundled one."""
    chosen = path if path is not None else os.environ.get(CATALOGUE_ENV) or None
    if chosen is None:
        text = resources.files("tutopanda.providers").joinpath("data/models.toml").read_text(encoding="utf-8")
        return _parse_catalogue(text, "the bundled catalogue")
    try:
        text = Path(chosen).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot read the models catalogue {chosen}: {exc.strerror or exc}",
            f"fix or unset {CATALOGUE_ENV}",
        ) from exc
    return _parse_catalogue(text, str(chosen))


def _parse_catalogue(text: str, source: str) -> Catalogue:
    def bad(problem: str) -> UsageError:
        return UsageError(f"models catalogue {source}: {problem}", "fix the catalogue file")

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise bad(str(exc)) from exc
    entries: list[ModelEntry] = []
    for index, raw in enumerate(data.get("model", []), start=1):
        if not isinstance(raw, dict):
            raise bad(f"model #{index} is not a table")
        try:
            name = str(raw["name"])
            kind = raw["kind"]
            files_raw = raw["file"]
            repo = str(raw["repo"])
            revision = str(raw["revision"])
        except KeyError as exc:
            raise bad(f"model #{index} has no {exc.args[0]}") from None
        if not _NAME.match(name) or any(e.name == name for e in entries):
            raise bad(f"model #{index}: name '{name}' is invalid or repeated")
        if kind not in ("llm", "piper-voice"):
            raise bad(f"model {name}: kind must be 'llm' or 'piper-voice', not {kind!r}")
        if not isinstance(files_raw, list) or not files_raw:
            raise bad(f"model {name}: needs at least one [[model.file]]")
        files = []
        for file_raw in files_raw:
            file_path = str(file_raw.get("path", ""))
            sha = file_raw.get("sha256")
            size = file_raw.get("size")
            local = file_path.rsplit("/", 1)[-1]
            if not file_path or ".." in file_path.split("/") or not _NAME.match(local):
                raise bad(f"model {name}: invalid file path {file_path!r}")
            if sha is not None and not _SHA256.match(str(sha)):
                raise bad(f"model {name}: sha256 of {file_path} is not 64 lowercase hex digits")
            if size is not None and (not isinstance(size, int) or size <= 0):
                raise bad(f"model {name}: size of {file_path} must be a positive integer")
            files.append(ModelFile(file_path, size, str(sha) if sha is not None else None))
        if len({f.local_name for f in files}) != len(files):
            raise bad(f"model {name}: two files share a name")
        approx = raw.get("approx_size")
        entries.append(
            ModelEntry(
                name=name,
                kind=kind,
                repo=repo,
                revision=revision,
                licence=str(raw.get("licence", "unknown")),
                description=str(raw.get("description", "")),
                files=tuple(files),
                language=str(raw["language"]) if raw.get("language") else None,
                default=bool(raw.get("default", False)),
                approx_size=int(approx) if isinstance(approx, int) else None,
            )
        )
    return Catalogue(tuple(entries), source)


@dataclass(frozen=True)
class ModelState:
    """What :meth:`ModelStore.list` reports for one catalogue entry."""

    entry: ModelEntry
    installed: bool
    path: Path | None
    partial_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.entry.to_dict(),
            "installed": self.installed,
            "path": str(self.path) if self.path else None,
            "partialBytes": self.partial_bytes,
        }


def default_models_root() -> Path:
    """``$TUTOPANDA_MODELS``, else ``$TUTOPANDA_HOME/models``, else ``~/.tutopanda/models``."""
    explicit = os.environ.get(MODELS_ENV)
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("TUTOPANDA_HOME")
    if home and "://" not in home:
        return Path(home).expanduser() / "models"
    return Path.home() / ".tutopanda" / "models"


def default_model_store() -> ModelStore:
    """The store at :func:`default_models_root` with the catalogue of :func:`load_catalogue`."""
    return ModelStore(default_models_root(), catalogue=load_catalogue())


def human_size(size: int | None) -> str:
    """``1.1 GB``, ``63 MB``, ``?`` (decimal units, as download sizes are usually given)."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit in ("B", "KB") or value >= 10 else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover


@dataclass
class _Verified:
    sha256: str
    size: int
    method: str


@dataclass
class ModelStore:
    """The cache of model files under ``root``; see the module docstring for the layout."""

    root: Path
    catalogue: Catalogue = field(default_factory=load_catalogue)
    timeout: float = 30.0

    # -- reading (cheap; used by handlers) ---------------------------------------------------------------

    def path_of(self, name: str) -> Path | None:
        """The primary file of ``name`` when it was pulled and verified, else ``None``.

        Cheap: checks the marker written after verification (the SHA-256 checked, per file) against the
        catalogue's pins and each file's size on disk; it never re-hashes gigabytes. A model folder that
        is a link (or leads out of the models root) raises :class:`ModelStoreError` rather than handing
        a handler weights from wherever the link points.
        """
        entry = self.catalogue.get(name)
        folder = self._folder(entry)
        marker = self._read_marker(entry)
        if marker is None:
            return None
        for file in entry.files:
            record = marker.get(file.local_name)
            if record is None:
                return None
            if file.sha256 is not None and record.get("sha256") != file.sha256:
                return None  # the catalogue's pin changed since this copy was verified
            expected_size = record.get("size")
            if file.size is not None and expected_size != file.size:
                return None
            if _regular_size(folder / file.local_name) != expected_size:
                return None  # missing, resized, or replaced by a link or something not a file
        return folder / entry.filename

    def list(self) -> builtins.list[ModelState]:
        """Every catalogue entry with whether it is installed (and bytes of an unfinished download)."""
        states = []
        for entry in self.catalogue.entries:
            path = self.path_of(entry.name)
            partial = 0
            if path is None:
                folder = self._folder(entry)
                for file in entry.files:
                    partial += _regular_size(folder / (file.local_name + _PART)) or 0
            states.append(ModelState(entry, path is not None, path, partial))
        return states

    # -- writing ----------------------------------------------------------------------------------------

    def pull(self, name: str, progress: ProgressCallback | None = None) -> Path:
        """Download (or resume) every file of ``name``, verify each, then publish; returns its path.

        Already installed: returns at once without touching the network. Raises
        :class:`ChecksumMismatchError` (the ``.part`` is deleted) or :class:`ModelStoreError` (an
        interrupted download keeps its ``.part`` for the next pull to resume). Nothing is ever published
        unverified: the model is ready only once its marker is written, after every file passed.
        """
        entry = self.catalogue.get(name)
        existing = self.path_of(name)
        if existing is not None:
            return existing
        folder = self._folder(entry)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelStoreError(
                f"cannot create the models folder {folder}: {exc.strerror or exc}",
                f"check the permissions, or set {MODELS_ENV} to a writable folder",
            ) from exc
        with self._locked(entry):
            existing = self.path_of(name)  # another process may have finished it meanwhile
            if existing is not None:
                return existing
            folder = self._folder(entry)  # checked again under the lock: no link crept in
            self._check_space(entry, folder)
            for file in entry.files:  # published by a pull that stopped before its marker: check again
                final, part = folder / file.local_name, folder / (file.local_name + _PART)
                if _regular_size(final) is not None and not os.path.lexists(part):
                    final.replace(part)
            verified: dict[str, _Verified] = {}
            import httpx

            from tutopanda import __version__

            with httpx.Client(
                follow_redirects=True,
                timeout=httpx.Timeout(self.timeout, read=max(self.timeout, 60.0)),
                headers={"User-Agent": f"tutopanda/{__version__}"},
            ) as client:
                for file in entry.files:
                    verified[file.local_name] = self._fetch(client, entry, file, progress)
            self._publish(entry, folder, verified)
        path = self.path_of(name)
        if path is None:  # pragma: no cover - a concurrent remove between publish and here
            raise ModelStoreError(f"model {name} vanished right after it was installed", "pull it again")
        return path

    def remove(self, name: str) -> bool:
        """Delete ``name``'s files (and any unfinished download). Returns whether anything was there.

        The lock file lives beside the model folder and is never deleted: a process waiting on it must
        contend for the same file as the next one, or two pulls could each hold "the" lock.
        """
        entry = self.catalogue.get(name)
        if not os.path.lexists(self._folder(entry)):  # _folder refused a link before this
            return False
        with self._locked(entry):
            folder = self._folder(entry)  # checked again under the lock
            if not os.path.lexists(folder):
                return False
            with contextlib.suppress(FileNotFoundError):
                (folder / _MARKER).unlink()  # first: from here on the model is not ready
            found = False
            try:
                for child in folder.iterdir():
                    found = True
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)  # never follows a link inside it
                    else:
                        child.unlink()  # a link is removed itself, not what it points at
            except OSError as exc:
                raise ModelStoreError(
                    f"cannot remove model {entry.name} from {folder}: {exc.strerror or exc}",
                    "check the folder's permissions, then run the command again",
                ) from exc
            with contextlib.suppress(OSError):
                folder.rmdir()
        return found

    def note_declined(self, name: str) -> None:
        """Remember (``<root>/.declined-<name>``) that the user said no to downloading ``name``.

        Created with ``O_NOFOLLOW`` rather than ``touch()``, which would follow a link planted at that
        name and create a file wherever it points. Only a courtesy: a refusal is silent (we ask again).
        """
        with contextlib.suppress(OSError, StorageError):
            self.root.mkdir(parents=True, exist_ok=True)
            os.close(open_for_append(self.root / f".declined-{name}"))

    # -- internals --------------------------------------------------------------------------------------

    def _folder(self, entry: ModelEntry) -> Path:
        """``<root>/<name>``, refused when it is a link, not a folder, or leads out of the root.

        Why: every read, download, lock and delete of a model goes through this folder; a link planted
        there would carry a ``remove`` (emptying a folder elsewhere) or a ``pull`` out of the store.
        """
        folder = self.root / entry.name
        try:
            info = os.lstat(folder)
        except FileNotFoundError:
            return folder
        except OSError as exc:
            raise ModelStoreError(
                f"cannot read the model folder {folder}: {exc.strerror or exc}",
                "check the models folder's permissions",
            ) from exc
        fix = f"delete it (rm {folder}) and run 'tutopanda models pull {entry.name}' again"
        if stat.S_ISLNK(info.st_mode):
            raise ModelStoreError(f"the model folder {folder} is a link; refusing to follow it", fix)
        if not stat.S_ISDIR(info.st_mode):
            raise ModelStoreError(f"the model folder {folder} is {file_kind(info.st_mode)}", fix)
        if not folder.resolve().is_relative_to(self.root.resolve()):
            raise ModelStoreError(f"the model folder {folder} leads out of the models root {self.root}", fix)
        return folder

    def _open_for_writing(self, entry: ModelEntry, path: Path) -> int:
        """:func:`open_for_append` on ``path`` (no link followed, regular files only, never blocking),
        its refusals turned into a :class:`ModelStoreError` whose hint is about models, not movies."""
        fix = f"delete {path} and run 'tutopanda models pull {entry.name}' again"
        try:
            return open_for_append(path)
        except StorageError as exc:
            raise ModelStoreError(exc.message, fix) from exc
        except OSError as exc:
            raise ModelStoreError(f"cannot write {path}: {exc.strerror or exc}", fix) from exc

    @contextlib.contextmanager
    def _locked(self, entry: ModelEntry) -> Iterator[None]:
        """Hold ``<root>/.<name>.lock`` (an OS lock the kernel drops if we die) for a pull or remove.

        The file sits outside the model folder and is never deleted, so everyone locks the same inode.
        It is opened with ``O_NOFOLLOW`` and locked with ``flock`` on that descriptor, rather than through
        ``filelock``, whose open truncates whatever a link planted at the lock's name points at.
        """
        import fcntl

        fd = self._open_for_writing(entry, self.root / f".{entry.name}{_LOCK}")
        try:
            deadline = time.monotonic() + 1.0
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise ModelStoreError(
                            f"another tutopanda process is downloading or removing model {entry.name}",
                            "wait for it to finish, then try again",
                        ) from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _read_marker(self, entry: ModelEntry) -> dict[str, dict[str, Any]] | None:
        """The marker's per-file records, or ``None`` when it is missing, not a regular file or garbage."""
        try:
            data = json.loads(read_regular(self._folder(entry) / _MARKER, limit=1 << 20))
        except (OSError, ValueError, StorageError):
            return None
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, dict):
            return None
        return {k: v for k, v in files.items() if isinstance(v, dict)}

    def _publish(self, entry: ModelEntry, folder: Path, verified: Mapping[str, _Verified]) -> None:
        """Write the marker's temp file, then rename every ``.part`` to its name, then the marker.

        The temp file is written first (no link followed) so that a planted link, pipe or folder at its
        name stops the pull before any file is renamed: nothing is published half-way.
        """
        record = {
            "name": entry.name,
            "repo": entry.repo,
            "revision": entry.revision,
            "verifiedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "files": {
                name: {"sha256": v.sha256, "size": v.size, "verifiedBy": v.method}
                for name, v in verified.items()
            },
        }
        temp = folder / (_MARKER + ".tmp")
        fd = self._open_for_writing(entry, temp)
        try:
            os.ftruncate(fd, 0)
            _write_all(fd, json.dumps(record, indent=2, sort_keys=True).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        targets = [folder / file.local_name for file in entry.files] + [folder / _MARKER]
        for target in targets:  # a folder there would fail a rename half-way: refuse before any
            with contextlib.suppress(OSError):
                if stat.S_ISDIR(os.lstat(target).st_mode):
                    raise ModelStoreError(
                        f"{target} is a directory; refusing to install {entry.name} over it",
                        f"delete it and run 'tutopanda models pull {entry.name}' again",
                    )
        try:
            for file in entry.files:
                (folder / (file.local_name + _PART)).replace(folder / file.local_name)
            temp.replace(folder / _MARKER)
        except OSError as exc:
            raise ModelStoreError(
                f"cannot install {entry.name} in {folder}: {exc.strerror or exc}",
                f"run 'tutopanda models pull {entry.name}' again",
            ) from exc

    def _check_space(self, entry: ModelEntry, folder: Path) -> None:
        needed = 0
        for file in entry.files:
            if file.size is None:
                continue
            have = _regular_size(folder / (file.local_name + _PART)) or 0
            needed += max(file.size - have, 0)
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            return
        if needed > free:
            raise ModelStoreError(
                f"model {entry.name} needs {human_size(needed)} more, "
                f"but {folder} has {human_size(free)} free",
                f"free some space, or set {MODELS_ENV} to a folder on a larger disk",
            )

    def _fetch(
        self, client: Any, entry: ModelEntry, file: ModelFile, progress: ProgressCallback | None
    ) -> _Verified:
        """Download ``file`` into its ``.part`` (resuming), then verify it; returns what was checked.

        The ``.part`` is opened once, without following a link and only if it is a regular file; every
        size (the resume offset, the final check) and the hash are taken from that descriptor, so a link
        swapped in meanwhile cannot redirect the bytes or the Range.
        """
        import httpx

        part = self._folder(entry) / (file.local_name + _PART)
        url = entry.url(file)
        declared: dict[str, str] = {}
        last_error: Exception | None = None
        fd = self._open_for_writing(entry, part)
        try:
            for _attempt in range(_ATTEMPTS):
                try:
                    done = self._download(client, url, fd, part, file, progress, declared)
                except httpx.HTTPError as exc:
                    last_error = exc
                    continue
                if done:
                    return self._verify(entry, file, fd, part, declared)
            have = os.fstat(fd).st_size
        finally:
            os.close(fd)
        total = f" of {human_size(file.size)}" if file.size else ""
        reason = f"{type(last_error).__name__}: {last_error}" if last_error else "incomplete"
        raise ModelStoreError(
            f"download of {entry.name} ({file.local_name}) interrupted at {human_size(have)}{total} "
            f"({_one_line(reason)})",
            f"run 'tutopanda models pull {entry.name}' again: it resumes where it stopped",
        )

    def _download(
        self,
        client: Any,
        url: str,
        fd: int,
        part: Path,
        file: ModelFile,
        progress: ProgressCallback | None,
        declared: dict[str, str],
    ) -> bool:
        """One request: append to ``fd`` (the ``.part``) from where it stops. True when it is complete."""
        offset = os.fstat(fd).st_size
        if file.size is not None and offset > file.size:
            os.ftruncate(fd, 0)
            offset = 0
        if file.size is not None and offset == file.size and (file.sha256 or "sha256" in declared):
            return True  # complete already, and a hash to check it against is known
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        with client.stream("GET", url, headers=headers) as response:
            declared.update(_declared_hashes(response))
            status = response.status_code
            if status == 416 and offset:  # nothing past our end: complete, or the part is bad
                if file.size is None or offset == file.size or _total_from_range(response) == offset:
                    return True
                os.ftruncate(fd, 0)
                return False
            if status == 404:
                raise ModelStoreError(
                    f"{url} was not found (HTTP 404)",
                    "the catalogue entry may be outdated; check the model's repository on the hub",
                )
            if status in (401, 403):
                raise ModelStoreError(
                    f"{url} refused the download (HTTP {status})",
                    "the repository may be gated or private; download it by hand from the hub",
                )
            if status not in (200, 206):
                raise ModelStoreError(
                    f"{url} answered HTTP {status}", "try again later, or check HF_ENDPOINT"
                )
            if status == 206:
                content_range = response.headers.get("content-range", "")
                if not content_range.startswith(f"bytes {offset}-"):
                    raise ModelStoreError(
                        f"{url} sent the wrong part of the file ({content_range or 'no Content-Range'})",
                        f"delete {part} and pull again",
                    )
                total = _total_from_range(response)
            else:
                offset = 0  # the server ignored the Range: start over
                os.ftruncate(fd, 0)
                length = response.headers.get("content-length")
                total = int(length) if length and length.isdigit() else None
            if total is None:
                total = file.size
            if file.size is not None and total is not None and total != file.size:
                raise ModelStoreError(
                    f"{url} is {total} bytes, but the catalogue pins {file.size}",
                    "the catalogue entry may be outdated; nothing was installed",
                )
            done = offset
            if progress is not None:
                progress(file.local_name, done, total)
            for chunk in response.iter_bytes():  # as received: a cut keeps every byte
                done += len(chunk)
                if total is not None and done > total:
                    _discard(fd, part)
                    raise ModelStoreError(
                        f"{url} sent more than the {total} bytes it announced", "pull it again"
                    )
                _write_all(fd, chunk)
                if progress is not None:
                    progress(file.local_name, done, total)
            os.fsync(fd)
            return total is None or done == total

    def _verify(
        self, entry: ModelEntry, file: ModelFile, fd: int, part: Path, declared: Mapping[str, str]
    ) -> _Verified:
        """Check ``fd`` (the ``.part``) against the pinned SHA-256, else the hub's declared hash;
        delete it if wrong."""
        size = os.fstat(fd).st_size
        sha256 = _fd_digest(fd, hashlib.sha256())

        def wrong(expected: str, actual: str, what: str) -> ChecksumMismatchError:
            _discard(fd, part)
            return ChecksumMismatchError(
                f"{entry.name}: {file.local_name} has the wrong checksum ({what} {actual[:12]}…, "
                f"expected {expected[:12]}…); the download was deleted",
                f"run 'tutopanda models pull {entry.name}' again; if it keeps failing, the file on the "
                "server changed or the connection is being tampered with",
            )

        if file.size is not None and size != file.size:
            _discard(fd, part)
            raise ChecksumMismatchError(
                f"{entry.name}: {file.local_name} is {size} bytes, expected {file.size}; "
                "the download was deleted",
                f"run 'tutopanda models pull {entry.name}' again",
            )
        if file.sha256 is not None:
            if sha256 != file.sha256:
                raise wrong(file.sha256, sha256, "SHA-256")
            return _Verified(sha256, size, "pinned-sha256")
        if "sha256" in declared:
            if sha256 != declared["sha256"]:
                raise wrong(declared["sha256"], sha256, "SHA-256")
            return _Verified(sha256, size, "hub-sha256")
        if "git-sha1" in declared:
            git = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
            blob = _fd_digest(fd, git)
            if blob != declared["git-sha1"]:
                raise wrong(declared["git-sha1"], blob, "git SHA-1")
            return _Verified(sha256, size, "hub-git-sha1")
        _discard(fd, part)
        raise ModelStoreError(
            f"{entry.name}: cannot verify {file.local_name}: the catalogue pins no SHA-256 and the server "
            "declared none; the download was deleted",
            "check HF_ENDPOINT (a mirror must forward the hub's X-Linked-Etag/ETag headers)",
        )


def _declared_hashes(response: Any) -> dict[str, str]:
    """The hashes the hub declares for a resolved file, from the first (hub) response of the chain.

    ``X-Linked-Etag`` on an LFS file's redirect is its SHA-256; a small file stored in git itself is
    answered directly with ``ETag`` = its git blob SHA-1. A CDN's own ETag after the redirect is ignored.
    """
    chain = [*response.history, response]
    first = chain[0]
    found: dict[str, str] = {}
    for candidate in chain:
        linked = _etag_value(candidate.headers.get("x-linked-etag"))
        if linked and _SHA256.match(linked):
            found["sha256"] = linked
            return found
    etag = _etag_value(first.headers.get("etag"))
    if etag and _SHA256.match(etag) and not first.is_redirect:
        found["sha256"] = etag
    elif etag and _SHA1.match(etag) and not first.is_redirect:
        found["git-sha1"] = etag
    return found


def _etag_value(raw: str | None) -> str | None:
    if not raw:
        return None
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"').lower()


def _total_from_range(response: Any) -> int | None:
    match = re.search(r"/(\d+)\s*$", response.headers.get("content-range", ""))
    return int(match.group(1)) if match else None


def _regular_size(path: Path) -> int | None:
    """The size of the regular file at ``path`` (a link is not followed), else ``None``."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _discard(fd: int, part: Path) -> None:
    """Empty the download we hold open and delete its name (the name itself, never a link's target)."""
    os.ftruncate(fd, 0)
    part.unlink(missing_ok=True)


def _fd_digest(fd: int, digest: Any) -> str:
    """``digest`` fed every byte of ``fd`` from the start (``pread``: the append offset is untouched)."""
    offset = 0
    while chunk := os.pread(fd, _CHUNK, offset):
        digest.update(chunk)
        offset += len(chunk)
    return str(digest.hexdigest())


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]
