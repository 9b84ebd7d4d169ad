"""The viewer's web app: static pages plus the JSON API they read (``docs/viewer.md``).

A Starlette app, so the pages need no build step. Every route is a thin mapping onto
:mod:`tutopanda.viewer.data`; the app never writes to the store. Three rules make it safe to leave
running on a shared machine (issue 16):

- **Only its own name.** A request whose ``Host`` header does not name the viewer's address is refused
  (421): a web page on another site that rebinds its DNS name to 127.0.0.1 (DNS rebinding) can make the
  browser send requests here, but only with its own name in ``Host``, so it never reads a movie.
- **Nothing blocks the event loop.** Store reads run in worker threads under a deadline: a page render,
  a hostile file (a named pipe where ``current.json`` should be blocks whoever opens it) or a slow disk
  delays only its own request, never a video seek. A call still stuck after its deadline is answered
  with 503 and abandoned; those threads are daemons (Ctrl-C still stops the viewer), and while too many
  are stuck new store reads are refused at once instead of piling up.
- **Edits only when asked, and only from the page.** Without an :class:`~tutopanda.viewer.editing.Editor`
  (``tutopanda viewer --allow-edits``, loopback only) no route accepts a writing method. With one, a
  POST must carry the per-process token embedded in the movie page, an ``Origin`` naming the very
  host it was sent to, and a JSON body: another site's page can neither read the token nor send a
  cross-origin JSON request without a CORS preflight this app never grants (CSRF).
- **Blobs are streamed, never loaded.** A blob goes out in bounded chunks read off the event loop, each
  sent only once the client took the previous one (uvicorn's write flow control), so memory stays flat
  however many clients stall. The file is opened without blocking and checked on the open descriptor
  (a regular file of the manifest's size), so swapping it for a pipe or a device after the checks in
  :func:`tutopanda.viewer.data.artefact_blob` gains nothing. Range requests are answered (without them
  a browser cannot seek in the video).
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Awaitable, Callable, Collection, Iterable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import IO, Any, TypeVar

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from tutopanda.core.errors import (
    CorruptDataError,
    LockHeldError,
    ManifestConflictError,
    TutopandaError,
    UsageError,
)
from tutopanda.core.store.regular_file import open_regular
from tutopanda.core.store.storage import StorageContext
from tutopanda.viewer import data
from tutopanda.viewer.editing import Editor, new_edit_token

__all__ = [
    "LOOPBACK_NAMES",
    "STORE_DEADLINE",
    "StoreTimeoutError",
    "allowed_hosts",
    "create_app",
]

_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
"""The names this machine's browser uses for a viewer on the loopback address."""

STORE_DEADLINE = 10.0
"""Seconds a store read (a page's JSON, opening a blob) may take before the request is answered 503."""

MAX_STUCK_READS = 8
"""Store reads that may still be running past their deadline before new ones are refused at once."""

CHUNK_BYTES = 64 * 1024
"""Bytes read and sent at a time when streaming a blob: the memory one download can hold."""

EDIT_DEADLINE = 300.0
"""Seconds planning an edit may take (a preview copies the movie's records and plans it)."""

MAX_EDIT_BODY = 1024 * 1024
"""Bytes of an edit request's JSON body (a few texts; the text limits apply inside)."""

TOKEN_HEADER = "x-tutopanda-token"
"""The header carrying the page's edit token."""

T = TypeVar("T")


def _static_dir() -> Path:
    return Path(str(resources.files("tutopanda.viewer").joinpath("static")))


def _json(payload: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status, headers=_HEADERS)


# --- Host header check (DNS rebinding) -------------------------------------------------------------


