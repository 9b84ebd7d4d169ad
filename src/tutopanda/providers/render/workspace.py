"""Where renders happen: a scratch directory per job, upstream artefacts placed in it, and the outbox.

Why: ffmpeg must run with ``cwd`` = the work directory and bare file names (filter arguments break on
``:`` and ``\\`` in paths), so every input is placed there under a simple name — a symlink when the blob
store is on local disk (no copy of a large video), else streamed from the store in chunks.

Finished MP4s go to the *outbox*, a per-process directory whose files the handler returns as
``ProducedArtefact(file=...)``: the runner streams them into the blob store after ``produce`` returns,
so they must outlive the job's scratch directory. The runner deletes each file once it is stored; the
outbox itself (and anything a failed run left in it) is removed when the process exits.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile
import threading
import wave
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tutopanda.core.engine.provider_contract import ArtefactInput
from tutopanda.providers.render.ffmpeg import probe

__all__ = [
    "artefact_groups",
    "audio_seconds",
    "outbox_file",
    "place",
    "segment_index",
    "work_directory",
]

_COPY_CHUNK = 1024 * 1024
_outbox_lock = threading.Lock()
_outbox: Path | None = None


def _outbox_dir() -> Path:
    global _outbox
    with _outbox_lock:
        if _outbox is None or not _outbox.is_dir():
            _outbox = Path(tempfile.mkdtemp(prefix="tutopanda-render-out-"))
            atexit.register(shutil.rmtree, _outbox, True)
        return _outbox


def outbox_file(suffix: str) -> Path:
    """A fresh, empty path in the outbox for a finished artefact (kept until the process exits)."""
    handle, name = tempfile.mkstemp(suffix=suffix, dir=_outbox_dir())
    os.close(handle)
    return Path(name)


@contextlib.contextmanager
def work_directory(prefix: str) -> Iterator[Path]:
    """A scratch directory for one job, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"tutopanda-{prefix}-") as name:
        yield Path(name)


def place(artefact: ArtefactInput, directory: Path, name: str) -> Path:
    """Put ``artefact`` in ``directory`` as ``name``: a symlink to its local blob, else a streamed copy."""
    target = directory / name
    if artefact.local_path and Path(artefact.local_path).is_file():
        with contextlib.suppress(OSError):
            target.symlink_to(Path(artefact.local_path).resolve())
            return target
    with artefact.open() as source, target.open("wb") as sink:
        shutil.copyfileobj(source, sink, _COPY_CHUNK)
    return target


def audio_seconds(path: Path) -> float:
    """Length of an audio file: from the WAV header when it is PCM WAV, else probed with ffmpeg."""
    try:
        with wave.open(str(path), "rb") as reader:
            rate = reader.getframerate()
            if rate > 0:
                return reader.getnframes() / rate
    except (wave.Error, EOFError, OSError):
        pass
    duration = probe(path).duration
    return duration or 0.0


def artefact_groups(value: Any) -> list[list[ArtefactInput]]:
    """A fan-in input as groups of artefacts (a single artefact is one group of one; junk is none)."""
    if isinstance(value, ArtefactInput):
        return [[value]]
    if not isinstance(value, list | tuple):
        return []
    groups: list[list[ArtefactInput]] = []
    for item in value:
        members = list(item) if isinstance(item, list | tuple) else [item]
        groups.append([member for member in members if isinstance(member, ArtefactInput)])
    return groups


def segment_index(loop_indices: Mapping[str, int], *ids: str) -> int:
    """The job's segment: the ``segment`` loop index, else the first ``[n]`` of the first id with one."""
    if "segment" in loop_indices:
        return int(loop_indices["segment"])
    for artefact_id in ids:
        if match := re.search(r"\[(\d+)\]", artefact_id):
            return int(match.group(1))
    return 0
