"""API keys (and other settings) from ``.env`` files: the current folder's, then the storage root's.

Why: typing ``export OPENAI_API_KEY=...`` in every new shell is the first thing people forget, and a
key pasted into ``settings.toml`` would sit next to files that are shared and copied. A ``.env`` file
is the usual home for such values, and it is read the usual way:

* the process environment wins: a variable already set is never replaced, so ``OPENAI_API_KEY=x
  tutopanda ...`` and CI secrets behave as they always did;
* the current folder's ``.env`` comes before the storage root's (``<root>/.env``): a project's own
  keys win over the ones kept for every project;
* only ``NAME=value`` lines (an optional ``export`` prefix, ``#`` comments, single- or double-quoted
  values); nothing is expanded or executed;
* values are never printed: a malformed line is reported by its line number only, and the loaded
  names (never the values) are all a caller learns.

Loaded values go into the process environment, so every reader of it — the secret resolver handing keys
to handlers, the endpoints reading ``OPENAI_BASE_URL``, a worker process — sees one consistent answer.
The file is untrusted input like any store file: read as a regular file only, with a size limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from tutopanda.core.errors import StorageError
from tutopanda.core.store.regular_file import read_regular

__all__ = ["ENV_FILE_NAME", "MAX_ENV_FILE_BYTES", "EnvFileLoad", "load_env_files", "parse_env_text"]

ENV_FILE_NAME = ".env"
MAX_ENV_FILE_BYTES = 256 * 1024
"""Largest ``.env`` file read (a few keys take a few hundred bytes)."""

_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*")


@dataclass
class EnvFileLoad:
    """What :func:`load_env_files` did: names set (never values), and problems worth a warning."""

    loaded: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def parse_env_text(text: str, source: str) -> tuple[dict[str, str], list[str]]:
    """The ``NAME=value`` pairs of a ``.env`` text, and one warning per line that is not one."""
    values: dict[str, str] = {}
    warnings: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            warnings.append(f"{source}: line {number} is not NAME=value; skipped")
            continue
        name, raw = match.group(1), match.group(2)
        value = _unquote(raw)
        if value is None:
            warnings.append(f"{source}: line {number} has an unterminated quote; skipped")
            continue
        values[name] = value
    return values, warnings


def _unquote(raw: str) -> str | None:
    """``"a b"`` -> ``a b``; ``'x'`` -> ``x``; ``abc # note`` -> ``abc``; None for an open quote."""
    if raw[:1] == "'":  # single quotes: literal up to the next one
        end = raw.find("'", 1)
        return raw[1:end] if end > 0 else None
    if raw[:1] == '"':  # double quotes: \" and \\ are the only escapes
        chars: list[str] = []
        index = 1
        while index < len(raw):
            char = raw[index]
            if char == "\\" and raw[index + 1 : index + 2] in ('"', "\\"):
                chars.append(raw[index + 1])
                index += 2
                continue
            if char == '"':
                return "".join(chars)
            chars.append(char)
            index += 1
        return None
    return re.split(r"\s+#", raw, maxsplit=1)[0].strip()


def load_env_files(paths: Iterable[Path], environ: MutableMapping[str, str]) -> EnvFileLoad:
    """Set each name of each existing file in ``paths`` that ``environ`` does not have yet.

    ``paths`` in precedence order (the first file that names a variable wins); a missing file is
    skipped silently, an unreadable one with a warning.
    """
    result = EnvFileLoad()
    for path in paths:
        try:
            data = read_regular(path, limit=MAX_ENV_FILE_BYTES)
        except FileNotFoundError:
            continue
        except (OSError, StorageError) as exc:
            reason = exc.message if isinstance(exc, StorageError) else exc.strerror or type(exc).__name__
            result.warnings.append(f"{path}: not read ({reason})")
            continue
        values, warnings = parse_env_text(data.decode("utf-8", errors="replace"), str(path))
        result.warnings.extend(warnings)
        for name, value in values.items():
            if name in environ:
                continue
            environ[name] = value
            result.loaded[name] = path
    return result