def _host_name(address: str) -> str:
    """``address`` as it appears in a Host header: IPv6 literals in brackets, names lower-cased."""
    address = address.strip().lower()
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def allowed_hosts(bind_host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host header values a viewer bound to ``bind_host:port`` answers to.

    The loopback names, the bound address itself and ``extra`` names, each with the port (and bare when
    the port is 80, since browsers leave the default port out). A wildcard bind (``0.0.0.0``, ``::``)
    also answers to this machine's host name, which is how other machines reach it.
    """
    import socket

    names = {*LOOPBACK_NAMES, _host_name(bind_host), *(_host_name(name) for name in extra)}
    if bind_host in ("0.0.0.0", "::", ""):  # the wildcard: reached by name
        names |= {_host_name(socket.gethostname()), _host_name(socket.getfqdn())}
    values = {f"{name}:{port}" for name in names if name}
    if port == 80:
        values |= {name for name in names if name}
    return frozenset(values)


def _loopback_any_port(host: str) -> bool:
    """Whether ``host`` (a Host header value) is a loopback name with a port or without one."""
    if host.startswith("["):
        name, _, rest = host.partition("]")
        name += "]"
        port = rest.removeprefix(":")
    else:
        name, _, port = host.partition(":")
    return name in LOOPBACK_NAMES and (port == "" or port.isdigit())


class _HostGuard:
    """Answers 421 to every request whose Host header is not one of the viewer's own names.

    Pure ASGI (no request object) so the check runs before anything else, for every route.
    ``hosts=None``: the loopback names on any port (what :func:`create_app` uses when it is not told
    its port, e.g. in tests); the CLI passes the exact set from :func:`allowed_hosts`.
    """

    def __init__(self, app: ASGIApp, hosts: Collection[str] | None) -> None:
        self.app = app
        self.hosts = None if hosts is None else frozenset(host.lower() for host in hosts)

    def _allowed(self, host: str) -> bool:
        if self.hosts is None:
            return _loopback_any_port(host)
        return host in self.hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            raw = [value for key, value in scope["headers"] if key == b"host"]
            host = raw[0].decode("latin-1").strip().lower() if len(raw) == 1 else ""
            if not self._allowed(host):
                response = PlainTextResponse(
                    "misdirected request: this viewer answers only to its own address "
                    "(e.g. http://127.0.0.1:PORT/)\n",
                    status_code=421,
                    headers={**_HEADERS, "Connection": "close"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# --- Store reads off the event loop, under a deadline ----------------------------------------------


class StoreTimeoutError(TutopandaError):
    """A store read did not finish within its deadline (a named pipe, a stuck disk); answered 503."""


@dataclass
class _Call:
    """One store read's state, shared by its thread and the request awaiting it (under the lock)."""

    finished: bool = False
    abandoned: bool = False


@dataclass
class _StoreCalls:
    """Runs blocking store reads in daemon threads, each awaited for at most ``deadline`` seconds.

    Why not the default thread pool: its threads are joined at exit, so one read blocked forever on a
    named pipe would keep Ctrl-C from stopping the viewer, and a cancelled call gives its slot back
    while its thread still runs, so stuck reads could pile up without bound. Here a call past its
    deadline is abandoned (its daemon thread dies with the process) and counted as stuck until it
    ends; while ``max_stuck`` are, new calls are refused at once.
    """

    deadline: float
    max_stuck: int
    stuck: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def run(self, what: str, call: Callable[[], T], discard: Callable[[T], None] | None = None) -> T:
        """``call()``'s result; ``discard`` releases one that arrives after the deadline (an open file)."""
        with self._lock:
            if self.stuck >= self.max_stuck:
                raise StoreTimeoutError(
                    f"the store is not answering ({self.stuck} reads are stuck)",
                    "a file of a movie may be a named pipe or on a stuck disk: run 'tutopanda verify --all'",
                )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        state = _Call()

        def settle(result: T | None, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)  # type: ignore[arg-type]

        def work() -> None:
            result: T | None = None
            error: BaseException | None = None
            try:
                result = call()
            except MemoryError:
                error = CorruptDataError(
                    f"a file of the store is too large to read ({what})",
                    "run 'tutopanda verify' on the movie",
                )
            except BaseException as exc:  # handed to the awaiting request as it is
                error = exc
            with self._lock:
                state.finished = True
                abandoned = state.abandoned
                if abandoned:
                    self.stuck -= 1
            if abandoned:
                if discard is not None and error is None:
                    discard(result)  # type: ignore[arg-type]
                return
            with suppress(RuntimeError):  # the loop closed meanwhile: nobody waits for this read
                loop.call_soon_threadsafe(settle, result, error)

        threading.Thread(target=work, name=f"viewer: {what}", daemon=True).start()
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.deadline)
        except TimeoutError:
            with self._lock:
                if not state.finished:
                    state.abandoned = True
                    self.stuck += 1
            raise StoreTimeoutError(
                f"the store did not answer within {self.deadline:g} s ({what})",
                "a file of the movie may be a named pipe, a device or on a stuck disk: "
                "run 'tutopanda verify' on the movie",
            ) from None


# --- Blob streaming ---------------------------------------------------------------------------------


class _Source:
    """An opened blob: positioned reads of at most ``CHUNK_BYTES``, called from worker threads."""

    def __init__(self, size: int, reader: Callable[[int, int], bytes], closer: Callable[[], None]) -> None:
        self.size = size
        self.read_at = reader
        self.close = closer


