"""What the OpenAI handlers share: the SDK client they call through, and its errors turned into ours.

Why a client of our own making: the official SDK retries by itself (twice by default) and, from 3.x on,
talks through its own HTTP stack. The runner owns retries (it knows about every job and the account's
throttles), and tests mock HTTP with respx, which only sees ``httpx``. So every call goes through an
``AsyncOpenAI`` built with ``max_retries=0`` on an ``httpx.AsyncClient`` opened for that one call (clients
are bound to an event loop; each build runs its own loop).

Where calls go (:mod:`tutopanda.providers.live.endpoints`): the default API, ``OPENAI_BASE_URL`` or a
config ``baseUrl`` (the SDK's own reading of ``OPENAI_BASE_URL`` is bypassed because we pass the URL
explicitly, so we read it ourselves), or Azure OpenAI when ``AZURE_OPENAI_ENDPOINT`` is set: the SDK's
Azure client then sends the key as ``api-key``, puts the deployment in the path and adds ``api-version``.

Why one error mapping: the SDK raises its own exception tree; the runner acts on three answers only —
retry, stop the run (the account cannot pay), or fail the job. An HTTP error is handed to
:func:`tutopanda.providers.live.http.raise_for_response` (one policy for every provider), with OpenAI's
``insufficient_quota`` code marked as an account error even though it arrives as a 429. OpenAI sends no
``Retry-After`` on most 429s but says when its limits reset (``x-ratelimit-reset-requests: 1s``), which
becomes the wait instead. The API key is never part of a message: texts are redacted and SDK exceptions
are not chained into ours.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any, ClassVar, cast

import httpx
import openai

from tutopanda.core.engine.provider_contract import JobContext
from tutopanda.core.errors import ProviderError, ProviderTimeoutError, RateLimitedError, TutopandaError
from tutopanda.providers.job_inputs import config_number
from tutopanda.providers.live.base import LiveHandler
from tutopanda.providers.live.endpoints import ENDPOINT_CONFIG_KEYS, Endpoint, resolve_endpoint
from tutopanda.providers.live.http import USER_AGENT, raise_for_response, redact

__all__ = [
    "ACCOUNT_CODES",
    "BASE_URL",
    "DEFAULT_TIMEOUT_SECONDS",
    "SECRET_HINT",
    "SECRET_NAME",
    "OpenAIHandler",
    "call_openai",
    "json_body",
    "openai_client",
    "openai_errors",
    "reset_seconds",
    "timeout_of",
]

SECRET_NAME = "OPENAI_API_KEY"
SECRET_HINT = "https://platform.openai.com/api-keys"
BASE_URL = "https://api.openai.com/v1"
ACCOUNT_CODES = frozenset({"insufficient_quota"})
"""Error codes that mean the account cannot pay, even on an HTTP 429."""
DEFAULT_TIMEOUT_SECONDS = 300.0
"""Per call: OpenAI answers in one response (no polling), and reasoning or high-quality images take time."""

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def timeout_of(context: JobContext, where: str) -> float:
    """Config ``timeoutSeconds`` (5 to 3600, default 300)."""
    return config_number(
        context.config, "timeoutSeconds", DEFAULT_TIMEOUT_SECONDS, low=5, high=3600, where=where
    )


class OpenAIHandler(LiveHandler):
    """What the OpenAI handlers share: the key's variable and the endpoint (OpenAI, compatible, Azure)."""

    secret_name: ClassVar[str] = SECRET_NAME
    secret_hint: ClassVar[str] = SECRET_HINT
    endpoint_keys: ClassVar[frozenset[str]] = ENDPOINT_CONFIG_KEYS - {"residency"}

    def endpoint(self, config: Mapping[str, Any], where: str = "") -> Endpoint:
        """Where this job's calls go (config, then the environment, then api.openai.com)."""
        return resolve_endpoint("openai", config, os.environ.get, model=self.model, where=where)

    @property
    def key_name(self) -> str:
        """``AZURE_OPENAI_API_KEY`` when the environment points at Azure OpenAI, else ``OPENAI_API_KEY``."""
        try:
            endpoint = self.endpoint({})
        except TutopandaError:
            return SECRET_NAME
        return endpoint.secret_name or SECRET_NAME

    def check_config(self, kind: str, config: Mapping[str, Any]) -> None:
        """Unknown keys refused (endpoint keys allowed), and the endpoint itself checked, before any call."""
        super().check_config(kind, config)
        self.endpoint(config, f"{self.provider}/{self.model} ({kind})")

    def request_model(self, endpoint: Endpoint) -> str:
        """The ``model`` field: the Azure deployment when the endpoint is Azure, else the model name."""
        return endpoint.deployment if endpoint.azure and endpoint.deployment else self.model


