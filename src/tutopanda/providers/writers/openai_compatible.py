"""A writer behind any OpenAI-compatible chat-completions server: Ollama, LM Studio, llama.cpp's
``llama-server``, vLLM, a corporate gateway.

Why chat-completions and not the Responses API the ``openai`` provider uses: local servers speak
``POST {base_url}/chat/completions`` and little else. Why the official ``openai`` SDK: it already knows
that wire format and its errors; only ``base_url`` and the key change.

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
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.providers.writers.backend import ChatMessage, WriterUnavailableError
from tutopanda.providers.writers.validation import AnswerInvalidError

__all__ = [
    "DEFAULT_KEY_ENV",
    "DIALECTS",
    "CompatibleBackend",
    "check_base_url",
    "forget_dialects",
    "remembered_dialect",
]

Dialect = Literal["json_schema", "json_object", "plain"]
DIALECTS: tuple[Dialect, ...] = ("json_schema", "json_object", "plain")
DEFAULT_KEY_ENV = "OPENAI_COMPATIBLE_API_KEY"
_PLACEHOLDER_KEY = "not-needed"
_DIALECT_REFUSALS = frozenset({400, 422, 500, 501})

_remembered: dict[tuple[str, str], Dialect] = {}
_remembered_lock = threading.Lock()


def remembered_dialect(base_url: str, model: str) -> Dialect | None:
    """The dialect that last worked for this server and model in this process, if any."""
    with _remembered_lock:
        return _remembered.get((base_url.rstrip("/"), model))


def forget_dialects() -> None:
    """Forget every remembered dialect (tests; a server that was upgraded mid-process)."""
    with _remembered_lock:
        _remembered.clear()


def _remember(base_url: str, model: str, dialect: Dialect) -> None:
    with _remembered_lock:
        _remembered[(base_url.rstrip("/"), model)] = dialect


def check_base_url(base_url: str, where: str) -> str:
    """``base_url`` without a trailing slash; ProviderConfigError unless it is a plain http(s) URL."""
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderConfigError(
            f"{where}: base URL {url!r} is not an http(s) URL",
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

    def _client(self) -> Any:
        try:
            from openai import OpenAI
        except ImportError as exc:  # pragma: no cover - openai is a core dependency
            raise WriterUnavailableError("the openai package is not installed", "pip install openai") from exc
        return OpenAI(base_url=self.base_url, api_key=self._api_key, timeout=self._timeout, max_retries=0)

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
        client = self._client()
        try:
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
                refused, text = self._call(client, request, dialect)
                if refused is None:
                    _remember(self.base_url, self.model, dialect)
                    self.dialect = dialect
                    return text
                last_refusal = refused
            raise ProviderError(f"{self.name} refused every request format ({last_refusal})")
        finally:
            client.close()

    def _call(self, client: Any, request: dict[str, Any], dialect: Dialect) -> tuple[str | None, str]:
        """``(None, text)`` on an answer; ``(reason, "")`` when the server refused this dialect."""
        import openai

        try:
            raw = client.chat.completions.with_raw_response.create(**request)
        except openai.APITimeoutError:
            raise ProviderError(
                f"{self.name} did not answer within {self._timeout:g} s",
                "a slow model: raise timeoutSeconds in the writer's config, or use a smaller model",
            ) from None
        except openai.APIConnectionError:
            raise WriterUnavailableError(
                f"no OpenAI-compatible server answers at {self.base_url}",
                "start it (e.g. `ollama serve`), or fix the base URL (config baseUrl / OPENAI_BASE_URL)",
            ) from None
        except openai.APIStatusError as exc:
            status = exc.status_code
            detail = _error_detail(exc)
            if status in (401, 403):
                raise WriterUnavailableError(
                    f"{self.name} refused the key (HTTP {status})",
                    f"set the server's key in {DEFAULT_KEY_ENV} (or the variable named by config apiKeyEnv)",
                ) from None
            if status == 404:
                raise WriterUnavailableError(
                    f"{self.name}: HTTP 404 ({detail})",
                    f"is the model pulled (`ollama pull {self.model}`)? does the base URL end in /v1?",
                ) from None
            if "response_format" in request and status in _DIALECT_REFUSALS:
                return f"{dialect}: HTTP {status}", ""
            raise ProviderError(f"{self.name}: HTTP {status} ({detail})", retryable=status >= 500) from None
        return None, self._answer(raw.http_response)

    def _answer(self, response: Any) -> str:
        try:
            body = json.loads(response.text)
        except ValueError:
            kind = str(response.headers.get("content-type") or "no content type").split(";")[0]
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


def _error_detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, dict) else error
        if message:
            return " ".join(str(message).split())[:160]
    return " ".join(str(getattr(exc, "message", "") or "no details").split())[:160]
