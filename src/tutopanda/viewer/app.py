"""The viewer's web app: static pages plus the JSON API they read (``docs/viewer.md``).

A Starlette app, so the pages need no build step and blobs go out through ``FileResponse``, which
answers HTTP Range requests (without Range, a browser cannot seek in the video). Every route is a
thin mapping onto :mod:`tutopanda.viewer.data`; the app never writes to the store.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tutopanda.core.errors import TutopandaError
from tutopanda.core.storage import StorageContext
from tutopanda.viewer import data

__all__ = ["create_app"]

_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _static_dir() -> Path:
    return Path(str(resources.files("tutopanda.viewer").joinpath("static")))


def _json(payload: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status, headers=_HEADERS)


def create_app(ctx: StorageContext, *, default_movie: str | None = None) -> Starlette:
    """The viewer for the store behind ``ctx`` (``default_movie``: where ``/`` goes)."""
    static = _static_dir()

    async def index(request: Request) -> Response:
        if default_movie is not None and "list" not in request.query_params:
            return Response(status_code=307, headers={"Location": f"/movies/{default_movie}"})
        return FileResponse(static / "index.html", headers=_HEADERS)

    async def movie_page(request: Request) -> Response:
        return FileResponse(static / "movie.html", headers=_HEADERS)

    async def api_movies(request: Request) -> Response:
        return _json(data.movie_list(ctx))

    async def api_movie(request: Request) -> Response:
        movie = request.path_params["movie"]
        return _json(data.movie_detail(ctx, movie, request.query_params.get("revision")))

    async def api_timeline(request: Request) -> Response:
        movie = request.path_params["movie"]
        return _json(data.movie_timeline(ctx, movie, request.query_params.get("revision")))

    async def api_revisions(request: Request) -> Response:
        return _json(data.movie_revisions(ctx, request.path_params["movie"]))

    async def api_diff(request: Request) -> Response:
        params = request.query_params
        return _json(data.movie_diff(ctx, request.path_params["movie"], params.get("from"), params.get("to")))

    async def api_progress(request: Request) -> Response:
        return _json(data.build_progress(ctx, request.path_params["movie"]) or {"building": False})

    async def api_artefact(request: Request) -> Response:
        movie = request.path_params["movie"]
        served = data.artefact_blob(
            ctx, movie, request.path_params["artefact"], request.query_params.get("revision")
        )
        if served.local:
            return FileResponse(served.path, media_type=served.media_type, headers=_HEADERS)
        # A remote store (fsspec): whole bytes, no Range (seeking needs a local store).
        return Response(ctx.read_bytes(served.path), media_type=served.media_type, headers=_HEADERS)

    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return _json({"error": "not found"}, 404)
        return Response("not found", status_code=404, media_type="text/plain", headers=_HEADERS)

    async def tutopanda_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TutopandaError)
        status = 404 if isinstance(exc, data.NotFoundError) else 400 if exc.exit_code == 2 else 500
        return _json({"error": exc.message, "hint": exc.hint}, status)

    routes = [
        Route("/", index),
        Route("/movies/{movie}", movie_page),
        Route("/api/movies", api_movies),
        Route("/api/movies/{movie}", api_movie),
        Route("/api/movies/{movie}/timeline", api_timeline),
        Route("/api/movies/{movie}/revisions", api_revisions),
        Route("/api/movies/{movie}/diff", api_diff),
        Route("/api/movies/{movie}/progress", api_progress),
        Route("/api/movies/{movie}/artefacts/{artefact:path}", api_artefact),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={404: not_found, TutopandaError: tutopanda_error},
    )
