"""What a clean refusal looks like, in-process and through the CLI.

A user who feeds Tutopanda garbage must see one ``error:`` line (and at most one ``hint:`` line) on
stderr and exit 1 or 2 — never a traceback, never the ``internal error`` line that means an exception
escaped the error tree. In-process, a parser may only raise a :class:`TutopandaError`.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pytest

from tutopanda.cli.main import main
from tutopanda.core.errors import TutopandaError

T = TypeVar("T")

FUZZ_SCALE = int(os.environ.get("TUTOPANDA_FUZZ_SCALE", "1"))
"""Multiplies every fuzz test's example count: ``TUTOPANDA_FUZZ_SCALE=20 pytest tests/badinput`` searches
twenty times harder than the default run, which is sized to keep the suite around a minute."""


def examples(count: int) -> int:
    """``count`` hypothesis examples, times :data:`FUZZ_SCALE`."""
    return count * FUZZ_SCALE


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*argv: str, stdin: str = "") -> CliResult:
    """``tutopanda *argv`` through the real entry point, in this process (no fixtures: usable in @given)."""
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        _stdin(stdin),
    ):
        code = main(list(argv))
    return CliResult(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _stdin(text: str) -> Iterator[None]:
    import sys

    saved = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = saved


def assert_clean_error(result: CliResult, codes: tuple[int, ...] = (1, 2)) -> str:
    """The run failed cleanly: exit code in ``codes``, the error as the last one or two stderr lines.

    Returns the ``error:`` line's message. Lines before it (a note, a warning about a skipped line)
    are allowed; the error itself is one line, followed only by an optional ``hint:`` line.
    """
    assert result.code in codes, (result.code, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr, result.stderr[-2000:]
    lines = result.stderr.rstrip("\n").splitlines()
    assert lines, "no error message at all"
    errors = [index for index, line in enumerate(lines) if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr[-2000:]
    tail = lines[errors[0] :]
    assert len(tail) == 1 or (len(tail) == 2 and tail[1].startswith("hint: ")), result.stderr[-2000:]
    return tail[0].removeprefix("error: ")


def assert_clean_outcome(result: CliResult) -> None:
    """Either success (exit 0) or a clean error: what a fuzzed command line may end in."""
    if result.code == 0:
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
        return
    assert_clean_error(result)


def clean_call(call: Callable[[], T], codes: tuple[int, ...] = (1, 2)) -> T | TutopandaError:
    """``call()``'s result, or the :class:`TutopandaError` it raised; any other exception fails the test."""
    try:
        return call()
    except TutopandaError as exc:
        assert exc.exit_code in codes, (exc.exit_code, exc.message)
        assert exc.message.strip(), "an error without a message"
        return exc
    except Exception as exc:  # pragma: no cover - this is the failure being looked for
        pytest.fail(f"{type(exc).__name__} escaped the error tree: {exc!r}"[:2000])
