"""The models store and the root's markers against things planted in them: links, pipes, folders.

Each test plants something where ``tutopanda models`` (or a marker of the root) would write, runs the
real CLI, and checks the two things a user would notice: one clean ``error:`` line (never a hang, never
``internal error``), and nothing outside the storage root created, changed or emptied.
"""

from __future__ import annotations

import fcntl
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from tests.badinput.clean_errors import assert_clean_error, run_cli
from tests.model_hub import serve_one_model
from tests.providers.fake_hub import FakeHub
from tests.security.conftest import SECRET
from tutopanda.providers.model_store import ModelStore, ModelStoreError, load_catalogue

DATA = b"GGUF" + bytes(range(256)) * 64
NAME = "tiny-llm"
FILE = "tiny.gguf"


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    """The storage root given with ``--root`` (its models live in ``<root>/models``)."""
    return tmp_path / "store"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    with serve_one_model(monkeypatch, tmp_path, DATA, name=NAME, file=FILE) as server:
        yield server


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Turn a pull that would wait for ever (a named pipe opened for writing) into a failure."""

    def fire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError("the command hung")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder`` with its bytes (None for a folder): what an escape would change."""
    return {
        str(path.relative_to(folder)): (path.read_bytes() if path.is_file() else None)
        for path in sorted(folder.rglob("*"))
    }


def _model_folder(store_root: Path) -> Path:
    folder = store_root / "models" / NAME
    folder.mkdir(parents=True)
    return folder


def _pull(store_root: Path) -> str:
    """``models pull`` that must fail cleanly; returns the error message."""
    return assert_clean_error(run_cli("--root", str(store_root), "models", "pull", NAME))


# -- 1. a model folder that is a link ---------------------------------------------------------------


def _link_the_model_folder(store_root: Path, outside: Path) -> None:
    (store_root / "models").mkdir(parents=True)
    (store_root / "models" / NAME).symlink_to(outside, target_is_directory=True)


@pytest.mark.parametrize("command", ["remove", "pull", "list"])
def test_a_model_folder_that_is_a_link_is_refused(
    command: str, store_root: Path, outside: Path, hub: FakeHub
) -> None:
    _link_the_model_folder(store_root, outside)
    before = _snapshot(outside)
    argv = ["--root", str(store_root), "models", command] + ([] if command == "list" else [NAME])
    message = assert_clean_error(run_cli(*argv))
    assert "is a link" in message and str(store_root / "models" / NAME) in message
    assert _snapshot(outside) == before  # not emptied, nothing downloaded into it, no .lock made there
    assert hub.requests == []


def test_path_of_refuses_a_model_folder_that_is_a_link(store_root: Path, outside: Path, hub: FakeHub) -> None:
    _link_the_model_folder(store_root, outside)
    store = ModelStore(store_root / "models", catalogue=load_catalogue())
    with pytest.raises(ModelStoreError, match="is a link") as caught:
        store.path_of(NAME)
    assert "rm " in (caught.value.hint or "")


# -- 2. links planted where the pull writes ---------------------------------------------------------


def test_pull_does_not_append_through_a_link_at_the_part_file(
    store_root: Path, outside: Path, hub: FakeHub
) -> None:
    (_model_folder(store_root) / f"{FILE}.part").symlink_to(outside / "secret.txt")
    message = _pull(store_root)
    assert f"{FILE}.part" in message
    assert (outside / "secret.txt").read_text(encoding="utf-8") == SECRET + "\n"
    assert hub.ranges() == []  # no Range taken from the link target's size: no request at all


def test_pull_does_not_write_the_marker_through_a_link(store_root: Path, outside: Path, hub: FakeHub) -> None:
    folder = _model_folder(store_root)
    (folder / ".verified.json.tmp").symlink_to(outside / "victim.json")  # dangling: would be created
    message = _pull(store_root)
    assert ".verified.json.tmp" in message
    assert not (outside / "victim.json").exists()
    assert not (folder / FILE).exists()  # nothing published before the marker could be written
    assert not (folder / ".verified.json").exists()


