"""A word-level diff of two texts, as the runs a page shows struck out, inserted or kept.

The revision compare shows *what* a narration or prompt became, not two hashes: a reviewer reads the
changed words in place. Words are the unit because narrations are prose (a line diff of a one-line
paragraph says only "everything changed"); whitespace runs are their own tokens, so line breaks stay
where they were and the kept runs read as the original text.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

__all__ = ["MAX_DIFF_CHARS", "word_diff"]

MAX_DIFF_CHARS = 20_000
"""Longer texts are not diffed (the matcher is quadratic at worst); the page shows the hashes then."""

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
_WORD = re.compile(r"\w")
_GLUE_LETTERS = 3
"""A kept run between two changes joins them when it is at most one word this short ("the", "of")."""


def word_diff(before: str, after: str) -> list[dict[str, str]] | None:
    """``[{"op": "same" | "del" | "add", "text": ...}]`` turning ``before`` into ``after``.

    Adjacent runs of one kind are merged, and a replaced stretch comes as its deletion then its
    insertion. None when either text is longer than :data:`MAX_DIFF_CHARS`.
    """
    if len(before) > MAX_DIFF_CHARS or len(after) > MAX_DIFF_CHARS:
        return None
    old, new = _TOKEN.findall(before), _TOKEN.findall(after)
    runs: list[dict[str, str]] = []

    def add(op: str, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if runs and runs[-1]["op"] == op:
            runs[-1]["text"] += text
        else:
            runs.append({"op": op, "text": text})

    for kept, removed, added in _stretches(old, new):
        add("same", kept)
        add("del", removed)
        add("add", added)
    return runs


def _stretches(old: list[str], new: list[str]) -> list[tuple[list[str], list[str], list[str]]]:
    """(kept, removed, added) token stretches, with near-adjacent changes joined into one.

    A matcher alone keeps every shared "the" or space inside a rewritten sentence, and the page then
    shows it as a word-by-word zebra of deletions and insertions. A kept run of only spaces,
    punctuation or one short word between two changes is folded into them, so a rewritten phrase
    reads as the old phrase struck out, then the new one.
    """
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    merged: list[tuple[list[str], list[str], list[str]]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            merged.append((old[i1:i2], [], []))
        else:
            merged.append(([], old[i1:i2], new[j1:j2]))
    out: list[tuple[list[str], list[str], list[str]]] = []
    for position, (kept, removed, added) in enumerate(merged):
        glue = (
            kept and 0 < position < len(merged) - 1 and out and (out[-1][1] or out[-1][2]) and _is_glue(kept)
        )
        if glue or (not kept and out and (out[-1][1] or out[-1][2])):
            previous = out.pop()
            out.append((previous[0], previous[1] + kept + removed, previous[2] + kept + added))
        else:
            out.append((kept, removed, added))
    return out


def _is_glue(kept: list[str]) -> bool:
    words = [token for token in kept if _WORD.match(token)]
    return not words or (len(words) == 1 and len(words[0]) <= _GLUE_LETTERS)
