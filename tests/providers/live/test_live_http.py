"""The live handlers' shared HTTP policy: which failures retry, which stop the run, streamed downloads."""

from __future__ import annotations

import asyncio
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
