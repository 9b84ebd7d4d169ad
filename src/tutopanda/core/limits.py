"""How big the things a user hands in may be: the named limits every parser and validator checks.

Why one module: a 50 MB prompt or a 10,000-segment movie must be refused *early*, with one line naming
the field and the limit, instead of being hashed, copied and expanded until memory runs out. The
limits are generous for real use (a long narration is a few thousand characters; a movie of a
thousand segments runs for hours) and small enough that the worst accepted input stays cheap.
``docs/cli.md`` ("Limits") lists them.

Files are measured before they are read (their size on disk), texts after decoding (in characters).
The :func:`check_text` and :func:`check_file_size` helpers raise
:class:`~tutopanda.core.errors.InputValidationError` (exit 2) with the shared wording.
"""

from __future__ import annotations

from collections.abc import Callable

from tutopanda.core.errors import InputValidationError

__all__ = [
    "MAX_BINDINGS",
    "MAX_BLUEPRINT_FILE_BYTES",
    "MAX_DOCUMENT_BYTES",
    "MAX_DURATION_SECONDS",
    "MAX_JOBS",
    "MAX_LIST_ITEMS",
    "MAX_LOOP_COUNT",
    "MAX_TEXT_CHARS",
    "MAX_TEXT_FILE_BYTES",
    "MAX_YAML_VALUES",
    "MIN_DURATION_SECONDS",
    "check_file_size",
    "check_text",
    "describe_size",
]

MAX_TEXT_CHARS = 100_000
"""Longest text value: a string input (the question ``InquiryPrompt``, a voice id, …), one edited text
(a narration, an image prompt, the title) in ``movie.toml`` or a ``prompts/`` file, a text ``--replace``."""

MAX_TEXT_FILE_BYTES = 4 * MAX_TEXT_CHARS
"""Largest file holding one text (a ``prompts/`` file, a text given to ``--replace``): checked before it
is read; UTF-8 needs at most four bytes per character."""

MAX_DOCUMENT_BYTES = 16_000_000
"""Largest file holding many values: the edit document (``movie.toml`` or ``edit --file``), an inputs
file (``--inputs``), a ``query --script`` Markdown file, an ``events:append`` file."""

MAX_BLUEPRINT_FILE_BYTES = 1_000_000
"""Largest blueprint, module or prompt-template file (they are hand-written text)."""

MAX_YAML_VALUES = 100_000
"""Most values one YAML document may hold, counting every use of an alias (``*name``) in full, so a
"billion laughs" document is refused instead of being expanded by whatever reads it next."""

MAX_LIST_ITEMS = 10_000
"""Most items of one ``list`` input value."""

MAX_LOOP_COUNT = 1_000
"""Largest count any loop may have (e.g. ``NumOfSegments``): a movie has at most 1,000 segments."""

MIN_DURATION_SECONDS = 5
"""Shortest movie (the ``Duration`` input of every bundled blueprint; ``query --duration`` shows it)."""

MAX_DURATION_SECONDS = 3600
"""Longest movie, an hour (the ``Duration`` input of every bundled blueprint; ``query --duration``)."""

MAX_JOBS = 100_000
"""Largest number of jobs (producer calls) one expansion may produce."""

MAX_BINDINGS = 2_000_000
"""Largest total of produced artefacts plus consumed ids over all jobs (bounds fan-in lists)."""


def describe_size(count: int, unit: str) -> str:
    """``12,345 bytes`` / ``1 character``: counts as people read them."""
    return f"{count:,} {unit}{'' if count == 1 else 's'}"


def check_text(
    what: str,
    value: str,
    *,
    limit: int = MAX_TEXT_CHARS,
    error: Callable[[str, str], Exception] = InputValidationError,
) -> str:
    """``value`` if it has at most ``limit`` characters, else an error naming ``what`` and the limit."""
    if len(value) > limit:
        raise error(
            f"{what} is {describe_size(len(value), 'character')} long, "
            f"more than the limit of {describe_size(limit, 'character')}",
            "shorten it (the limits are listed in docs/cli.md, 'Limits')",
        )
    return value


def check_file_size(
    what: str,
    size: int,
    *,
    limit: int,
    error: Callable[[str, str], Exception] = InputValidationError,
) -> None:
    """Refuse a file of ``size`` bytes above ``limit`` before reading it; ``what`` names the file."""
    if size > limit:
        raise error(
            f"{what} is {describe_size(size, 'byte')}, more than the limit of {describe_size(limit, 'byte')}",
            "use a smaller file (the limits are listed in docs/cli.md, 'Limits')",
        )
