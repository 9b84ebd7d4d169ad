"""The MCP server: Tutopanda's movie operations as Model Context Protocol tools and resources.

Built on the official SDK's :class:`~mcp.server.mcpserver.MCPServer` (tools and resources are declared
from typed functions, so their JSON schemas come from the signatures). Each tool is a thin mapping onto
:class:`~tutopanda.mcp_server.operations.MovieOperations`, which holds the rules; this module only adds
what the protocol needs:

- **Threads.** Builds and store reads block (ffmpeg, file I/O, a provider's HTTP call), so they run in
  a worker thread and the server keeps answering (pings, cancellations, other reads) meanwhile.
- **Progress.** A build reports each finished job; the worker thread only queues the events and the
  tool's own task sends them as MCP progress notifications, so no thread ever touches the session.
- **Errors.** A :class:`~tutopanda.core.errors.TutopandaError` becomes a tool error whose text is the
  CLI's two lines, ``error: ...`` and ``hint: ...`` (a resource read fails with the same text), so the
  assistant sees what is wrong and how to fix it; anything else is a crash the SDK reports generically.

Tools: ``make_movie``, ``show_plan``, ``apply_edit``, ``build_status``, ``list_movies``, ``verify``.
Resources: ``tutopanda://movies`` and, per movie, ``tutopanda://movies/{movie}/manifest``,
``.../timeline``, ``.../script`` and ``.../files``.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from pydantic import BaseModel, Field

from tutopanda.core.errors import TutopandaError, UsageError
from tutopanda.mcp_server.operations import BuildEvents, MovieOperations, Providers

__all__ = ["INSTRUCTIONS", "TextChange", "create_server"]

T = TypeVar("T")

INSTRUCTIONS = """\
Tutopanda turns a question into a short narrated educational movie (script, narration, pictures, music,
an MP4 with subtitles) and lets you change any one part without paying for the rest again.

- make_movie: a prompt (the question) or a Markdown script ('# Title', a summary, one '## ...' section
  per segment). It returns the movie id, the plan (jobs, why they run, estimated cost) and the
  published MP4's path. Offline providers are the default and free. When a build would call paid
  online providers, nothing happens until you call again with confirm: true after the user agreed to
  the cost shown.
- apply_edit: new narration for a segment (narration: {"2": "..."}; segments are numbered from 1),
  other texts (texts: [{segment, key, item, text}], keys as in the script resource or show_plan), or
  input values (inputs: {"Style": "watercolor"}). Only what the change touches is rebuilt.
- show_plan, build_status, list_movies, verify: look without changing anything (verify with repair
  fixes the store).
- Resources: tutopanda://movies, and tutopanda://movies/{movie}/manifest, /timeline, /script, /files.
"""

ProviderOption = Annotated[
    Providers | None,
    Field(
        description="live (default: the movie's variants, offline unless chosen otherwise), local "
        "(refuse online jobs) or mock (deterministic stand-ins, for tests)"
    ),
]
ConfirmOption = Annotated[
    bool, Field(description="true only after the user agreed to the estimated cost of a paid build")
]

_PROGRESS_POLL = 0.1
"""Seconds between checks of the progress queue while a build runs in its thread."""


class TextChange(BaseModel):
    """One text to replace: a segment's text (``segment`` 1..n) or a movie-wide one (no segment)."""

    key: Annotated[str, Field(description="NarrationScript, ImagePrompt, VideoPrompt, MovieTitle, ...")]
    text: str
    segment: Annotated[int | None, Field(ge=1, description="1-based segment; omit for movie-wide texts")] = (
        None
    )
    item: Annotated[int | None, Field(ge=1, description="1-based item of a list (image prompts)")] = None


def _tool_error(exc: TutopandaError) -> ToolError:
    hint = f"\nhint: {exc.hint}" if exc.hint else ""
    return ToolError(f"error: {exc.message}{hint}")


def _resource_error(exc: TutopandaError) -> ResourceError:
    text = f"error: {exc.message}" + (f" (hint: {exc.hint})" if exc.hint else "")
    missing = isinstance(exc, UsageError) and "there is no movie" in exc.message
    return ResourceNotFoundError(text) if missing else ResourceError(text)


async def _call(function: Callable[[], T]) -> T:
    """Run a blocking operation in a worker thread; its TutopandaError becomes a tool error."""
    try:
        return await anyio.to_thread.run_sync(function)
    except TutopandaError as exc:
        raise _tool_error(exc) from None


