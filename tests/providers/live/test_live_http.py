"""The live handlers' shared HTTP policy: which failures retry, which stop the run, streamed downloads."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from tutopanda.core.errors import ProviderAccountError, ProviderError, ProviderTimeoutError, RateLimitedError
from tutopanda.providers.live import http

BASE = "https://api.example.test"
KEY = "sk-canary-secret-0123456789"


def _raise(response: httpx.Response, **kwargs: object) -> None:
    http.raise_for_response(
        response,
        provider="acme",
        what="POST /v1/things",
        account_hint="check ACME_KEY",
        secrets=[KEY],
        **kwargs,  # type: ignore[arg-type]
    )


def test_success_does_not_raise() -> None:
    _raise(httpx.Response(200, json={"ok": True}))


@pytest.mark.parametrize("status", [401, 402, 403])
def test_auth_and_credit_failures_stop_the_run(status: int) -> None:
    with pytest.raises(ProviderAccountError) as caught:
        _raise(
            httpx.Response(
                status, json={"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}
            )
        )
    assert f"HTTP {status}: Incorrect API key (invalid_api_key)" in caught.value.message
    assert caught.value.hint is not None and "ACME_KEY" in caught.value.hint
    assert not caught.value.retryable


def test_a_quota_code_on_a_429_stops_the_run_instead_of_retrying() -> None:
    response = httpx.Response(
        429, json={"error": {"message": "You exceeded your quota", "code": "insufficient_quota"}}
    )
    with pytest.raises(ProviderAccountError):
        _raise(response, account_codes={"insufficient_quota"})


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"retry-after": "7"}, {}, 7.0),
        ({"retry-after-ms": "1500"}, {}, 1.5),
        ({}, {"retry_after": 12}, 12.0),
        ({}, {"detail": "Request was throttled."}, None),
    ],
)
def test_rate_limits_are_retryable_with_the_providers_wait(
    headers: dict[str, str], body: dict[str, object], expected: float | None
) -> None:
    with pytest.raises(RateLimitedError) as caught:
        _raise(httpx.Response(429, headers=headers, json=body))
    assert caught.value.retryable and caught.value.retry_after == expected


def test_a_busy_code_waits_at_least_five_seconds() -> None:
    response = httpx.Response(429, json={"detail": {"status": "system_busy", "message": "busy"}})
    with pytest.raises(RateLimitedError) as caught:
        _raise(response, busy_codes={"system_busy"})
    assert caught.value.retry_after is not None and caught.value.retry_after >= 5.0


@pytest.mark.parametrize("status", [408, 409, 500, 502, 503])
def test_temporary_failures_are_retryable(status: int) -> None:
    with pytest.raises(ProviderError) as caught:
        _raise(httpx.Response(status, text="upstream unavailable"))
    assert caught.value.retryable and "upstream unavailable" in caught.value.message


def test_other_client_errors_fail_the_job_and_carry_the_request_id() -> None:
    response = httpx.Response(422, headers={"x-request-id": "req_42"}, json={"detail": "prompt is required"})
    with pytest.raises(ProviderError) as caught:
        _raise(response)
    assert not caught.value.retryable
    assert "prompt is required" in caught.value.message
    assert caught.value.hint is not None and "req_42" in caught.value.hint


def test_a_secret_echoed_by_the_provider_is_redacted() -> None:
    with pytest.raises(ProviderAccountError) as caught:
        _raise(httpx.Response(401, json={"error": {"message": f"key {KEY} is revoked"}}))
    assert KEY not in caught.value.message and "***" in caught.value.message


@respx.mock
def test_send_turns_timeouts_and_dropped_connections_into_retryable_errors() -> None:
    respx.get(f"{BASE}/slow").mock(side_effect=httpx.ReadTimeout("slow"))
    respx.get(f"{BASE}/down").mock(side_effect=httpx.ConnectError("refused"))

    async def call(path: str) -> None:
        async with http.client(base_url=BASE, headers={"Authorization": f"Bearer {KEY}"}) as client:
            await http.send(client, "GET", path, provider="acme")

    with pytest.raises(ProviderTimeoutError):
        asyncio.run(call("/slow"))
    with pytest.raises(ProviderError) as caught:
        asyncio.run(call("/down"))
    assert caught.value.retryable and KEY not in caught.value.message


@respx.mock
def test_download_streams_to_a_file_and_sniffs_the_type_from_the_bytes() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4000
    respx.get("https://files.example.test/out.bin").mock(return_value=httpx.Response(200, content=png))

    async def fetch() -> tuple[Path, str]:
        async with http.client(base_url=BASE, headers={}) as client:
            return await http.download(
                client, "https://files.example.test/out.bin?token=abc", provider="acme"
            )

    path, media_type = asyncio.run(fetch())
    try:
        assert media_type == "image/png"
        assert path.read_bytes() == png
    finally:
        path.unlink()


@respx.mock
@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(404, text="expired"), ProviderError),
        (httpx.Response(200, content=b""), ProviderError),
        (httpx.Response(200, content=b"x" * 2048), ProviderError),  # over max_bytes
    ],
)
def test_a_failed_download_leaves_no_temporary_file(
    response: httpx.Response, error: type[Exception], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    respx.get("https://files.example.test/x").mock(return_value=response)

    async def fetch() -> None:
        async with http.client(base_url=BASE, headers={}) as client:
            await http.download(
                client, "https://files.example.test/x?sig=secret-token", provider="acme", max_bytes=1024
            )

    with pytest.raises(error) as caught:
        asyncio.run(fetch())
    assert "secret-token" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


# -- Retry-After that cannot be read ---------------------------------------------------------------


@pytest.fixture
def tokyo_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time 9 h ahead of UTC, so a naive date read as local time would be 9 h off."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("value", ["later", "soon-ish", "Mon, 99 Foo 2025 99:99:99 GMT", "inf", "nan", "-"])
def test_an_unreadable_retry_after_is_ignored_not_raised(value: str) -> None:
    response = httpx.Response(429, headers={"retry-after": value}, json={"detail": "slow down"})
    assert http.retry_after_of(response) is None
    with pytest.raises(RateLimitedError) as caught:
        _raise(response)
    assert caught.value.retryable and caught.value.retry_after is None


def test_an_unreadable_retry_after_ms_falls_back_to_retry_after() -> None:
    response = httpx.Response(429, headers={"retry-after-ms": "inf", "retry-after": "3"})
    assert http.retry_after_of(response) == 3.0


def test_a_retry_after_date_in_the_past_means_now() -> None:
    response = httpx.Response(503, headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert http.retry_after_of(response) == 0.0


@pytest.mark.usefixtures("tokyo_local_time")
@pytest.mark.parametrize("zone", ["GMT", "+0000", "-0000"])
def test_a_retry_after_date_without_a_real_zone_is_utc(zone: str) -> None:
    # "-0000" makes the parser return a naive datetime: it is UTC, never the machine's local time.
    when = time.time() + 120
    stamp = email.utils.formatdate(when, usegmt=True).replace("GMT", zone)
    wait = http.retry_after_of(httpx.Response(503, headers={"retry-after": stamp}))
    assert wait is not None and 110 <= wait <= 121


# -- downloads: a refused output URL is not the account's fault --------------------------------------


def _download_failure(response: httpx.Response) -> ProviderError:
    with respx.mock(assert_all_mocked=True) as router:
        router.get("https://files.example.test/out.png").mock(return_value=response)

        async def fetch() -> None:
            async with http.download_client() as client:
                await http.download(client, "https://files.example.test/out.png?sig=abc", provider="acme")

        with pytest.raises(ProviderError) as caught:
            asyncio.run(fetch())
    return caught.value


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_a_refused_or_expired_output_url_fails_the_job_without_blaming_the_account(status: int) -> None:
    error = _download_failure(httpx.Response(status, text="<Error><Code>AccessDenied</Code></Error>"))
    assert type(error) is ProviderError and not error.retryable
    assert f"HTTP {status}" in error.message and "download" in error.message
    assert "sig=abc" not in error.message
    assert error.hint is not None and "expired" in error.hint and "account" not in error.hint


def test_a_throttled_download_is_rate_limited_with_its_wait() -> None:
    error = _download_failure(httpx.Response(429, headers={"retry-after": "4"}, text="slow down"))
    assert isinstance(error, RateLimitedError) and error.retryable and error.retry_after == 4.0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_download_that_fails_on_the_server_side_is_retryable(status: int) -> None:
    error = _download_failure(httpx.Response(status, text="upstream"))
    assert type(error) is ProviderError and error.retryable


# -- redirects: credentials never follow one ---------------------------------------------------------


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


def test_an_api_client_does_not_follow_a_redirect_to_another_host(router: respx.MockRouter) -> None:
    router.post(f"{BASE}/v1/things").mock(
        return_value=httpx.Response(302, headers={"location": "https://elsewhere.test/grab?sig=zzz"})
    )
    elsewhere = router.route(host="elsewhere.test").mock(return_value=httpx.Response(200, json={}))

    async def call() -> httpx.Response:
        async with http.client(base_url=BASE, headers={"xi-api-key": KEY}) as client:
            return await http.send(client, "POST", "/v1/things", provider="acme")

    response = asyncio.run(call())
    assert response.status_code == 302
    assert not elsewhere.called  # the key stayed home
    with pytest.raises(ProviderError) as caught:
        _raise(response)
    error = caught.value
    assert type(error) is ProviderError and not error.retryable
    assert "HTTP 302" in error.message and "redirect" in error.message
    assert "https://elsewhere.test/grab" in error.message and "sig=zzz" not in error.message
    assert error.hint is not None and "redirect" in error.hint


def test_a_download_follows_redirects_without_any_credentials(router: respx.MockRouter) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    first = router.get("https://files.example.test/out.png").mock(
        return_value=httpx.Response(302, headers={"location": "https://cdn.example.net/blob/1?sig=x"})
    )
    final = router.get("https://cdn.example.net/blob/1").mock(return_value=httpx.Response(200, content=png))

    async def fetch() -> tuple[Path, str]:
        async with http.download_client() as client:
            return await http.download(client, "https://files.example.test/out.png", provider="acme")

    path, media_type = asyncio.run(fetch())
    try:
        assert media_type == "image/png" and path.read_bytes() == png
    finally:
        path.unlink()
    assert first.call_count == 1 and final.call_count == 1
    for route in (first, final):
        headers = route.calls[0].request.headers
        assert "authorization" not in headers and "xi-api-key" not in headers
        assert headers["user-agent"] == http.USER_AGENT


def test_a_download_never_sends_the_credentials_of_the_client_it_is_given(router: respx.MockRouter) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    route = router.get("https://files.example.test/out.png").mock(
        return_value=httpx.Response(200, content=png)
    )

    async def fetch() -> tuple[Path, str]:
        auth = {"Authorization": f"Bearer {KEY}", "xi-api-key": KEY}
        async with http.client(base_url=BASE, headers=auth) as client:
            return await http.download(client, "https://files.example.test/out.png", provider="acme")

    path, _ = asyncio.run(fetch())
    path.unlink()
    sent = route.calls[0].request.headers
    assert "authorization" not in sent and "xi-api-key" not in sent
    assert KEY not in str(sent.raw)


# -- data: URIs --------------------------------------------------------------------------------------


def test_a_data_uri_is_saved_to_a_file_with_the_type_of_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    uri = "data:application/octet-stream;base64," + base64.b64encode(png).decode()
    path, media_type = http.save_data_uri(uri, provider="acme")
    assert media_type == "image/png"  # the bytes decide, not the declared type
    assert path.read_bytes() == png and path.parent == tmp_path
    path.unlink()
    text_path, text_type = http.save_data_uri("data:,Hello%2C%20lava", provider="acme")
    assert text_path.read_bytes() == b"Hello, lava" and text_type == "text/plain"
    text_path.unlink()


@pytest.mark.parametrize(
    "uri", ["data:image/png;base64,***not base64***", "data:image/png;base64", "data:image/png;base64,"]
)
def test_a_bad_or_empty_data_uri_fails_and_leaves_no_file(
    uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with pytest.raises(ProviderError) as caught:
        http.save_data_uri(uri, provider="acme")
    assert "data: URI" in caught.value.message and "not base64" not in caught.value.message
    assert list(tmp_path.iterdir()) == []
