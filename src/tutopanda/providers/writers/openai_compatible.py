"""A writer behind any OpenAI-compatible chat-completions server: Ollama, LM Studio, llama.cpp's
``llama-server``, vLLM, a corporate gateway.

Why chat-completions and not the Responses API the ``openai`` provider uses: local servers speak
``POST {base_url}/chat/completions`` and little else. Why plain httpx and not the ``openai`` SDK here: the
SDK's timeout is per read, so a server trickling one byte a second holds a job for ever, and it reads a
body of any size. :func:`bounded_request` streams the answer with a **total** deadline per request
(config ``timeoutSeconds``, default 300) and a size cap (:data:`MAX_ANSWER_BYTES`).

**Dead servers.** A server that could not be reached or did not answer within the deadline is remembered
as dead **in this process** (:func:`server_down`): later jobs of the run skip it at once with
``WriterUnavailableError`` (so an automatically chosen writer falls back) instead of waiting the deadline
again — an 8-job movie against a hung server waits one deadline, not eight.

**Dialects.** Servers differ in how they take a JSON schema. We try, in order:

1. ``json_schema`` — ``response_format={"type": "json_schema", "json_schema": {"name", "schema",
   "strict"}}`` (OpenAI, Ollama >= 0.5, llama-server, LM Studio, vLLM);
2. ``json_object`` with the schema beside it — ``{"type": "json_object", "schema": {...}}``
   (``python -m llama_cpp.server``, which answers 500 to the first);
3. ``plain`` — no ``response_format``; the messages ask for the JSON and the chain validates it.

A server that refuses a dialect (HTTP 400, 422, 500 or 501 while a ``response_format`` was sent) is
asked again in the next one. The dialect that worked is remembered **in this process** per server and
model (``base_url`` + model), so later jobs of the run go straight to it; a new process pays at most one
refused request per server to find it again. Nothing is written to disk for it.

**Key.** Local servers need none: a placeholder is sent. A gateway's key comes from the environment
variable named by config ``apiKeyEnv`` (default ``OPENAI_COMPATIBLE_API_KEY``) — deliberately not
``OPENAI_API_KEY``, so a real OpenAI key is never sent to some other server by accident. Keys are never
logged, stored or put in an error.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.providers.writers.backend import ChatMessage, WriterUnavailableError
from tutopanda.providers.writers.redaction import redact
from tutopanda.providers.writers.validation import AnswerInvalidError

__all__ = [
    "DEFAULT_KEY_ENV",
    "DIALECTS",
    "MAX_ANSWER_BYTES",
    "BoundedResponse",
    "CompatibleBackend",
    "RequestFailedError",
    "bounded_request",
    "check_base_url",
    "forget_dialects",
    "remembered_dialect",
    "server_down",
]

Dialect = Literal["json_schema", "json_object", "plain"]
DIALECTS: tuple[Dialect, ...] = ("json_schema", "json_object", "plain")
DEFAULT_KEY_ENV = "OPENAI_COMPATIBLE_API_KEY"
_PLACEHOLDER_KEY = "not-needed"
_DIALECT_REFUSALS = frozenset({400, 422, 500, 501})

MAX_ANSWER_BYTES = 8 * 1024 * 1024
"""The most a chat-completions answer may weigh; a script is a few kilobytes."""

_remembered: dict[tuple[str, str], Dialect] = {}
_dead: dict[str, str] = {}
_remembered_lock = threading.Lock()


def remembered_dialect(base_url: str, model: str) -> Dialect | None:
    """The dialect that last worked for this server and model in this process, if any."""
    with _remembered_lock:
        return _remembered.get((base_url.rstrip("/"), model))


def forget_dialects() -> None:
    """Forget every remembered dialect and dead server (tests; a server restarted mid-process)."""
    with _remembered_lock:
        _remembered.clear()
        _dead.clear()


def server_down(base_url: str) -> str | None:
    """Why the server at ``base_url`` was found dead earlier in this process, if it was."""
    with _remembered_lock:
        return _dead.get(base_url.rstrip("/"))


def _mark_down(base_url: str, why: str) -> None:
    with _remembered_lock:
        _dead.setdefault(base_url.rstrip("/"), why)


class RequestFailedError(Exception):
    """A bounded request got no usable answer: ``kind`` is ``unreachable``, ``timeout`` or ``too-large``."""

    def __init__(self, kind: Literal["unreachable", "timeout", "too-large"], message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class BoundedResponse:
    """Status, content type and (capped) body of one bounded request."""

    status: int
    content_type: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def bounded_request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    payload: Any = None,
    timeout: float,
    max_bytes: int,
) -> BoundedResponse:
    """One HTTP request that takes at most about ``timeout`` seconds in total and reads at most
    ``max_bytes`` of body; RequestFailedError otherwise.

    Why not httpx's ``timeout`` alone: it bounds each socket operation, not the request, so a server
    sending one byte a second never times out; and ``response.read()`` holds any size in memory. Here
    each operation waits at most the time left, the deadline is checked between chunks, and the body
    stops at the cap (a ``Content-Length`` over it is refused before reading).
    """
    import httpx

    deadline = time.monotonic() + timeout

    def left() -> float:
        return max(deadline - time.monotonic(), 0.001)

    try:
        with httpx.Client(timeout=httpx.Timeout(left()), follow_redirects=False) as client:
            request = client.build_request(method, url, headers=dict(headers), json=payload)
            response = client.send(request, stream=True)
            try:
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise RequestFailedError(
                        "too-large", f"answered {int(declared)} bytes (limit {max_bytes})"
                    )
                timeouts = request.extensions.get("timeout")
                if isinstance(timeouts, dict):  # body reads may wait only for the time left, not afresh
                    timeouts["read"] = left()
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise RequestFailedError("too-large", f"answered more than {max_bytes} bytes")
                    chunks.append(chunk)
                    if time.monotonic() >= deadline:
                        raise RequestFailedError("timeout", f"did not answer within {timeout:g} s")
            finally:
                response.close()
    except httpx.TimeoutException:
        raise RequestFailedError("timeout", f"did not answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise RequestFailedError("unreachable", f"cannot be reached ({type(exc).__name__})") from None
    kind = str(response.headers.get("content-type") or "").split(";")[0].strip()
    return BoundedResponse(response.status_code, kind, b"".join(chunks))


def _remember(base_url: str, model: str, dialect: Dialect) -> None:
    with _remembered_lock:
        _remembered[(base_url.rstrip("/"), model)] = dialect


def check_base_url(base_url: str, where: str) -> str:
    """``base_url`` without a trailing slash; ProviderConfigError unless it is a plain http(s) URL."""
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Not the URL itself: it may hold a key (``host/v1?api_key=...``), and this message reaches
        # logs and MCP clients. Its start says which value is meant.
        shown = url.split("?", 1)[0].split("#", 1)[0].split("@")[-1][:40]
        raise ProviderConfigError(
            f"{where}: base URL {shown!r}… is not an http(s) URL",
            "e.g. http://localhost:11434/v1 (Ollama) or http://localhost:8080/v1 (llama-server)",
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ProviderConfigError(
            f"{where}: base URL {parts.scheme}://{parts.hostname}… has credentials, a query or a fragment",
            f"give the plain URL and put a key in the environment variable {DEFAULT_KEY_ENV}",
        )
    return url


class CompatibleBackend:
    """:class:`~tutopanda.providers.writers.backend.TextBackend` over one server and model."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 300.0,
    ) -> None:
        self.base_url = check_base_url(base_url, "openai-compatible")
        self.model = model
        self.name = f"{model} at {self.base_url}"
        self._api_key = api_key or _PLACEHOLDER_KEY
        self._timeout = timeout
        self.dialect: Dialect | None = None
        """The dialect of the last successful request."""

    def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema: Mapping[str, Any] | None = None,
        max_tokens: int = 2048,
        temperature: float = 0.7,
        seed: int | None = None,
    ) -> str:
        """One chat completion, trying dialects in order (see the module docstring)."""
        down = server_down(self.base_url)
        if down is not None:
            raise WriterUnavailableError(
                f"{self.base_url} {down} earlier in this run; skipped",
                "check the server, then run the build again",
            )
        remembered = remembered_dialect(self.base_url, self.model)
        dialects: tuple[Dialect, ...] = ("plain",) if schema is None else DIALECTS
        if remembered in dialects:
            dialects = dialects[dialects.index(remembered) :]
        last_refusal = ""
        for dialect in dialects:
            request: dict[str, Any] = {
                "model": self.model,
                "messages": [dict(message) for message in messages],
                "max_tokens": max_tokens,
                "temperature": temperature,
            }
            if seed is not None:
                request["seed"] = seed
            if schema is not None and dialect == "json_schema":
                request["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "answer", "schema": dict(schema), "strict": True},
                }
            elif schema is not None and dialect == "json_object":
                request["response_format"] = {"type": "json_object", "schema": dict(schema)}
            refused, text = self._call(request, dialect)
            if refused is None:
                _remember(self.base_url, self.model, dialect)
                self.dialect = dialect
                return text
            last_refusal = refused
        raise ProviderError(f"{self.name} refused every request format ({last_refusal})")

    def _call(self, request: dict[str, Any], dialect: Dialect) -> tuple[str | None, str]:
        """``(None, text)`` on an answer; ``(reason, "")`` when the server refused this dialect."""
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        try:
            response = bounded_request(
                "POST",
                f"{self.base_url}/chat/completions",
                headers=headers,
                payload=request,
                timeout=self._timeout,
                max_bytes=MAX_ANSWER_BYTES,
            )
        except RequestFailedError as exc:
            if exc.kind == "too-large":
                raise ProviderError(f"{self.name} {exc.message}", retryable=False) from None
            _mark_down(
                self.base_url, "did not answer in time" if exc.kind == "timeout" else "was unreachable"
            )
            if exc.kind == "timeout":
                raise WriterUnavailableError(
                    f"{self.name} {exc.message}",
                    "a slow model: raise timeoutSeconds in the writer's config, or use a smaller model",
                ) from None
            raise WriterUnavailableError(
                f"no OpenAI-compatible server answers at {self.base_url}",
                "start it (e.g. `ollama serve`), or fix the base URL (config baseUrl / OPENAI_BASE_URL)",
            ) from None
        status = response.status
        if status >= 400:
            detail = self._error_detail(response)
            if status in (401, 403):
                raise WriterUnavailableError(
                    f"{self.name} refused the key (HTTP {status})",
                    f"set the server's key in {DEFAULT_KEY_ENV} (or the variable named by config apiKeyEnv)",
                )
            if status == 404:
                raise WriterUnavailableError(
                    f"{self.name}: HTTP 404 ({detail})",
                    f"is the model pulled (`ollama pull {self.model}`)? does the base URL end in /v1?",
                )
            if "response_format" in request and status in _DIALECT_REFUSALS:
                return f"{dialect}: HTTP {status}", ""
            raise ProviderError(f"{self.name}: HTTP {status} ({detail})", retryable=status >= 500)
        return None, self._answer(response)

    def _error_detail(self, response: BoundedResponse) -> str:
        """The server's error message, short, on one line, with the key and any bearer token removed
        (some gateways echo the request headers in a 400 body)."""
        message: Any = None
        try:
            body = json.loads(response.text)
        except ValueError:
            body = None
        if isinstance(body, dict):
            error = body.get("error", body)
            message = error.get("message") if isinstance(error, dict) else error
        text = " ".join(str(message or response.text or "no details").split())
        return redact(text, [self._api_key])[:160]

    def _answer(self, response: BoundedResponse) -> str:
        try:
            body = json.loads(response.text)
        except ValueError:
            kind = response.content_type or "no content type"
            raise WriterUnavailableError(
                f"{self.base_url} answered with something that is not chat-completions JSON ({kind})",
                "check that the base URL is the server's OpenAI-compatible address, ending in /v1",
            ) from None
        choices = body.get("choices") if isinstance(body, dict) else None
        first = choices[0] if isinstance(choices, list) and choices else None
        message = first.get("message") if isinstance(first, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str):
            raise WriterUnavailableError(
                f"{self.base_url} answered JSON without choices[0].message.content",
                "check that the base URL is an OpenAI-compatible chat-completions server",
            )
        if (
            isinstance(first, dict)
            and first.get("finish_reason") == "length"
            and not content.strip().endswith("}")
        ):
            raise AnswerInvalidError("the answer was cut off (the token limit was reached)")
        return content
