"""The background viewer's record: which process serves a storage root's viewer, and where.

``tutopanda viewer --background`` starts the viewer as a detached process; ``tutopanda viewer stop``
has to find that process again later, from another shell. The viewer process itself writes
``<root>/viewer-server.json`` (``{pid, host, port, url, root, log, startedAt}``) once its socket is
bound — so the record never names a port nobody listens on — and removes it when it stops.

Why the checks on reading: the record outlives crashes (a killed viewer, a reboot), and a pid is reused
by the system, so a record is believed only while its pid is alive *and* is a viewer (on Linux, the
process's command line says so; elsewhere, something answers on the recorded port). Anything else is a
stale record, removed with a note. The file is store data like any other (untrusted input): it is read
as a regular file with a size limit, and written without following a link planted at its name.

Starting and checking hold ``<root>/viewer-server.lock``, so two ``--background`` runs at once cannot
both start a viewer.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "LOG_NAME",
    "RECORD_NAME",
    "ViewerRecord",
    "is_alive",
    "local_root",
    "lock_path",
    "read_record",
    "remove_record",
    "running_viewer",
    "stop_viewer",
    "write_record",
]

RECORD_NAME = "viewer-server.json"
"""The record's file name in the storage root."""
LOG_NAME = "viewer.log"
"""Where a background viewer's output goes (in the storage root)."""
_MAX_RECORD_BYTES = 64 * 1024


@dataclass(frozen=True)
class ViewerRecord:
    """A running background viewer, as it recorded itself."""

    pid: int
    host: str
    port: int
    url: str
    root: str
    log: str
    started_at: str

    def to_json(self) -> dict[str, Any]:
        """The record as ``viewer status --json`` prints it (camelCase, like every JSON we write)."""
        data = asdict(self)
        data["startedAt"] = data.pop("started_at")
        return data


def local_root(root: str) -> Path | None:
    """``root`` as a local folder, or None for an fsspec URL (a record needs a shared local file)."""
    if "://" in root and not root.startswith("file://"):
        return None
    return Path(root.removeprefix("file://")).expanduser()


def lock_path(folder: Path) -> Path:
    """The lock serialising ``viewer --background`` and ``viewer stop`` on one root."""
    return folder / "viewer-server.lock"


def read_record(folder: Path) -> ViewerRecord | None:
    """The record in ``folder``, or None when there is none or it cannot be read as one (stale)."""
    from tutopanda.core.errors import TutopandaError
    from tutopanda.core.store.regular_file import read_regular

    path = folder / RECORD_NAME
    try:
        data = json.loads(read_regular(path, limit=_MAX_RECORD_BYTES))
        record = ViewerRecord(
            pid=int(data["pid"]),
            host=str(data["host"]),
            port=int(data["port"]),
            url=str(data["url"]),
            root=str(data["root"]),
            log=str(data["log"]),
            started_at=str(data["startedAt"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, TutopandaError):
        return _UNREADABLE
    return record if record.pid > 0 else _UNREADABLE


_UNREADABLE = ViewerRecord(pid=0, host="", port=0, url="", root="", log="", started_at="")
"""A record file that exists but is not a record: stale by definition (pid 0 is never alive)."""


def write_record(folder: Path, record: ViewerRecord) -> None:
    """Write ``record`` atomically (temp file + rename), never through a link planted in the root."""
    from tutopanda.core.store.regular_file import write_no_follow

    temp = folder / f".{RECORD_NAME}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    write_no_follow(temp, json.dumps(record.to_json(), indent=2).encode("utf-8") + b"\n")
    temp.replace(folder / RECORD_NAME)


def remove_record(folder: Path, pid: int | None = None) -> None:
    """Remove the record (only if it still names ``pid``, when given: a newer viewer's stays)."""
    if pid is not None:
        current = read_record(folder)
        if current is None or current.pid != pid:
            return
    with contextlib.suppress(FileNotFoundError):
        (folder / RECORD_NAME).unlink()


def is_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, dead but not yet reaped, is not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, and not ours
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError, IndexError):
        # The state follows the parenthesised command name, which may itself contain spaces.
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _is_viewer(record: ViewerRecord) -> bool:
    """Whether the live process ``record.pid`` is this record's viewer, not a reused pid."""
    cmdline = Path(f"/proc/{record.pid}/cmdline")
    if cmdline.parent.exists():
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            return False
        return b"viewer" in words and b"--record" in words
    family = socket.AF_INET6 if ":" in record.host else socket.AF_INET
    host = "127.0.0.1" if record.host in ("0.0.0.0", "") else "::1" if record.host == "::" else record.host
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, record.port)) == 0


def running_viewer(folder: Path, *, note: bool = True) -> ViewerRecord | None:
    """The running viewer's record, or None; a stale record is removed (saying so on stderr)."""
    record = read_record(folder)
    if record is None:
        return None
    if is_alive(record.pid) and _is_viewer(record):
        return record
    remove_record(folder)
    if note:
        what = f"pid {record.pid}" if record.pid > 0 else "unreadable"
        path = folder / RECORD_NAME
        print(f"note: removed the record of a viewer no longer running ({what}): {path}", file=sys.stderr)
    return None


def stop_viewer(record: ViewerRecord, *, wait: float = 10.0) -> bool:
    """Ask the viewer to stop (SIGTERM: it finishes responses in flight briefly, like Ctrl-C) and wait.

    Returns False when it had to be killed (SIGKILL) after ``wait`` seconds.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not is_alive(record.pid):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGKILL)
    return False