@asynccontextmanager
async def openai_client(
    api_key: str, *, timeout: float, endpoint: Endpoint | None = None
) -> AsyncIterator[openai.AsyncOpenAI]:
    """An SDK client for one call: no SDK retries, our ``httpx`` transport, closed afterwards.

    Redirects are not followed, as for every API client (:func:`tutopanda.providers.live.http.client`):
    a 3xx answer becomes an error naming where it pointed, and the key never leaves the API host.
    """
    http = httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(timeout, connect=15.0),
        follow_redirects=False,
    )
    async with http:
        # The SDK's annotation names its own HTTP package (httpx2 from 3.x on); it accepts httpx clients.
        if endpoint is not None and endpoint.azure:
            yield openai.AsyncAzureOpenAI(
                api_key=api_key,
                azure_endpoint=endpoint.base_url,
                api_version=endpoint.api_version,
                max_retries=0,
                timeout=timeout,
                http_client=cast(Any, http),
            )
            return
        yield openai.AsyncOpenAI(
            api_key=api_key,
            base_url=endpoint.base_url if endpoint is not None else BASE_URL,
            max_retries=0,
            timeout=timeout,
            http_client=cast(Any, http),
        )


def reset_seconds(text: str | None) -> float | None:
    """OpenAI's ``x-ratelimit-reset-*`` durations (``20ms``, ``1s``, ``6m0s``, ``1h2m3.5s``) in seconds."""
    if not text:
        return None
    parts = _DURATION_PART.findall(text.strip())
    if not parts or "".join(number + unit for number, unit in parts) != text.strip():
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def _limit_reset(headers: httpx.Headers) -> float | None:
    """Seconds until the exhausted limit (requests or tokens) resets, from the rate-limit headers."""
    resets: list[float] = []
    for limit in ("requests", "tokens"):
        wait = reset_seconds(headers.get(f"x-ratelimit-reset-{limit}"))
        if wait is not None and headers.get(f"x-ratelimit-remaining-{limit}", "").strip() == "0":
            resets.append(wait)
    if not resets:  # neither says it is exhausted: the sooner reset is the better guess
        resets = [
            wait
            for limit in ("requests", "tokens")
            if (wait := reset_seconds(headers.get(f"x-ratelimit-reset-{limit}"))) is not None
        ]
        return min(resets) if resets else None
    return max(resets)


def _as_httpx(response: Any) -> httpx.Response:
    """The SDK's response (``httpx`` or the SDK's own ``httpx2``) as an ``httpx.Response``."""
    if isinstance(response, httpx.Response):
        return response
    try:
        content = bytes(response.content)
    except Exception:  # a stream that was never read: the status still decides
        content = b""
    return httpx.Response(
        int(response.status_code),
        headers=[(str(key), str(value)) for key, value in response.headers.items()],
        content=content,
    )


def _status_error(
    exc: openai.APIStatusError, *, provider: str, what: str, account_hint: str, key: str
) -> None:
    response = _as_httpx(exc.response)
    try:
        raise_for_response(
            response,
            provider=provider,
            what=what,
            account_hint=account_hint,
            account_codes=ACCOUNT_CODES,
            secrets=[key],
        )
    except RateLimitedError as error:
        if error.retry_after is None:
            error.retry_after = _limit_reset(response.headers)
        raise
    # A status error on a successful status (should not happen): still a failure of the call.
    raise ProviderError(redact(f"{provider} {what}: HTTP {exc.status_code}", [key]), retryable=True)


@contextmanager
def openai_errors(*, provider: str, what: str, account_hint: str, key: str) -> Iterator[None]:
    """Turn the SDK's exceptions raised inside the block into Tutopanda's provider errors.

    HTTP errors follow :func:`~tutopanda.providers.live.http.raise_for_response` (401/402/403 and
    ``insufficient_quota`` stop the run, 429 and 5xx are retried); timeouts become
    :class:`~tutopanda.core.errors.ProviderTimeoutError`; a dropped connection a retryable error.
    """
    try:
        yield
    except openai.APIStatusError as exc:
        try:
            _status_error(exc, provider=provider, what=what, account_hint=account_hint, key=key)
        except ProviderError as error:
            raise error from None
    except openai.APITimeoutError:
        raise ProviderTimeoutError(f"{provider} {what}: no answer before the timeout") from None
    except openai.APIConnectionError as exc:
        cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else "connection error"
        raise ProviderError(
            f"{provider} {what}: the connection failed ({cause})", "a network problem", retryable=True
        ) from None
    except openai.APIResponseValidationError:
        raise ProviderError(
            f"{provider} {what}: the answer did not have the expected shape", retryable=True
        ) from None


async def call_openai(
    handler: LiveHandler,
    context: JobContext,
    what: str,
    where: str,
    request: Callable[[openai.AsyncOpenAI], Awaitable[Any]],
    endpoint: Endpoint | None = None,
) -> tuple[bytes, str | None]:
    """One API call for ``handler``'s job: our client, the job's key and timeout, errors mapped.

    ``request(client)`` makes the SDK call with ``with_raw_response``; the answer's bytes and its
    ``x-request-id`` come back (the handlers parse the bytes themselves, across SDK versions).
    """
    timeout = timeout_of(context, where)
    key = handler.api_key(context)
    with openai_errors(provider=handler.provider, what=what, account_hint=handler.account_hint, key=key):
        async with openai_client(key, timeout=timeout, endpoint=endpoint) as client:
            raw = await request(client)
            return raw.content, raw.headers.get("x-request-id")
    raise AssertionError("unreachable")  # pragma: no cover - openai_errors re-raises as ours


def json_body(content: bytes, *, provider: str, what: str) -> dict[str, Any]:
    """A successful answer's JSON object; a retryable ProviderError when it is not one."""
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise ProviderError(f"{provider} {what}: the answer is not a JSON object", retryable=True)
    return body
