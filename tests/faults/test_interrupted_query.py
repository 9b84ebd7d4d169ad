"""An interrupted first ``query`` is always resumable: running the same command again finishes the movie.

The window this guards: between creating the movie's folder and recording its definition (blueprint,
values, selection, the user's script). A Ctrl-C or a kill there used to leave an initialised movie with
no definition; the same command then failed on it ("has no blueprint"), and ``verify`` called it fine.
The interruption is injected in-process at each step (a ``KeyboardInterrupt``, as Ctrl-C raises it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import tutopanda.core.movie.definition as movie_definition
import tutopanda.core.movie.script_overrides as script_overrides
from tests.badinput.clean_errors import assert_clean_error, run_cli

MOVIE = "resumed"
SCRIPT = """# Tides

## The pull of the Moon
The Moon pulls on the oceans, and the water on the near side bulges towards it.

## Two bulges a day
The Earth turns under two bulges, so most coasts see two high tides every day.
"""


def _interrupt_once(monkeypatch: pytest.MonkeyPatch, module: object, name: str, root: Path) -> None:
    """Ctrl-C at the first call of ``name`` that records in the real store under ``root`` (the plan
    previewed on a throw-away copy before it makes the same calls there)."""
    real = getattr(module, name)
    calls = {"count": 0}

    def interrupted(*args: object, **kwargs: object) -> object:
        if str(getattr(args[0], "root", "")).startswith(root.resolve().as_posix()):
            calls["count"] += 1
            if calls["count"] == 1:
                raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, interrupted)


@pytest.mark.parametrize(
    ("module", "name"),
    [(movie_definition, "define_movie"), (script_overrides, "replace_script")],
    ids=["before-the-definition", "before-the-script"],
)
def test_the_same_query_continues_an_interrupted_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: object, name: str
) -> None:
    root = tmp_path / "store"
    script = tmp_path / "tides.md"
    script.write_text(SCRIPT, encoding="utf-8")
    argv = ("--root", str(root), "query", "--script", str(script), "--movie", MOVIE, "--providers", "mock")
    _interrupt_once(monkeypatch, module, name, root)

    first = run_cli(*argv)
    assert first.code == 130
    assert_clean_error(first, codes=(130,))
    assert (root / "builds" / MOVIE / "creating.json").exists()

    verify = run_cli("--root", str(root), "verify", "--movie", MOVIE)
    assert verify.code != 0 and "interrupted" in (verify.stdout + verify.stderr)

    again = run_cli(*argv)
    assert again.code == 0, again.stderr
    assert not (root / "builds" / MOVIE / "creating.json").exists()
    assert list((root / "movies" / MOVIE).glob("*.mp4"))
    assert run_cli("--root", str(root), "verify", "--movie", MOVIE).code == 0


def test_a_movie_initialised_without_a_definition_is_created_by_query(tmp_path: Path) -> None:
    root = tmp_path / "store"
    assert run_cli("--root", str(root), "storage:init", "--movie", MOVIE).code == 0
    made = run_cli(
        "--root", str(root), "query", "Why is the sea salty?", "--movie", MOVIE, "--providers", "mock"
    )
    assert made.code == 0, made.stderr