# -- 3. special files where the pull writes ---------------------------------------------------------


@pytest.mark.usefixtures("no_hang")
def test_a_named_pipe_at_the_part_file_fails_at_once(store_root: Path, hub: FakeHub) -> None:
    os.mkfifo(_model_folder(store_root) / f"{FILE}.part")
    assert "named pipe" in _pull(store_root)


def test_a_folder_at_the_part_file_is_one_clean_error(store_root: Path, hub: FakeHub) -> None:
    (_model_folder(store_root) / f"{FILE}.part").mkdir()
    assert f"{FILE}.part" in _pull(store_root)


def test_a_folder_at_the_marker_temp_publishes_nothing(store_root: Path, hub: FakeHub) -> None:
    folder = _model_folder(store_root)
    (folder / ".verified.json.tmp").mkdir()
    assert ".verified.json.tmp" in _pull(store_root)
    assert not (folder / FILE).exists()  # the download stays a .part: never renamed to its final name
    assert (folder / f"{FILE}.part").read_bytes() == DATA
    (folder / ".verified.json.tmp").rmdir()
    assert run_cli("--root", str(store_root), "models", "pull", NAME).code == 0  # and then it installs
    assert (folder / FILE).read_bytes() == DATA


# -- 4. the lock file is never deleted --------------------------------------------------------------


def test_remove_keeps_the_lock_file_that_others_may_hold(store_root: Path, hub: FakeHub) -> None:
    assert run_cli("--root", str(store_root), "models", "pull", NAME).code == 0
    lock = store_root / "models" / f".{NAME}.lock"
    inode = lock.stat().st_ino
    assert run_cli("--root", str(store_root), "models", "remove", NAME).code == 0
    assert not (store_root / "models" / NAME).exists()
    assert lock.stat().st_ino == inode  # the same file: a waiter and the next pull contend for one lock
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another process holds it now
        message = _pull(store_root)
        assert "another tutopanda process" in message
    finally:
        os.close(fd)
    assert run_cli("--root", str(store_root), "models", "pull", NAME).code == 0


def test_a_link_at_the_lock_file_is_refused(store_root: Path, outside: Path, hub: FakeHub) -> None:
    (store_root / "models").mkdir(parents=True)
    (store_root / "models" / f".{NAME}.lock").symlink_to(outside / "secret.txt")
    assert ".lock" in _pull(store_root)
    assert (outside / "secret.txt").read_text(encoding="utf-8") == SECRET + "\n"  # not truncated


# -- 5. markers of the root -------------------------------------------------------------------------


def test_the_defaults_note_marker_is_not_created_through_a_link(store_root: Path, outside: Path) -> None:
    store_root.mkdir()
    (store_root / ".defaults-noted").symlink_to(outside / "noted")
    result = run_cli(
        "--root", str(store_root), "query", "Why?", "--segments", "1", "--providers", "mock", "--dry-run"
    )
    assert result.code == 0, result.stderr
    assert not (outside / "noted").exists()


def test_the_defaults_note_marker_is_still_written_normally(store_root: Path) -> None:
    store_root.mkdir()
    first = run_cli("--root", str(store_root), "query", "--dry-run")
    assert "note: no " in first.stderr
    assert (store_root / ".defaults-noted").is_file()
    assert "note: no " not in run_cli("--root", str(store_root), "query", "--dry-run").stderr


def test_a_declined_download_is_not_remembered_through_a_link(tmp_path: Path, outside: Path) -> None:
    store = ModelStore(tmp_path / "models", catalogue=load_catalogue())
    store.root.mkdir()
    (store.root / ".declined-m").symlink_to(outside / "declined")
    store.note_declined("m")
    assert not (outside / "declined").exists()
    store.note_declined("n")
    assert (store.root / ".declined-n").is_file()
