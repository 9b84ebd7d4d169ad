"""The contract between the engine and provider handlers.

The engine (planner, runner) never imports a provider. It asks a *handler resolver* for a
:class:`ProviderHandler` per job and talks to it only through the types below, so mock, local and live
handlers — built in or from a third-party plugin — are interchangeable.

A handler receives a :class:`JobContext`: the job id and producer kind, the selected provider/model, the
resolved input values by alias (text artefacts as ``str``, JSON artefacts parsed, binary artefacts as
:class:`ArtefactInput` handles that stream from the blob store, fan-in inputs as lists of groups), the
artefact ids to produce, the parsed config, the prompt template, a :class:`SecretResolver` and a logger.
It returns a :class:`JobResult` with one :class:`ProducedArtefact` per requested artefact, each either
``succeeded`` (with bytes, a chunk iterator or a local file, and a MIME type) or ``failed`` (with an error).
Whole-job failures are raised as :class:`~tutopanda.core.errors.ProviderError` (``retryable`` decides
whether the runner tries again). Secrets never go into diagnostics.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, Protocol, runtime_checkable

from tutopanda.core.logger import Logger
from tutopanda.core.store.blob_ref import BlobRef

__all__ = [
    "ArtefactInput",
    "EnvSecretResolver",
    "HandlerLimits",
    "HandlerResolver",
    "JobContext",
    "JobResult",
    "Mode",
    "ProducedArtefact",
    "ProviderHandler",
    "ResolverFactory",
    "SecretResolver",
]

Mode = Literal["mock", "live"]
"""``mock``: deterministic offline handlers for tests and dry runs. ``live``: real (local or cloud) work."""


class SecretResolver(Protocol):
    """Looks up a secret (API key) by name; None when it is not set."""

    def get(self, name: str) -> str | None: ...


class EnvSecretResolver:
    """Secrets from the process environment (the default)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ if environ is not None else os.environ

    def get(self, name: str) -> str | None:
        value = self._environ.get(name)
        return value or None


@dataclass(frozen=True)
class ArtefactInput:
    """An upstream binary artefact handed to a handler: its id, kind, blob and ways to read it.

    ``open()`` streams the bytes; ``read_bytes()`` loads them (fine for images and short audio);
    ``local_path`` is a real file path when the store is on local disk (for tools such as ffmpeg).
    """

    id: str
    kind: str
    blob: BlobRef
    opener: Callable[[], AbstractContextManager[IO[bytes]]] = field(repr=False, compare=False)
    local_path: str | None = None

    def open(self) -> AbstractContextManager[IO[bytes]]:
        """A context manager yielding a binary stream of the artefact's bytes."""
        return self.opener()

    def read_bytes(self) -> bytes:
        """All of the artefact's bytes."""
        with self.open() as stream:
            return stream.read()


@dataclass(frozen=True)
class JobContext:
    """Everything a handler needs for one call. ``inputs`` maps the producer's input aliases to values."""

    job_id: str
    kind: str
    provider: str
    model: str
    mode: Mode
    environment: str
    revision: str
    attempt: int
    inputs: Mapping[str, Any]
    produces: tuple[tuple[str, str], ...]
    """``(artefact id, artefact kind)`` pairs, in the order the blueprint declares them."""
    config: Mapping[str, Any]
    prompt: str | None
    secrets: SecretResolver
    logger: Logger
    loop_indices: Mapping[str, int] = field(default_factory=dict)
    progress: Callable[[float], None] = field(default=lambda fraction: None, repr=False, compare=False)
    """Report how far a long call is (0.0 to 1.0); the CLI draws it. Cheap to call, thread-safe."""

    @property
    def artefact_ids(self) -> tuple[str, ...]:
        """The ids of the artefacts to produce."""
        return tuple(artefact_id for artefact_id, _ in self.produces)


@dataclass
class ProducedArtefact:
    """One artefact of a job's result.

    A ``succeeded`` artefact carries exactly one of ``data`` (bytes), ``chunks`` (an iterator of bytes,
    streamed into the blob store) or ``file`` (a local temporary file, streamed in; the runner takes
    ownership and deletes it once stored, so long runs do not fill the disk), and a ``mime_type``. A
    ``failed`` one carries ``error``.
    """

    artefact_id: str
    status: Literal["succeeded", "failed"] = "succeeded"
    mime_type: str = "application/octet-stream"
    data: bytes | None = None
    chunks: Iterable[bytes] | None = None
    file: Path | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def payload_chunks(self) -> Iterator[bytes]:
        """The payload as chunks, whichever form the handler gave."""
        if self.data is not None:
            yield self.data
        elif self.chunks is not None:
            yield from self.chunks
        elif self.file is not None:
            with self.file.open("rb") as stream:
                while chunk := stream.read(1024 * 1024):
                    yield chunk


@dataclass
class JobResult:
    """A handler's answer: per-artefact results, job diagnostics (request ids, usage) and the cost in USD."""

    artefacts: list[ProducedArtefact]
    diagnostics: dict[str, Any] = field(default_factory=dict)
    cost: float | None = None


@dataclass(frozen=True)
class HandlerLimits:
    """Per-provider throttles a handler declares; the runner enforces them across all jobs sharing
    ``key`` (by default ``provider``): at most ``max_in_flight`` calls at once and ``requests_per_minute``."""

    key: str
    max_in_flight: int | None = None
    requests_per_minute: float | None = None


@runtime_checkable
class ProviderHandler(Protocol):
    """What the runner calls. ``produce`` is async; blocking work belongs in a thread (asyncio.to_thread)."""

    provider: str
    model: str
    mode: Mode
    environment: str

    @property
    def limits(self) -> HandlerLimits: ...

    async def produce(self, context: JobContext) -> JobResult: ...

    def estimate_cost(self, kind: str, config: Mapping[str, Any], produces: int) -> float | None:
        """Expected USD cost of one call, or None when unknown (shown in plans)."""
        ...


HandlerResolver = Callable[[str, str, str], ProviderHandler]
"""``(provider, model, kind) -> handler`` for the run's mode and environment (built by the registry)."""

ResolverFactory = Callable[[Mode], HandlerResolver]
"""``mode -> resolver``: what a process running jobs of several modes is given (a durable worker), so
the engine and the workflow never import the provider registry themselves."""
