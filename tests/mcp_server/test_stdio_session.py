"""``tutopanda mcp`` as an assistant uses it: the official SDK's client over a real stdio subprocess.

One session makes a mock movie, edits one segment's narration and sees only that segment rebuilt
(counted from the tool's result and from the mock call log), lists the movies, reads resources, and
gets a tool error carrying the hint for a movie that does not exist.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

mcp = pytest.importorskip("mcp")

from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402
from mcp.types import CallToolResult, TextContent, TextResourceContents  # noqa: E402

from tests.e2e.build_helpers import tutopanda_command  # noqa: E402
from tutopanda.providers.mock.counter import MOCK_CALL_LOG_ENV  # noqa: E402

pytestmark = pytest.mark.slow  # a server process and real builds (mocks): several seconds


@asynccontextmanager
async def _session(root: Path, calls: Path) -> AsyncIterator[ClientSession]:
    command, *args = tutopanda_command()
    env = {
        "TUTOPANDA_HOME": str(root),
        "TUTOPANDA_PROVIDERS": "mock",
        MOCK_CALL_LOG_ENV: str(calls),
        "PATH": os.environ.get("PATH", ""),
    }
    params = StdioServerParameters(command=command, args=[*args, "mcp"], env=env)
    with (root.parent / "server.err").open("w") as errors:
        async with (
            stdio_client(params, errlog=errors) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


def _data(result: CallToolResult) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return result.structured_content
    (content,) = result.content
    assert isinstance(content, TextContent)
    return json.loads(content.text)


def _error_text(result: CallToolResult) -> str:
    assert result.is_error
    return "\n".join(item.text for item in result.content if isinstance(item, TextContent))


def _calls(log: Path) -> list[str]:
    if not log.exists():
        return []
    return [json.loads(line)["jobId"] for line in log.read_text().splitlines() if line.strip()]


def test_an_assistant_makes_a_movie_edits_one_segment_and_reads_it_back(tmp_path: Path) -> None:
    root, calls = tmp_path / "store", tmp_path / "calls.jsonl"

    async def scenario() -> None:
        async with _session(root, calls) as session:
            tools = {tool.name for tool in (await session.list_tools()).tools}
            assert {"make_movie", "show_plan", "apply_edit", "build_status", "list_movies", "verify"} <= tools

            reported: list[tuple[float, float | None, str | None]] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                reported.append((progress, total, message))

            made = _data(
                await session.call_tool(
                    "make_movie",
                    {"prompt": "How do tides work?", "movie": "tides", "segments": 3},
                    progress_callback=on_progress,
                )
            )
            assert made["movie"] == "tides" and made["created"] and made["status"] == "built"
            assert made["video"] and Path(made["video"]).is_file()
            first = _calls(calls)
            assert sorted(made["jobsRun"]) == sorted(set(first))
            jobs = made["plan"]["dirtyJobs"]
            # The client runs each progress callback as its own task: give the last ones a moment.
            with anyio.move_on_after(5):
                while len(reported) < jobs + 1:
                    await anyio.sleep(0.01)
            assert sorted(done for done, _, _ in reported) == list(range(jobs + 1))  # 0, then each job
            assert {total for _, total, _ in reported} == {jobs} and jobs == len(made["jobsRun"])

            before = len(first)
            edited = _data(
                await session.call_tool(
                    "apply_edit", {"movie": "tides", "narration": {"2": "The moon pulls the sea toward it."}}
                )
            )
            assert edited["status"] == "built"
            rebuilt = _calls(calls)[before:]
            assert sorted(edited["jobsRun"]) == sorted(rebuilt)
            per_segment = [job for job in rebuilt if "[" in job]
            assert per_segment and all("[1]" in job for job in per_segment), rebuilt  # segment 2 only
            assert not any(job.startswith("Producer:Script.") for job in rebuilt)

            listed = _data(await session.call_tool("list_movies", {}))
            assert [movie["id"] for movie in listed["movies"]] == ["tides"]

            script = (await session.read_resource("tutopanda://movies/tides/script")).contents[0]
            assert isinstance(script, TextResourceContents)
            assert "The moon pulls the sea toward it." in script.text
            movies = (await session.read_resource("tutopanda://movies")).contents[0]
            assert isinstance(movies, TextResourceContents) and json.loads(movies.text)[0]["id"] == "tides"

            status = _data(await session.call_tool("build_status", {"movie": "tides"}))
            assert status["runs"] == 2 and status["failedJobs"] == []
            assert _data(await session.call_tool("verify", {"movie": "tides"}))["ok"]

            plan = _data(await session.call_tool("show_plan", {"movie": "tides"}))
            assert plan["plan"]["dirtyJobs"] == 0

            with pytest.raises(mcp.MCPError, match="there is no movie 'no-such-movie'"):
                await session.read_resource("tutopanda://movies/no-such-movie/timeline")
            timeline = (await session.read_resource("tutopanda://movies/tides/timeline")).contents[0]
            assert (
                isinstance(timeline, TextResourceContents) and len(json.loads(timeline.text)["segments"]) == 3
            )

            missing = _error_text(await session.call_tool("build_status", {"movie": "no-such-movie"}))
            assert "error: there is no movie 'no-such-movie'" in missing
            assert "hint: call list_movies" in missing
            bad = _error_text(
                await session.call_tool("apply_edit", {"movie": "tides", "narration": {"9": "text"}})
            )
            assert (
                "has no NarrationScript at segment 9" in bad and "hint: segments are numbered 1 to 3" in bad
            )

    anyio.run(scenario)
