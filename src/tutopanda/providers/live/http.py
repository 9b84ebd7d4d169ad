"""HTTP for the live handlers: one error policy, timeouts, and streamed downloads.

Why one module: every provider answers failures differently, but the runner only needs to know three
things — retry (429, 5xx, timeouts, dropped connections; with the provider's ``Retry-After``), stop the
run (401/402/403 and quota codes: the account cannot pay, see
:class:`~tutopanda.core.errors.ProviderAccountError`), or fail the job (other 4xx). Messages carry the
provider's own error text, never a request header, so an API key cannot leak into events or logs.

Handlers open one :class:`httpx.AsyncClient` per call (``async with client(...)``): clients are bound to
an event loop, and each build runs its own loop. Outputs are streamed to a temporary file (the runner
moves it into the blob store and deletes it), so a large video never sits in memory.
"""

from __future__ import annotations

import email.utils
import tempfile
import time
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import httpx

from tutopanda import __version__
from tutopanda.core.errors import ProviderAccountError, ProviderError, ProviderTimeoutError, RateLimitedError
from tutopanda.core.media_type import media_type_of_bytes

__all__ = [
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "client",
    "download",
    "error_detail",
    "raise_for_response",
    "redact",
    "retry_after_of",
    "send",
]

USER_AGENT = f"tutopanda/{__version__}"
DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=15.0)
"""Per request; long generations are polled, so no single request needs to wait longer."""

_MAX_DETAIL = 300
_DOWNLOAD_CHUNK = 1 << 20


def client(
    *, base_url: str, headers: dict[str, str], timeout: httpx.Timeout | None = None
) -> httpx.AsyncClient:
    """A client for one call: base URL, auth headers, our user agent, sane timeouts."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"User-Agent": USER_AGENT, **headers},
        timeout=timeout or DEFAULT_TIMEOUT,
        follow_redirects=True,
    )


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def retry_after_of(response: httpx.Response) -> float | None:
    """Seconds to wait: ``retry-after-ms``, ``Retry-After`` (seconds or HTTP date) or a body field."""
    headers = response.headers
    if "retry-after-ms" in headers:
        try:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(raw) if raw else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    body = _json(response)
    if isinstance(body, dict):
        for key in ("retry_after", "retryAfter"):
            value = body.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return max(0.0, float(value))
    return None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def error_detail(response: httpx.Response) -> tuple[str, str | None]:
    """The provider's own error message and code from the body (``error.message``, ``detail``, ``title``)."""
    body = _json(response)
    message: str | None = None
    code: str | None = None
    if isinstance(body, dict):
        error = body.get("error")
        detail = body.get("detail")
        if isinstance(error, dict):
            message = str(error.get("message") or "") or None
            code = str(error.get("code") or error.get("type") or "") or None
        elif isinstance(error, str):
            message = error
        if message is None and isinstance(detail, dict):
            message = str(detail.get("message") or "") or None
            code = str(detail.get("code") or detail.get("status") or "") or None
        elif message is None and isinstance(detail, str):
            message = detail
        if message is None and isinstance(body.get("title"), str):
            message = body["title"]
    if message is None:
        text = response.text.strip() if response.content else ""
        message = text.splitlines()[0] if text else response.reason_phrase or "no details"
    if len(message) > _MAX_DETAIL:
        message = message[: _MAX_DETAIL - 1] + "…"
    return message, code


def raise_for_response(
    response: httpx.Response,
    *,
    provider: str,
    what: str,
    account_hint: str,
    account_codes: Collection[str] = (),
    busy_codes: Collection[str] = (),
    secrets: Iterable[str | None] = (),
) -> None:
    """Raise the error the runner acts on for a failed ``response``; return quietly on success.

    ``account_codes``: error codes that mean "no credit" even on a 429 (OpenAI ``insufficient_quota``).
    ``busy_codes``: 429 codes that mean the provider is overloaded (back off longer) rather than "too many
    of your requests at once" (retry as soon as a slot frees).
    """
    if response.is_success:
        return
    status = response.status_code
    message, code = error_detail(response)
    keys = list(secrets)
    text = redact(f"{provider} {what}: HTTP {status}: {message}" + (f" ({code})" if code else ""), keys)
    request_id = response.headers.get("x-request-id") or response.headers.get("request-id")
    hint_suffix = f" (request id {request_id})" if request_id else ""
    if status in (401, 402, 403) or (code is not None and code in account_codes):
        raise ProviderAccountError(text, account_hint + hint_suffix)
    if status == 429:
        wait = retry_after_of(response)
        if code is not None and code in busy_codes:
            wait = max(wait or 0.0, 5.0)
        raise RateLimitedError(
            text, "the provider asked to slow down; the runner retries" + hint_suffix, retry_after=wait
        )
    if status in (408, 409, 425) or status >= 500:
        raise ProviderError(
            text,
            "a temporary provider failure" + hint_suffix,
            retryable=True,
            retry_after=retry_after_of(response),
        )
    raise ProviderError(
        text, "the provider rejected the request; check the job's inputs and config" + hint_suffix
    )


async def send(
    http: httpx.AsyncClient, method: str, url: str, *, provider: str, **kwargs: Any
) -> httpx.Response:
    """``http.request`` with timeouts and connection failures turned into retryable provider errors."""
    try:
        return await http.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise ProviderTimeoutError(
            f"{provider}: {method} {_path(url)} timed out ({type(exc).__name__})"
        ) from None
    except httpx.TransportError as exc:
        raise ProviderError(
            f"{provider}: {method} {_path(url)} failed: {type(exc).__name__}",
            "a network problem",
            retryable=True,
        ) from None


def _path(url: str) -> str:
    """The URL without its query (signed download URLs carry tokens in the query)."""
    return url.split("?", 1)[0]


async def download(
    http: httpx.AsyncClient, url: str, *, provider: str, max_bytes: int = 4 << 30
) -> tuple[Path, str]:
    """Stream ``url`` into a temporary file; return it and its media type (from its first bytes).

    The caller owns the file (hand it to the runner as ``ProducedArtefact.file``). Output URLs of
    providers such as Replicate expire after an hour, so handlers download as soon as a job finishes.
    """
    handle = tempfile.NamedTemporaryFile(prefix="tutopanda-download-", delete=False)  # noqa: SIM115
    path = Path(handle.name)
    head = b""
    size = 0
    try:
        with handle:
            try:
                async with http.stream("GET", url) as response:
                    if not response.is_success:
                        await response.aread()
                        raise_for_response(
                            response,
                            provider=provider,
                            what=f"download of {_path(url)}",
                            account_hint="check the account",
                        )
                    async for chunk in response.aiter_bytes(_DOWNLOAD_CHUNK):
                        if len(head) < 512:
                            head += chunk[: 512 - len(head)]
                        size += len(chunk)
                        if size > max_bytes:
                            raise ProviderError(
                                f"{provider}: download of {_path(url)} exceeds {max_bytes} bytes"
                            )
                        handle.write(chunk)
            except httpx.TimeoutException:
                raise ProviderTimeoutError(f"{provider}: download of {_path(url)} timed out") from None
            except httpx.TransportError as exc:
                raise ProviderError(
                    f"{provider}: download of {_path(url)} failed: {type(exc).__name__}", retryable=True
                ) from None
        if size == 0:
            raise ProviderError(f"{provider}: download of {_path(url)} was empty", retryable=True)
        return path, media_type_of_bytes(head)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
