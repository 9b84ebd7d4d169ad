"""HTTP for the live handlers: one error policy, timeouts, and streamed downloads.

Why one module: every provider answers failures differently, but the runner only needs to know three
things — retry (429, 5xx, timeouts, dropped connections; with the provider's ``Retry-After``), stop the
run (401/402/403 and quota codes: the account cannot pay, see
:class:`~tutopanda.core.errors.ProviderAccountError`), or fail the job (other 4xx). Messages carry the
provider's own error text, never a request header, so an API key cannot leak into events or logs.

Handlers open one :class:`httpx.AsyncClient` per call (``async with client(...)``): clients are bound to
an event loop, and each build runs its own loop. Outputs are streamed to a temporary file (the runner
moves it into the blob store and deletes it), so a large video never sits in memory.

Redirects: an API client (:func:`client`) does **not** follow them. httpx drops only ``Authorization``
on a cross-origin redirect, so a key in another header (ElevenLabs' ``xi-api-key``) would go along to
whatever host the redirect names; a 3xx answer is an error naming where it pointed instead. Downloads
(:func:`download`, with a :func:`download_client`) follow redirects — signed output URLs often hop to a
CDN — and send no credentials at all.

Download failures are never the account's fault: the prediction is already paid for, and its signed
output URL has expired or been refused (401/403/404/410: the job fails, not retried) or the file host
is having trouble (429/5xx/timeouts: retried).
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import math
import tempfile
import time
import urllib.parse
from collections.abc import Collection, Iterable
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx

from tutopanda import __version__
from tutopanda.core.errors import ProviderAccountError, ProviderError, ProviderTimeoutError, RateLimitedError
from tutopanda.core.store.media_type import media_type_of_bytes

__all__ = [
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "client",
    "download",
    "download_client",
    "error_detail",
    "raise_for_response",
    "redact",
    "retry_after_of",
    "save_data_uri",
    "send",
]

USER_AGENT = f"tutopanda/{__version__}"
DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=15.0)
"""Per request; long generations are polled, so no single request needs to wait longer."""

_MAX_DETAIL = 300
_DOWNLOAD_CHUNK = 1 << 20
_DOWNLOAD_HEADERS = frozenset({"accept", "accept-encoding", "connection", "host", "user-agent"})
"""The only headers a download sends, whatever client it is given: no credential leaves with it."""
_GONE = frozenset({401, 403, 404, 410})
_DOWNLOAD_HINT = (
    "the output URL expired or was refused (signed URLs last about an hour); the prediction is paid "
    "for, but its output is lost: build again to make it anew"
)


def client(
    *,
    base_url: str,
    headers: dict[str, str],
    timeout: httpx.Timeout | None = None,
    follow_redirects: bool = False,
) -> httpx.AsyncClient:
    """A client for one call: base URL, auth headers, our user agent, sane timeouts.

    Redirects are not followed (a 3xx reaches :func:`raise_for_response`, which names it): httpx strips
    only ``Authorization`` on a cross-origin redirect, so any other auth header would leak.
    """
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"User-Agent": USER_AGENT, **headers},
        timeout=timeout or DEFAULT_TIMEOUT,
        follow_redirects=follow_redirects,
    )


def download_client(*, timeout: httpx.Timeout | None = None) -> httpx.AsyncClient:
    """A client for output downloads: no base URL, no credentials, follows redirects."""
    return client(base_url="", headers={}, timeout=timeout, follow_redirects=True)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def retry_after_of(response: httpx.Response) -> float | None:
    """Seconds to wait: ``retry-after-ms``, ``Retry-After`` (seconds or HTTP date) or a body field.

    A value that cannot be read (``later``, a malformed date, ``inf``/``nan``) is ignored, never raised:
    the runner then backs off on its own. A date without a real zone (``-0000``) is UTC.
    """
    headers = response.headers
    if "retry-after-ms" in headers:
        millis = _seconds(headers["retry-after-ms"])
        if millis is not None:
            return millis / 1000
    raw = headers.get("retry-after", "").strip()
    if raw:
        wait = _seconds(raw)
        if wait is None:
            wait = _seconds_until(raw)
        if wait is not None:
            return wait
    body = _json(response)
    if isinstance(body, dict):
        for key in ("retry_after", "retryAfter"):
            value = body.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                return max(0.0, float(value))
    return None


def _seconds(text: str) -> float | None:
    """A finite, non-negative number of seconds from ``text``; None when it is not one."""
    try:
        value = float(text)
    except ValueError:
        return None
    return max(0.0, value) if math.isfinite(value) else None


def _seconds_until(text: str) -> float | None:
    """Seconds from now until the HTTP date ``text`` (0 when past); None when it is not a date."""
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": the parser's "zone unknown", which HTTP dates mean as GMT
        when = when.replace(tzinfo=UTC)
    try:
        return max(0.0, when.timestamp() - time.time())
    except (OverflowError, OSError, ValueError):
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
    keys = list(secrets)
    request_id = response.headers.get("x-request-id") or response.headers.get("request-id")
    hint_suffix = f" (request id {request_id})" if request_id else ""
    if 300 <= status < 400:
        location = response.headers.get("location")
        target = f"a redirect to {_path(location)}" if location else "a redirect without a location"
        raise ProviderError(
            redact(f"{provider} {what}: HTTP {status}: {target}, not followed", keys),
            "API requests never follow redirects, so credentials stay with the provider's host; "
            "check the provider's base URL and any proxy in between" + hint_suffix,
        )
    message, code = error_detail(response)
    text = redact(f"{provider} {what}: HTTP {status}: {message}" + (f" ({code})" if code else ""), keys)
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


def _raise_for_download(response: httpx.Response, *, provider: str, url: str) -> None:
    """A failed download as the runner should see it: never an account error (see the module doc)."""
    if response.is_success:
        return
    status = response.status_code
    what = f"download of {_path(url)}"
    query = url.split("?", 1)[1] if "?" in url else None
    if status == 429 or status in (408, 409, 425) or status >= 500:
        raise_for_response(response, provider=provider, what=what, account_hint="", secrets=[query])
    if 300 <= status < 400:  # what follow_redirects could not follow (no Location, 304, ...)
        message = "a redirect that cannot be followed"
    else:
        message, _ = error_detail(response)
    text = redact(f"{provider} {what}: HTTP {status}: {message}", [query])
    if status in _GONE:
        raise ProviderError(text, _DOWNLOAD_HINT)
    raise ProviderError(text, "the file host refused the download; build again to make the output anew")


async def download(
    http: httpx.AsyncClient, url: str, *, provider: str, max_bytes: int = 4 << 30
) -> tuple[Path, str]:
    """Stream ``url`` into a temporary file; return it and its media type (from its first bytes).

    The caller owns the file (hand it to the runner as ``ProducedArtefact.file``). Output URLs of
    providers such as Replicate expire after an hour, so handlers download as soon as a job finishes.
    Redirects are followed, and the request carries no credentials whatever ``http`` holds (give it a
    :func:`download_client`): only the user agent and content negotiation headers are sent. Failures
    are plain :class:`ProviderError` s — 401/403/404/410 not retryable, 429/5xx/timeouts retryable.
    """
    handle = tempfile.NamedTemporaryFile(prefix="tutopanda-download-", delete=False)  # noqa: SIM115
    path = Path(handle.name)
    head = b""
    size = 0
    try:
        with handle:
            try:
                request = http.build_request("GET", url)
                for name in [name for name in request.headers if name.lower() not in _DOWNLOAD_HEADERS]:
                    del request.headers[name]
                response = await http.send(request, stream=True, follow_redirects=True)
                try:
                    if not response.is_success:
                        await response.aread()
                        _raise_for_download(response, provider=provider, url=url)
                    async for chunk in response.aiter_bytes(_DOWNLOAD_CHUNK):
                        if len(head) < 512:
                            head += chunk[: 512 - len(head)]
                        size += len(chunk)
                        if size > max_bytes:
                            raise ProviderError(
                                f"{provider}: download of {_path(url)} exceeds {max_bytes} bytes"
                            )
                        handle.write(chunk)
                finally:
                    await response.aclose()
            except httpx.TooManyRedirects:
                raise ProviderError(
                    f"{provider}: download of {_path(url)} redirected too many times"
                ) from None
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


def save_data_uri(uri: str, *, provider: str, max_bytes: int = 1 << 30) -> tuple[Path, str]:
    """Decode a ``data:`` URI into a temporary file; return it and its media type (from its bytes).

    Some providers answer with the file itself (``data:image/png;base64,...``) instead of a URL. The
    declared type is ignored, as a download's ``Content-Type`` is. The caller owns the file, as with
    :func:`download`. A malformed or empty URI is a non-retryable :class:`ProviderError` (the provider's
    answer will not change by reading it again); its payload is never quoted.
    """
    header, comma, payload = uri.partition(",")
    what = f"{provider}: output {header[:60]}"
    if not header.lower().startswith("data:") or not comma:
        raise ProviderError(f"{what}: not a data: URI (no comma before the payload)")
    try:
        if header.lower().endswith(";base64"):
            data = base64.b64decode("".join(payload.split()), validate=True)
        else:
            data = urllib.parse.unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise ProviderError(f"{what}: the data: URI's payload is not valid base64") from None
    if not data:
        raise ProviderError(f"{what}: the data: URI is empty")
    if len(data) > max_bytes:
        raise ProviderError(f"{what}: the data: URI exceeds {max_bytes} bytes")
    handle = tempfile.NamedTemporaryFile(prefix="tutopanda-download-", delete=False)  # noqa: SIM115
    path = Path(handle.name)
    try:
        with handle:
            handle.write(data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, media_type_of_bytes(data[:512])
