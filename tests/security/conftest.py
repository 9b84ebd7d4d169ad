"""Fixtures of the security suite: a small built movie, and a secret file outside every root."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.badinput.clean_errors import run_cli

MOVIE = "safe"
SECRET = "canary-secret-7f3a91 do not leak"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A storage root with one built movie (``safe``, one segment, mock providers) and its export."""
    store = tmp_path / "store"
    made = run_cli(
        "--root", str(store), "query", "Why?", "--movie", MOVIE, "--segments", "1", "--providers", "mock"
    )
    assert made.code == 0, made.stderr
    assert run_cli("--root", str(store), "inspect", "--movie", MOVIE).code == 0
    return store


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the storage root holding a secret file (what an escape would read or clobber)."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET + "\n", encoding="utf-8")
    return folder


def store_text(root: Path) -> str:
    """Every file under ``root`` (links not followed), decoded loosely, concatenated."""
    return "\n".join(
        path.read_bytes().decode("utf-8", "replace")
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink()
    )