def _check_size(artefact_id: str, size: int, expected: int) -> None:
    """A blob whose size is not the manifest's is corrupt (or enormous): refused before a byte is sent."""
    if size != expected:
        raise CorruptDataError(
            f"the blob of {artefact_id} holds {size:,} bytes, not {expected:,} as its manifest says",
            "run 'tutopanda verify' on the movie",
        )


def _open_local(path: str, expected_size: int, artefact_id: str) -> _Source:
    """Open ``path`` as untrusted input and accept it only as a regular file of ``expected_size`` bytes.

    :func:`~tutopanda.core.store.regular_file.open_regular` opens without blocking (a named pipe otherwise
    waits for a writer, forever) and checks the open descriptor, so a file swapped after :mod:`data`
    looked at it is caught too; the size is checked on the same descriptor.
    """
    try:
        stream = open_regular(path)
    except FileNotFoundError:
        raise data.NotFoundError(f"the blob of {artefact_id} is missing from the store") from None
    except OSError as exc:
        raise CorruptDataError(
            f"cannot open the blob of {artefact_id}: {exc.strerror or exc}", "run 'tutopanda verify'"
        ) from None
    try:
        fd = stream.fileno()
        size = os.fstat(fd).st_size
        _check_size(artefact_id, size, expected_size)
    except BaseException:
        stream.close()
        raise
    return _Source(size, lambda offset, count: os.pread(fd, count, offset), stream.close)


def _open_remote(ctx: StorageContext, path: str, expected_size: int, artefact_id: str) -> _Source:
    """An fsspec blob, opened for seek-and-read (object stores hold no pipes, but sizes can lie)."""
    size = ctx.size(path)
    _check_size(artefact_id, size, expected_size)
    stack = ExitStack()
    stream: IO[bytes] = stack.enter_context(ctx.open_read(path))
    lock = threading.Lock()

    def read_at(offset: int, count: int) -> bytes:
        with lock:
            stream.seek(offset)
            return stream.read(count)

    return _Source(size, read_at, stack.close)


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _byte_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """The single range ``header`` asks for as ``(start, end)`` (end inclusive).

    ``None``: serve the whole file (no header, or one this server ignores, as HTTP allows: several
    ranges, a malformed one). ``"unsatisfiable"``: a range wholly outside the file (416).
    """
    if header is None:
        return None
    found = _RANGE.match(header.replace(" ", ""))
    if found is None:
        return None
    first, last = found.groups()
    if first == "":
        if last == "" or int(last) == 0:
            return "unsatisfiable"
        return max(0, size - int(last)), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size or start > end:
        return "unsatisfiable"
    return start, end