async def _read(function: Callable[[], str]) -> str:
    """Run a blocking resource read in a worker thread; its TutopandaError becomes a resource error."""
    try:
        return await anyio.to_thread.run_sync(function)
    except TutopandaError as exc:
        raise _resource_error(exc) from None


async def _build(ctx: Context, operation: Callable[[BuildEvents], dict[str, Any]]) -> dict[str, Any]:
    """Run a build operation in a thread, forwarding its job events as progress notifications."""
    events: queue.SimpleQueue[tuple[int, int, str]] = queue.SimpleQueue()
    sink = BuildEvents(lambda done, total, message: events.put((done, total, message)))
    result: list[dict[str, Any]] = []
    failure: list[BaseException] = []

    async def work() -> None:
        try:
            result.append(await anyio.to_thread.run_sync(lambda: operation(sink)))
        except BaseException as exc:  # re-raised below, after the last progress was sent
            failure.append(exc)

    async def pump() -> None:
        while True:
            while not events.empty():
                done, total, message = events.get()
                await ctx.report_progress(done, total or None, message)
            if result or failure:
                return
            await anyio.sleep(_PROGRESS_POLL)

    async with anyio.create_task_group() as group:
        group.start_soon(work)
        group.start_soon(pump)
    if failure:
        exc = failure[0]
        if isinstance(exc, TutopandaError):
            raise _tool_error(exc) from None
        raise exc
    return result[0]


def create_server(operations: MovieOperations) -> MCPServer:
    """The MCP server over ``operations`` (a storage root and a default provider mode)."""
    server: MCPServer = MCPServer(
        "tutopanda",
        title="Tutopanda",
        description="Make and edit narrated educational movies.",
        instructions=INSTRUCTIONS,
        log_level="WARNING",
    )
    _add_tools(server, operations)
    _add_resources(server, operations)
    return server


def _add_tools(server: MCPServer, operations: MovieOperations) -> None:
    """Register the tools, in the order a client lists them (the building ones have long signatures,
    so each is declared by a function of its own)."""
    _add_make_movie(server, operations)

    @server.tool(description="What a build of the movie would run now, why each job runs and what it "
                 "would cost. Runs nothing.")  # fmt: skip
    async def show_plan(movie: str, providers: ProviderOption = None) -> dict[str, Any]:
        return await _call(lambda: operations.show_plan(movie, providers=providers))

    _add_apply_edit(server, operations)

    @server.tool(description="A movie's current revision, its last run and failed jobs, artefacts by "
                 "kind, and the cost and time of every build so far.")  # fmt: skip
    async def build_status(movie: str) -> dict[str, Any]:
        return await _call(lambda: operations.build_status(movie))

    @server.tool(description="Every movie of this store: id, title, revision, duration, cost.")
    async def list_movies() -> dict[str, Any]:
        return {"movies": await _call(operations.list_movies)}

    @server.tool(description="Check a movie's store (every blob re-hashed, logs, manifests); without a "
                 "movie, every movie. repair: true fixes what can be fixed.")  # fmt: skip
    async def verify(movie: str | None = None, repair: bool = False) -> dict[str, Any]:
        return await _call(lambda: operations.verify(movie, repair=repair))

    del show_plan, build_status, list_movies, verify  # registered above


