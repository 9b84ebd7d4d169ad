"""Whole-file writes: the target holds the old or the new bytes, never a mix; failures leave no debris."""

from __future__ import annotations

import errno
import os

import pytest

from tutopanda.core.errors import StorageError
from tutopanda.core.store.atomic_file import WRITE_STEPS, create_exclusive, is_temp_name, write_atomic
from tutopanda.core.store.storage import StorageContext


def _target(ctx: StorageContext) -> str:
    directory = ctx.join(ctx.root, "dir")
    ctx.makedirs(directory)
    return ctx.join(directory, "file.json")


def _names(ctx: StorageContext, path: str) -> list[str]:
    return ctx.list_names(path.rpartition("/")[0])


def test_write_replaces_the_whole_file(ctx: StorageContext) -> None:
    path = _target(ctx)
    write_atomic(ctx, path, b"old content that is longer")
    write_atomic(ctx, path, b"new")
    assert ctx.read_bytes(path) == b"new"
    assert _names(ctx, path) == ["file.json"]


def test_steps_are_reported_in_order(ctx: StorageContext) -> None:
    seen: list[str] = []
    write_atomic(ctx, _target(ctx), b"x", hook=lambda step, _path: seen.append(step))
    assert seen == list(WRITE_STEPS)


@pytest.mark.parametrize("step", WRITE_STEPS[:-1])
def test_failure_before_rename_keeps_the_old_file_and_removes_the_temp(
    ctx: StorageContext, step: str
) -> None:
    path = _target(ctx)
    write_atomic(ctx, path, b"good")

    def disk_full(current: str, _path: str) -> None:
        if current == step:
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(StorageError) as caught:
        write_atomic(ctx, path, b"replacement", hook=disk_full)
    assert caught.value.message == f"disk full writing {path}"
    assert caught.value.hint is not None
    assert ctx.read_bytes(path) == b"good"
    assert _names(ctx, path) == ["file.json"]


def test_short_writes_on_a_full_local_disk_leave_the_old_file(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tutopanda.core.store.storage import StorageConfig

    ctx = StorageContext.open(StorageConfig(str(tmp_path)))
    path = _target(ctx)
    write_atomic(ctx, path, b"good")
    calls = {"n": 0}
    real_write = os.write

    def fill_up(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data)[:3])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", fill_up)
    with pytest.raises(StorageError, match="disk full writing"):
        write_atomic(ctx, path, b"replacement")
    monkeypatch.undo()
    assert ctx.read_bytes(path) == b"good"
    assert _names(ctx, path) == ["file.json"]


def test_create_exclusive_never_overwrites(ctx: StorageContext) -> None:
    path = _target(ctx)
    assert create_exclusive(ctx, path, b"first")
    assert not create_exclusive(ctx, path, b"second")
    assert ctx.read_bytes(path) == b"first"
    assert not any(is_temp_name(name) for name in _names(ctx, path))


def test_temp_names_are_recognisable() -> None:
    assert is_temp_name(".current.json.tmp-123-abcd")
    assert not is_temp_name("current.json")
    assert not is_temp_name("rev-0001.json")