class _BlobResponse(Response):
    """A blob sent whole or by range, read in ``CHUNK_BYTES`` chunks in worker threads.

    Each chunk is read only after the previous one was handed to the server, and the server's
    ``send`` waits while the client is not reading (uvicorn's flow control): a stalled client holds
    one chunk, never the file. The source is closed however the response ends. (Not Starlette's
    ``FileResponse``: that one opens the file again by its path, which may have become a pipe.)
    """

    def __init__(self, source: _Source, media_type: str, etag: str, range_header: str | None) -> None:
        self.source = source
        self.media_type = media_type
        self.etag = etag
        self.range_header = range_header
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:

                async def stop_on_disconnect() -> None:
                    # A client that went away is not an error, but the server's send then returns at
                    # once: without this the rest of the file would be read for nobody.
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(stop_on_disconnect)
                await self._send(scope, send)
                group.cancel_scope.cancel()
        finally:
            self.source.close()

    async def _send(self, scope: Scope, send: Send) -> None:
        size = self.source.size
        headers = {
            **_HEADERS,
            "Accept-Ranges": "bytes",
            "ETag": self.etag,
            "Content-Type": str(self.media_type),
        }
        wanted = _byte_range(self.range_header, size)
        if wanted == "unsatisfiable":
            refused = PlainTextResponse(
                "range not satisfiable\n",
                status_code=416,
                headers={**_HEADERS, "Content-Range": f"bytes */{size}"},
            )
            await refused(scope, _no_receive, send)
            return
        status = 200
        start, end = 0, size - 1
        if isinstance(wanted, tuple):
            status, (start, end) = 206, wanted
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(end - start + 1)
        raw = [(key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        if scope.get("method", "GET").upper() == "HEAD" or end < start:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        offset = start
        while offset <= end:
            count = min(CHUNK_BYTES, end - offset + 1)
            chunk = await anyio.to_thread.run_sync(self.source.read_at, offset, count)
            if not chunk:  # the file shrank under us: end the response short, the client sees it
                raise CorruptDataError("a blob shrank while it was being sent", "run 'tutopanda verify'")
            offset += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": offset <= end})


# --- Edits (only with --allow-edits) ----------------------------------------------------------------


def _refused(message: str) -> Response:
    """403 for an edit request that did not come from the viewer's own page."""
    return _json(
        {"error": message, "hint": "reload the movie page at the viewer's address and edit there"}, 403
    )


async def _edit_body(request: Request, token: str) -> dict[str, Any] | Response:
    """The JSON body of an edit request once it proved it comes from the viewer's own page (else 403).

    Three checks, each enough against a cross-site form or script: the page's token (another origin
    cannot read the page), an ``Origin`` that is this very host (browsers set it on every POST and a
    page cannot forge it), and a JSON content type (a cross-origin JSON POST needs a CORS preflight,
    which this app never answers). The Host itself was checked first by :class:`_HostGuard`.
    """
    import hmac
    import json

    sent = request.headers.get(TOKEN_HEADER, "")
    if not hmac.compare_digest(sent.encode("utf-8"), token.encode("utf-8")):
        return _refused("this request does not carry the page's edit token")
    origin = request.headers.get("origin", "")
    host = request.headers.get("host", "").lower()
    if origin.lower() not in (f"http://{host}", f"https://{host}"):
        return _refused(f"edits are accepted only from this viewer's own page (origin {origin or 'missing'})")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return _refused("an edit request must be JSON")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_EDIT_BODY:
            raise UsageError("the edit request is too large", "edit fewer or shorter texts at once")
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        raise UsageError("the edit request is not valid JSON", "send it from the viewer's page") from None
    if not isinstance(parsed, dict):
        raise UsageError("the edit request must be a JSON object", "send it from the viewer's page")
    return parsed


def _edit_routes(
    editor: Editor,
    token: str,
    store: _StoreCalls,
    planning: _StoreCalls,
    movie_of: Callable[[Request], str],
) -> list[Route]:
    """The editing API: the texts, a preview (the plan), the start of a build, its state."""

    def checked(request: Request) -> str:
        return data.checked_movie(editor.ctx, movie_of(request))

    async def texts(request: Request) -> Response:
        return _json(await store.run("reading the texts", lambda: editor.texts(checked(request))))

    async def status(request: Request) -> Response:
        return _json(await store.run("reading the build", lambda: editor.status(checked(request))))

    async def preview(request: Request) -> Response:
        body = await _edit_body(request, token)
        if isinstance(body, Response):
            return body
        texts_wanted = body.get("texts")
        return _json(
            await planning.run(
                "planning an edit", lambda: editor.preview(checked(request), texts_wanted or {})
            )
        )

    async def start(request: Request) -> Response:
        body = await _edit_body(request, token)
        if isinstance(body, Response):
            return body
        started = await store.run(
            "starting a build",
            lambda: editor.start(checked(request), body.get("token", ""), body.get("acceptCost")),
        )
        return _json(started, 202)

    return [
        Route("/api/movies/{movie}/editing", texts),
        Route("/api/movies/{movie}/edit", status),
        Route("/api/movies/{movie}/edit/preview", preview, methods=["POST"]),
        Route("/api/movies/{movie}/edit/start", start, methods=["POST"]),
    ]


async def _no_receive() -> dict[str, Any]:  # pragma: no cover - a plain response never reads
    return {"type": "http.disconnect"}


# --- The app ----------------------------------------------------------------------------------------


def _movie_of(request: Request) -> str:
    return str(request.path_params["movie"])


def _page_routes(static: Path, default_movie: str | None, edit_token: str | None) -> list[Route]:
    """The two HTML pages: the movie list at ``/`` (or a redirect to ``default_movie``) and a movie's page."""

    async def index(request: Request) -> Response:
        if default_movie is not None and "list" not in request.query_params:
            return Response(status_code=307, headers={"Location": f"/movies/{default_movie}"})
        return FileResponse(static / "index.html", headers=_HEADERS)

    async def movie_page(request: Request) -> Response:
        if edit_token is None:
            return FileResponse(static / "movie.html", headers=_HEADERS)
        # The edit token goes into the page itself: only a page this viewer served (same origin) can
        # read it, so a request carrying it came from the user's own tab.
        page = (static / "movie.html").read_text(encoding="utf-8")
        meta = f'<meta name="tutopanda-edit-token" content="{edit_token}">\n</head>'
        return HTMLResponse(page.replace("</head>", meta, 1), headers=_HEADERS)

    return [Route("/", index), Route("/movies/{movie}", movie_page)]


def _reading_routes(ctx: StorageContext, store: _StoreCalls) -> list[Route]:
    """The JSON API the pages read: each answer is one :mod:`data` call, run as a store read."""

    def reading(what: str, call: Callable[[Request], Any]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return _json(await store.run(what, lambda: call(request)))

        return endpoint

    def detail(request: Request) -> Any:
        return data.movie_detail(ctx, _movie_of(request), request.query_params.get("revision"))

    def timeline(request: Request) -> Any:
        return data.movie_timeline(ctx, _movie_of(request), request.query_params.get("revision"))

    def api_diff(request: Request) -> Any:
        params = request.query_params
        return data.movie_diff(ctx, _movie_of(request), params.get("from"), params.get("to"))

    return [
        Route("/api/movies", reading("listing the movies", lambda request: data.movie_list(ctx))),
        Route("/api/movies/{movie}", reading("reading a movie", detail)),
        Route("/api/movies/{movie}/timeline", reading("reading a timeline", timeline)),
        Route(
            "/api/movies/{movie}/revisions",
            reading("listing revisions", lambda request: data.movie_revisions(ctx, _movie_of(request))),
        ),
        Route("/api/movies/{movie}/diff", reading("comparing revisions", api_diff)),
        Route(
            "/api/movies/{movie}/progress",
            reading(
                "reading build progress",
                lambda request: data.build_progress(ctx, _movie_of(request)) or {"building": False},
            ),
        ),
    ]


def _artefact_endpoint(ctx: StorageContext, store: _StoreCalls) -> Callable[[Request], Awaitable[Response]]:
    """An artefact's blob, streamed (:class:`_BlobResponse`); the blob is opened as a store read."""

    async def api_artefact(request: Request) -> _BlobResponse:
        movie = _movie_of(request)
        artefact = str(request.path_params["artefact"])
        revision = request.query_params.get("revision")

        def open_blob() -> tuple[_Source, data.ServedBlob]:
            served = data.artefact_blob(ctx, movie, artefact, revision)
            if served.local:
                return _open_local(served.path, served.size, artefact), served
            return _open_remote(ctx, served.path, served.size, artefact), served

        source, served = await store.run(
            f"opening a blob of {movie}", open_blob, discard=lambda opened: opened[0].close()
        )
        etag = '"' + Path(served.path).name.split(".")[0] + '"'  # the blob's SHA-256: a strong validator
        range_header = request.headers.get("range")
        if_range = request.headers.get("if-range")
        if if_range is not None and if_range != etag:
            range_header = None  # the client's copy is another version: send it all
        return _BlobResponse(source, served.media_type, etag, range_header)

    return api_artefact


async def _not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return _json({"error": "not found"}, 404)
    return Response("not found", status_code=404, media_type="text/plain", headers=_HEADERS)


async def _tutopanda_error(request: Request, exc: Exception) -> Response:
    """A :class:`TutopandaError` as JSON (message and hint), its status saying whose fault it is."""
    assert isinstance(exc, TutopandaError)
    if isinstance(exc, StoreTimeoutError):
        status = 503
    elif isinstance(exc, ManifestConflictError | LockHeldError):
        status = 409
    else:
        status = 404 if isinstance(exc, data.NotFoundError) else 400 if exc.exit_code == 2 else 500
    return _json({"error": exc.message, "hint": exc.hint}, status)


def create_app(
    ctx: StorageContext,
    *,
    default_movie: str | None = None,
    hosts: Collection[str] | None = None,
    store_deadline: float = STORE_DEADLINE,
    editor: Editor | None = None,
) -> ASGIApp:
    """The viewer for the store behind ``ctx`` (``default_movie``: where ``/`` goes).

    ``hosts``: the Host header values to answer (:func:`allowed_hosts`); ``None`` answers the loopback
    names on any port. ``store_deadline``: seconds a store read may take before the request gets 503.
    ``editor``: allow edits from the page (``--allow-edits``); None keeps the viewer read-only.
    """
    static = _static_dir()
    store = _StoreCalls(deadline=store_deadline, max_stuck=MAX_STUCK_READS)
    edit_token = new_edit_token() if editor is not None else None
    routes: list[BaseRoute] = [
        *_page_routes(static, default_movie, edit_token),
        *_reading_routes(ctx, store),
        Route("/api/movies/{movie}/artefacts/{artefact:path}", _artefact_endpoint(ctx, store)),
    ]
    if editor is not None and edit_token is not None:
        planning = _StoreCalls(deadline=EDIT_DEADLINE, max_stuck=2)
        routes += _edit_routes(editor, edit_token, store, planning, _movie_of)
    routes.append(Mount("/static", StaticFiles(directory=static), name="static"))
    app = Starlette(
        routes=routes,
        exception_handlers={404: _not_found, TutopandaError: _tutopanda_error},
    )
    return _HostGuard(app, hosts)
