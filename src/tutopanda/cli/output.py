"""How the CLI talks to the user: JSON for scripts, Rich for people, ``error:``/``hint:`` on stderr.

Rich is imported on first use so that commands which print nothing fancy (and ``--help``) stay fast.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.table import Table

__all__ = [
    "Col",
    "FitTable",
    "confirm",
    "make_table",
    "print_error",
    "print_json",
    "stderr_console",
    "stdout_console",
]

_consoles: dict[str, Console] = {}


def stdout_console() -> Console:
    """The Rich console writing to stdout (created lazily)."""
    if "out" not in _consoles:
        from rich.console import Console

        _consoles["out"] = Console(highlight=False, soft_wrap=True)
    return _consoles["out"]


def stderr_console() -> Console:
    """The Rich console writing to stderr (created lazily)."""
    if "err" not in _consoles:
        from rich.console import Console

        _consoles["err"] = Console(stderr=True, highlight=False, soft_wrap=True)
    return _consoles["err"]


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON to stdout (keys in the order given: output is for reading)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


errors_printed = 0
"""How many ``error:`` lines this process printed (the CLI's last resort prints one if none was)."""


def print_error(message: str, hint: str | None = None) -> None:
    """Print ``error: message`` and, when there is one, ``hint: hint`` on stderr, one line each.

    Messages are flattened to one line whatever their source, so scripts can rely on the shape.
    """
    global errors_printed
    errors_printed += 1
    sys.stderr.write(f"error: {_one_line(message)}\n")
    if hint:
        sys.stderr.write(f"hint: {_one_line(hint)}\n")


def _one_line(text: str) -> str:
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


_BORDER = 3
"""Cells a column adds besides its content: one space of padding on each side and one border."""


@dataclass(frozen=True)
class Col:
    """One column of a :func:`make_table` table.

    ``ident``: the cells are identifiers (canonical ids, hashes, times) that a person copies or greps,
    so they are never wrapped mid-word; a table too wide for them drops columns instead. ``drop``: 0
    means always shown; otherwise the column may be left out on a narrow terminal, higher numbers first
    (``--json`` always has every field).
    """

    header: str
    ident: bool = False
    drop: int = 0


class FitTable:
    """A table that fits the terminal: it leaves out its least useful columns rather than cut words.

    Why: at 80 columns a seven-column table squeezed by Rich folds ``Producer:Clips.SegmentRenderer``
    into ``Producer:Cl`` / ``ips.Segm…`` and headers into ``produce`` / ``r``. Here each column's
    minimum is its longest word (its longest cell for :attr:`Col.ident` columns); while the sum of the
    minimums exceeds the width, the column with the highest :attr:`Col.drop` goes, and the caption names
    what was left out. Built lazily at print time, when the console's width is known.
    """

    def __init__(self, columns: tuple[Col, ...], title: str | None) -> None:
        self.columns = columns
        self.title = title
        self.rows: list[tuple[str, ...]] = []

    def add_row(self, *cells: str) -> None:
        """Add one row (Rich markup allowed, as in a Rich table)."""
        self.rows.append(tuple(cells))

    def _texts(self, index: int) -> list[str]:
        from rich.text import Text

        cells = (Text.from_markup(row[index]).plain for row in self.rows if index < len(row))
        return [self.columns[index].header, *cells]

    def _minimum(self, index: int) -> int:
        """The narrowest the column may be: its longest word (its longest line for an ident column)."""
        from rich.cells import cell_len

        texts = self._texts(index)
        if self.columns[index].ident:
            return self._maximum(index)
        return max((cell_len(word) for text in texts for word in text.split()), default=1)

    def _maximum(self, index: int) -> int:
        from rich.cells import cell_len

        return max((cell_len(line) for text in self._texts(index) for line in text.splitlines()), default=1)

    def kept(self, width: int) -> list[int]:
        """Indexes of the columns shown at ``width`` character cells."""
        kept = list(range(len(self.columns)))
        minimums = {index: self._minimum(index) for index in kept}
        while True:
            needed = sum(minimums[index] for index in kept) + _BORDER * len(kept) + 1
            droppable = [index for index in kept if self.columns[index].drop > 0]
            if needed <= width or not droppable:
                return kept
            kept.remove(max(droppable, key=lambda index: (self.columns[index].drop, index)))

    def widths(self, kept: list[int], width: int) -> list[int]:
        """Content widths of the kept columns: as wide as their cells, text columns narrowed (the widest
        first) but never below their longest word, which Rich's own squeezing does not promise."""
        widths = [self._maximum(index) for index in kept]
        minimums = [self._minimum(index) for index in kept]
        excess = sum(widths) + _BORDER * len(kept) + 1 - width
        while excess > 0:
            slack = [(widths[i] - minimums[i], i) for i in range(len(kept)) if widths[i] > minimums[i]]
            if not slack:
                break
            widths[max(slack)[1]] -= 1
            excess -= 1
        return widths

    def build(self, width: int) -> Table:
        """The Rich table for ``width``: the kept columns, ids unwrapped, a caption naming the rest."""
        from rich.table import Table

        kept = self.kept(width)
        table = Table(title=self.title, title_justify="left", caption_justify="left")
        for index, content_width in zip(kept, self.widths(kept, width), strict=True):
            column = self.columns[index]
            table.add_column(
                column.header,
                no_wrap=column.ident,
                overflow="ellipsis" if column.ident else "fold",
                width=content_width,
            )
        for row in self.rows:
            table.add_row(*(row[index] if index < len(row) else "" for index in kept))
        left_out = [self.columns[index].header for index in range(len(self.columns)) if index not in kept]
        if left_out:
            table.caption = f"not shown at this width: {', '.join(left_out)} (see --json)"
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.build(options.max_width)


def make_table(*columns: str | Col, title: str | None = None) -> FitTable:
    """A table that fits the terminal (:class:`FitTable`); a plain string is a text column never dropped."""
    return FitTable(tuple(Col(column) if isinstance(column, str) else column for column in columns), title)


def confirm(question: str, *, command: str) -> bool:
    """Ask ``question [y/N]`` on stderr and read the answer from stdin; only y/yes is a yes.

    The question goes to stderr so ``--json`` output on stdout stays clean. With no input to read
    (a closed or empty stdin, as in a script) nothing is assumed: ``command`` fails with a usage
    error suggesting ``--yes``, since doing nothing silently would hide the question from the script.
    """
    from tutopanda.core.errors import UsageError

    no_input = UsageError(
        f"{command} needs a yes/no answer, but there is no input to read it from",
        "pass --yes to go ahead without asking",
    )
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline() if sys.stdin is not None else ""
    except (OSError, ValueError):
        answer = ""
    if not answer:
        sys.stderr.write("\n")
        raise no_input
    return answer.strip().lower() in ("y", "yes")