def _add_make_movie(server: MCPServer, operations: MovieOperations) -> None:
    """Register ``make_movie``: its options are separate parameters, so the schema documents each one."""

    @server.tool(description="Make a movie from a question or a Markdown script (or change an existing "
                 "movie's inputs) and build it. Paid online builds need confirm: true.")  # fmt: skip
    async def make_movie(
        ctx: Context,
        prompt: Annotated[str | None, Field(description="The question the movie answers")] = None,
        script: Annotated[
            str | None, Field(description="Your own narration: '# Title', summary, one '## ...' per segment")
        ] = None,
        movie: Annotated[str | None, Field(description="Movie id to create or change (default: new)")] = None,
        blueprint: Annotated[
            str | None,
            Field(
                description="audio-only, image-audio (default), image-only, music-only, video-audio-music, "
                "video-only"
            ),
        ] = None,
        segments: Annotated[int | None, Field(ge=1, le=1000)] = None,
        duration: Annotated[int | None, Field(ge=1, description="Total length in seconds")] = None,
        style: Annotated[
            str | None,
            Field(description="illustration, photorealistic, watercolor, anime, diagram, cinematic"),
        ] = None,
        audience: Annotated[str | None, Field(description="child, teen, adult, expert")] = None,
        language: Annotated[str | None, Field(description="ISO 639-1 code: en, fr, de, ...")] = None,
        voice: Annotated[str | None, Field(description="Voice id of the narration provider")] = None,
        resolution: Annotated[str | None, Field(description="480p, 720p, 1080p")] = None,
        inputs: Annotated[
            dict[str, Any] | None,
            Field(description='Other blueprint inputs by name, e.g. {"MusicalStyle": "jazz"}'),
        ] = None,
        variants: Annotated[
            dict[str, str] | None,
            Field(
                description='Module -> provider/model to run it with, e.g. {"Script": "openai/gpt-5-mini"}'
            ),
        ] = None,
        providers: ProviderOption = None,
        confirm: ConfirmOption = False,
    ) -> dict[str, Any]:
        options = {
            "segments": segments, "duration": duration, "style": style, "audience": audience,
            "language": language, "voice": voice, "resolution": resolution,
        }  # fmt: skip
        return await _build(
            ctx,
            lambda events: operations.make_movie(
                prompt=prompt,
                script=script,
                movie=movie,
                blueprint=blueprint,
                options=options,
                inputs=inputs,
                variants=variants,
                providers=providers,
                confirm=confirm,
                events=events,
            ),
        )

    del make_movie  # registered above


def _add_apply_edit(server: MCPServer, operations: MovieOperations) -> None:
    """Register ``apply_edit`` (texts arrive as :class:`TextChange` models, handed on as plain dicts)."""

    @server.tool(description="Change texts (a segment's narration, image/video prompts, the title) or "
                 "input values of a movie and rebuild only what they touch. Paid online builds need "
                 "confirm: true.")  # fmt: skip
    async def apply_edit(
        ctx: Context,
        movie: str,
        narration: Annotated[
            dict[str, str] | None, Field(description="Segment number (from 1) -> its new narration text")
        ] = None,
        texts: Annotated[list[TextChange] | None, Field(description="Other texts to replace")] = None,
        inputs: Annotated[dict[str, Any] | None, Field(description="Input name -> new value")] = None,
        providers: ProviderOption = None,
        confirm: ConfirmOption = False,
    ) -> dict[str, Any]:
        changes = [change.model_dump() for change in texts or []]
        return await _build(
            ctx,
            lambda events: operations.apply_edit(
                movie,
                narration=narration,
                texts=changes,
                inputs=inputs,
                providers=providers,
                confirm=confirm,
                events=events,
            ),
        )

    del apply_edit  # registered above


def _add_resources(server: MCPServer, operations: MovieOperations) -> None:
    """Register the resources: the movie list and, per movie, its manifest, timeline, script and files."""

    @server.resource("tutopanda://movies", name="movies", mime_type="application/json",
                     description="The movies of this store (as list_movies).")  # fmt: skip
    async def movies() -> str:
        return await _read(lambda: json.dumps(operations.list_movies(), indent=2, ensure_ascii=False))

    @server.resource("tutopanda://movies/{movie}/manifest", name="manifest", mime_type="application/json",
                     description="The movie's current manifest: every input and artefact.")  # fmt: skip
    async def manifest(movie: str) -> str:
        return await _read(lambda: operations.manifest(movie))

    @server.resource("tutopanda://movies/{movie}/timeline", name="timeline", mime_type="application/json",
                     description="The movie's timeline: segments, tracks, captions and music.")  # fmt: skip
    async def timeline(movie: str) -> str:
        return await _read(lambda: operations.timeline(movie))

    @server.resource("tutopanda://movies/{movie}/script", name="script", mime_type="text/markdown",
                     description="The movie's script as Markdown (the format make_movie takes).")  # fmt: skip
    async def script(movie: str) -> str:
        return await _read(lambda: operations.script(movie))

    @server.resource("tutopanda://movies/{movie}/files", name="files", mime_type="application/json",
                     description="The published MP4 and subtitle files, with their paths.")  # fmt: skip
    async def files(movie: str) -> str:
        return await _read(lambda: json.dumps(operations.published_files(movie), indent=2))

    del movies, manifest, timeline, script, files  # registered above


def run_stdio(root: str, providers: Literal["live", "local", "mock"], concurrency: int) -> None:
    """Serve over stdin/stdout until the client closes the connection."""
    create_server(MovieOperations(root, providers, concurrency)).run("stdio")
