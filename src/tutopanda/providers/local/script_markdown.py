"""Bring-your-own script as Markdown: ``# Title``, an optional summary, one ``## section`` per segment.

Why Markdown: a user writing narration wants a plain file they can edit anywhere, and headings are the
obvious way to mark segments. The format (for ``tutopanda query --script FILE``)::

    # How volcanoes erupt              <- the movie title (exactly one, first)

    A short explainer in three parts.  <- optional summary: text before the first section

    ## Magma                           <- one section per segment; the heading is only a label
    Deep below the surface, rock melts into magma...

    ## Pressure
    ...

Paragraphs are kept (joined by a blank line); lines within a paragraph are joined with spaces and runs
of whitespace collapse. ``<!-- comments -->`` are ignored. Anything else that would be silently
misread — text before the title, a second title, ``###`` headings, an empty section, no sections — is a
:class:`~tutopanda.core.errors.UsageError` naming the file and line, with a hint.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from tutopanda.core.errors import UsageError

__all__ = ["ParsedScript", "parse_script_markdown", "render_script_markdown"]

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_COMMENT = re.compile(r"<!--.*?-->", re.S)


@dataclass(frozen=True)
class ParsedScript:
    """A user's script: the title, the summary (may be empty) and one narration text per segment."""

    title: str
    summary: str
    segments: list[str] = field(default_factory=list)


def _error(source: str, line: int, message: str, hint: str) -> UsageError:
    return UsageError(f"{source}:{line}: {message}", hint)


def _paragraphs(lines: Sequence[str]) -> str:
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        words = line.split()
        if words:
            current.extend(words)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    return "\n\n".join(paragraphs)


def parse_script_markdown(text: str, source: str) -> ParsedScript:
    """Parse ``text`` (the contents of the file named ``source``); UsageError on a malformed script."""
    text = _COMMENT.sub(lambda match: "\n" * match.group().count("\n"), text.lstrip("\ufeff"))
    lines = text.splitlines()
    title: str | None = None
    title_line = 1
    summary: list[str] = []
    sections: list[tuple[int, str, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        heading = _HEADING.match(line)
        if heading is None:
            if title is None:
                if line.strip():
                    raise _error(
                        source,
                        number,
                        "the script must start with its title",
                        "put the movie title on the first line as '# Title'",
                    )
            elif sections:
                sections[-1][2].append(line)
            else:
                summary.append(line)
            continue
        level, label = len(heading.group(1)), " ".join((heading.group(2) or "").split())
        if level == 1:
            if title is not None:
                raise _error(
                    source,
                    number,
                    f"a second title (the first is on line {title_line})",
                    "keep one '# Title'; start each segment with '## ' instead",
                )
            if not label:
                raise _error(source, number, "the title is empty", "write the movie title after '# '")
            title, title_line = label, number
        elif title is None:
            raise _error(
                source, number, "a section before the title", "put the movie title first, as '# Title'"
            )
        elif level == 2:
            sections.append((number, label, []))
        else:
            raise _error(
                source,
                number,
                f"'{heading.group(1)}' headings are not supported",
                "each segment is a '## ' section; write its narration as plain paragraphs below it",
            )
    if title is None:
        raise _error(
            source, 1, "the script is empty", "start with '# Title', then one '## ' section per segment"
        )
    if not sections:
        raise _error(
            source,
            title_line,
            "the script has no segments",
            "add one '## ' section per segment, with its narration below the heading",
        )
    segments = []
    for index, (number, label, body) in enumerate(sections, start=1):
        narration = _paragraphs(body)
        if not narration:
            name = f" ({label!r})" if label else ""
            raise _error(
                source,
                number,
                f"segment {index}{name} has no narration",
                "write the narration below the heading, or delete the empty section",
            )
        segments.append(narration)
    return ParsedScript(title=title, summary=_paragraphs(summary), segments=segments)


def render_script_markdown(script: ParsedScript) -> str:
    """The Markdown form of ``script`` (sections headed ``## Segment N``); parses back to ``script``."""
    parts = [f"# {script.title}", ""]
    if script.summary:
        parts += [script.summary, ""]
    for number, narration in enumerate(script.segments, start=1):
        parts += [f"## Segment {number}", "", narration, ""]
    return "\n".join(parts)
