"""The options of a new movie that the front ends take by name are one table,
:data:`tutopanda.settings.OPTION_INPUTS`: ``tutopanda query`` offers every one of them as a flag, the MCP
tool ``make_movie`` every one but :data:`~tutopanda.mcp_server.operations.NOT_MCP_OPTIONS` as an
argument, and each front end hands every one it takes on to the code that turns it into an input.

An option added to one front end and not to the table (or to the table and not to a front end, or to
the MCP server without taking it out of the exclusion) fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
import typer

from tutopanda.cli.main import app
from tutopanda.core.errors import UsageError
from tutopanda.mcp_server.operations import FLAG_INPUTS, NOT_MCP_OPTIONS, MovieOperations
from tutopanda.settings import OPTION_INPUTS

_NOT_OPTIONS_OF_QUERY = {
    "prompt", "script", "movie", "last", "blueprint", "providers", "provider", "concurrency", "dry_run",
    "yes", "plan_table", "as_json",
}  # fmt: skip
"""The query command's other parameters: what to make and how to run it, not input values."""

_NOT_OPTIONS_OF_MAKE_MOVIE = {
    "prompt", "script", "movie", "blueprint", "inputs", "variants", "providers", "confirm",
}  # fmt: skip
"""``make_movie``'s other arguments."""

_SAMPLE_VALUES: dict[str, Any] = {
    "segments": 2,
    "duration": 30,
    "style": "anime",
    "audience": "teen",
    "voice": "default",
    "language": "fr",
    "resolution": "720p",
    "burn_subtitles": True,
}


class _StopError(Exception):
    """Raised by a spy once it has seen what a front end hands on: nothing is built."""


def _query_parameters() -> set[str]:
    group = typer.main.get_command(app)
    query = group.commands["query"]  # type: ignore[attr-defined]
    return {str(parameter.name) for parameter in query.params}


def _make_movie_schema(operations: Any) -> dict[str, Any]:
    pytest.importorskip("mcp")
    from tutopanda.mcp_server.server import create_server

    tools = anyio.run(create_server(operations).list_tools)
    return next(tool.input_schema for tool in tools if tool.name == "make_movie")


def test_the_table_names_every_option_once_with_a_sample_here() -> None:
    assert set(_SAMPLE_VALUES) == set(OPTION_INPUTS)
    assert len(set(OPTION_INPUTS.values())) == len(OPTION_INPUTS)  # no input set by two options


def test_the_mcp_server_takes_the_table_less_its_named_exclusion() -> None:
    assert set(OPTION_INPUTS) > NOT_MCP_OPTIONS  # the exclusion names options of the table, not all
    subset = {option: name for option, name in OPTION_INPUTS.items() if option not in NOT_MCP_OPTIONS}
    assert subset == FLAG_INPUTS


def test_query_has_a_flag_for_every_option_of_the_table_and_no_other() -> None:
    assert _query_parameters() - _NOT_OPTIONS_OF_QUERY == set(OPTION_INPUTS)


def test_make_movie_has_an_argument_for_every_option_but_the_exclusion_and_no_other(tmp_path: Path) -> None:
    schema = _make_movie_schema(MovieOperations(str(tmp_path / "store"), "mock"))
    assert set(schema["properties"]) - _NOT_OPTIONS_OF_MAKE_MOVIE == set(OPTION_INPUTS) - NOT_MCP_OPTIONS


def test_query_hands_every_flag_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tutopanda.cli.main import main

    seen: list[dict[str, Any]] = []

    def spy(blueprint: object, prompt: str | None, flags: dict[str, Any]) -> dict[str, object]:
        seen.append(flags)
        raise _StopError

    monkeypatch.setattr("tutopanda.cli.query_choice.flag_values", spy)
    argv = ["--root", str(tmp_path / "store"), "query", "Why is the sky blue?", "--movie", "sky"]
    for option, value in _SAMPLE_VALUES.items():
        flag = "--" + option.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    main(argv)  # reports the _StopError as an internal error: the spy has seen what it needed
    capsys.readouterr()
    assert seen == [_SAMPLE_VALUES]


def test_make_movie_hands_every_argument_on(tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    from tutopanda.mcp_server.server import create_server

    seen: list[dict[str, Any]] = []

    class Spy(MovieOperations):
        def make_movie(self, **kwargs: Any) -> dict[str, Any]:
            seen.append(dict(kwargs["options"]))
            return {}

    arguments = {option: value for option, value in _SAMPLE_VALUES.items() if option not in NOT_MCP_OPTIONS}
    server = create_server(Spy(str(tmp_path / "store"), "mock"))
    anyio.run(server.call_tool, "make_movie", {"prompt": "Why is the sky blue?", **arguments})
    assert seen == [arguments]


@pytest.mark.parametrize("option", sorted(NOT_MCP_OPTIONS))
def test_an_excluded_option_is_refused_by_the_operations_as_unknown(tmp_path: Path, option: str) -> None:
    ops = MovieOperations(str(tmp_path / "store"), "mock")
    with pytest.raises(UsageError, match=f"unknown option '{option}'") as raised:
        ops.make_movie(prompt="Why is the sky blue?", movie="sky", options={option: _SAMPLE_VALUES[option]})
    assert option not in (raised.value.hint or "")
