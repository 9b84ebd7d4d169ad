"""Safe YAML loading that remembers the line of every mapping key and sequence item.

Why: an error such as "connection names a module that does not exist" is only useful with the line to
fix. PyYAML's plain ``safe_load`` forgets positions, so this loader subclasses :class:`yaml.SafeLoader`
(it never constructs arbitrary Python objects) and builds :class:`LocatedDict` / :class:`LocatedList`
that record ``node.start_mark.line + 1``. It also refuses duplicate keys, which PyYAML would otherwise
resolve silently by keeping the last one, and non-text keys.

Only plain data comes out: mappings, lists, text, numbers, booleans, null (and dates, which every field
then refuses as "not text"). Tags that make other things (``!!binary``, ``!!set``, ``!!omap``,
``!!pairs``; ``!!python/...`` is unknown to the safe loader) are refused, a value a tag cannot convert
(``!!int x``) is a located error, and a document whose aliases would expand to more than
:data:`~tutopanda.core.limits.MAX_YAML_VALUES` values ("billion laughs") is refused before anyone walks it.
"""

from __future__ import annotations

from typing import Any

import yaml

from tutopanda.core.limits import MAX_YAML_VALUES

__all__ = ["LocatedDict", "LocatedList", "YamlLocationError", "line_of", "load_located_yaml"]


class YamlLocationError(Exception):
    """Invalid YAML (syntax, duplicate key, non-text key) at a 1-based ``line`` (None if unknown)."""

    def __init__(self, message: str, line: int | None, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.hint = hint


class LocatedDict(dict[str, Any]):
    """A mapping from YAML with ``line`` (where it starts) and ``key_lines`` (where each key is)."""

    __slots__ = ("key_lines", "line")

    def __init__(self, line: int | None = None) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int] = {}


class LocatedList(list[Any]):
    """A sequence from YAML with ``line`` (where it starts) and ``item_lines`` (where each item is)."""

    __slots__ = ("item_lines", "line")

    def __init__(self, line: int | None = None) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


def line_of(container: Any, key: str | int | None = None) -> int | None:
    """The line of ``container[key]`` (or of the container itself when ``key`` is None), if recorded."""
    if key is None:
        return getattr(container, "line", None)
    if isinstance(container, LocatedDict) and isinstance(key, str):
        return container.key_lines.get(key, container.line)
    if isinstance(container, LocatedList) and isinstance(key, int) and 0 <= key < len(container.item_lines):
        return container.item_lines[key]
    return getattr(container, "line", None)


_SafeBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML was built with it (several times faster; same safe constructors)."""


class _LocatedLoader(_SafeBase):  # type: ignore[misc]
    """SafeLoader whose mappings and sequences remember their lines."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Any failure converting ``node`` becomes a :class:`YamlLocationError` at its line.

        PyYAML's constructors raise plain ``ValueError``/``TypeError``/… for values an explicit tag
        cannot convert (``!!int x``, ``!!timestamp x``, ``!!map [1]``, an impossible date).
        """
        try:
            return super().construct_object(node, deep=deep)
        except (YamlLocationError, yaml.YAMLError, RecursionError):
            raise
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as exc:
            reason = f" ({exc})" if isinstance(exc, ValueError | OverflowError) else ""
            raise YamlLocationError(
                f"invalid YAML: cannot read the value {_shown(node)}{reason}",
                node.start_mark.line + 1,
                "write plain values; quote text that looks like a number, date or tag",
            ) from None


def _shown(node: yaml.Node) -> str:
    value = node.value if isinstance(node, yaml.ScalarNode) else f"<{getattr(node, 'id', 'node')}>"
    text = f"{node.tag.rsplit(':', 1)[-1]} {value!r}" if node.tag.startswith("tag:yaml.org") else repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _unsupported_tag(loader: _LocatedLoader, node: yaml.Node) -> Any:
    name = node.tag.rsplit(":", 1)[-1]
    raise YamlLocationError(
        f"YAML tag !!{name} is not supported here",
        node.start_mark.line + 1,
        "write plain mappings, lists, text, numbers and booleans",
    )


def _construct_mapping(loader: _LocatedLoader, node: yaml.MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    result = LocatedDict(node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            raise YamlLocationError(
                f"mapping key {key!r} is not text", line, "write keys as plain names, e.g. `name: value`"
            )
        if key in result:
            raise YamlLocationError(
                f"duplicate key {key!r} (first at line {result.key_lines[key]})",
                line,
                "remove or rename one of the two keys; YAML keeps only one of them",
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _LocatedLoader, node: yaml.SequenceNode) -> LocatedList:
    result = LocatedList(node.start_mark.line + 1)
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.item_lines.append(item.start_mark.line + 1)
    return result


_LocatedLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LocatedLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
for _tag in ("binary", "set", "omap", "pairs"):
    _LocatedLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _unsupported_tag)


def _expanded_size(data: Any, limit: int) -> int:
    """How many values ``data`` holds with every alias counted in full; stops counting past ``limit``.

    Aliases make several places share one object, so sizes are memoised per object: the walk is linear
    in the document even when its expansion is exponential.
    """
    sizes: dict[int, int] = {}

    def size(value: Any) -> int:
        if isinstance(value, dict | list):
            known = sizes.get(id(value))
            if known is not None:
                return known
            items = value.values() if isinstance(value, dict) else value
            total = 1
            for item in items:
                total += size(item)
                if total > limit:
                    break
            sizes[id(value)] = total
            return total
        return 1

    return size(data)


def load_located_yaml(text: str) -> Any:
    """Parse one YAML document safely; raise :class:`YamlLocationError` with the line on any problem."""
    loader = _LocatedLoader(text)
    try:
        data = loader.get_single_data()
        count = _expanded_size(data, MAX_YAML_VALUES)
        if count > MAX_YAML_VALUES:
            raise YamlLocationError(
                f"the YAML document holds more than {MAX_YAML_VALUES:,} values once its aliases (*name) "
                "are expanded",
                None,
                "write the values out, or use fewer aliases (the limit is MAX_YAML_VALUES, docs/cli.md)",
            )
        return data
    except YamlLocationError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlLocationError(
            f"invalid YAML: {problem}",
            line,
            "check indentation, quoting and colons near this line (quote values that contain ': ' or '#')",
        ) from exc
    except yaml.YAMLError as exc:
        raise YamlLocationError(f"invalid YAML: {exc}", None, "check the file is valid YAML") from exc
    except RecursionError as exc:
        raise YamlLocationError("YAML nests too deeply", None, "simplify the document") from exc
    finally:
        loader.dispose()
