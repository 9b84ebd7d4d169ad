"""API keys never reach the store, the logs or the terminal — with ``--debug`` and every logger at DEBUG.

``tests/e2e/test_live_mixed.py`` scans the store and the output after a successful mixed live build,
and after an OpenAI 401 whose body echoes the key. This adds what it leaves out:

* the same successful build run with ``--debug``, ``OPENAI_LOG=debug`` and every Python logger
  (``tutopanda``, ``openai``, ``httpx``, ``httpcore``) captured at DEBUG: log records are scanned too;
* each provider *rejecting* a job with a body that echoes its key (ElevenLabs speech, then OpenAI speech
  as its fallback, and Replicate images): the failed jobs' errors are recorded in the artefact log and the run
  record, printed, and logged — all scanned, including the run records and plans under ``runs/``.

HTTP is answered by respx in this process (the documented shapes, from the mixed-build test).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from tests.badinput.clean_errors import run_cli
from tests.e2e.test_live_mixed import (
    FLUX,
    OUTPUT_URL,
    SECRETS,
    _flux_schema,
    _openai,
    _png,
    _prediction,
    _wav,
)
from tutopanda.core.store.events import error_message

LOGGERS = ("", "tutopanda", "openai", "httpx", "httpcore", "replicate", "elevenlabs")
LIVE = [
    "--provider", "Script=openai/gpt-5-mini",
    "--provider", "ImagePrompts=openai/gpt-5-mini",
    "--provider", "Narration=elevenlabs/eleven_multilingual_v2",
    "--provider", f"Images=replicate/{FLUX}",
]  # fmt: skip


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Every log record of the run, at DEBUG, formatted with its arguments."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TUTOPANDA_PROVIDERS", "live")
    monkeypatch.setenv("OPENAI_LOG", "debug")
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    logging.getLogger().addHandler(handler)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        logging.getLogger().removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _leaks(root: Path, *texts: str) -> list[str]:
    """Where any secret appears: files under the root (every one, logs and run records included), texts."""
    found = [
        str(path.relative_to(root))
        for path in sorted(root.rglob("*"))
        if path.is_file() and any(secret.encode() in path.read_bytes() for secret in SECRETS.values())
    ]
    secrets = SECRETS.values()
    found += [f"output {index}" for index, text in enumerate(texts) if any(s in text for s in secrets)]
    return found


def _echo(status: int, secret: str) -> httpx.Response:
    """A rejection whose body (message, detail and a header dump) repeats the credential it was sent."""
    return httpx.Response(
        status,
        json={
            "error": {"message": f"Invalid request for key {secret}", "code": "invalid_request"},
            "detail": f"headers: authorization=Bearer {secret}; xi-api-key={secret}",
        },
    )


@respx.mock(assert_all_called=False)
def test_a_debug_live_build_leaks_no_secret_into_store_output_or_logs(
    respx_mock: respx.MockRouter, tmp_path: Path, logs: io.StringIO
) -> None:
    respx_mock.post("https://api.openai.com/v1/responses").mock(side_effect=_openai)
    respx_mock.post(url__regex=r"https://api\.elevenlabs\.io/v1/text-to-speech/.+").mock(
        return_value=httpx.Response(200, headers={"request-id": "el_1"}, content=_wav())
    )
    respx_mock.get(f"https://api.replicate.com/v1/models/{FLUX}").mock(
        return_value=httpx.Response(200, json=_flux_schema())
    )
    respx_mock.post(f"https://api.replicate.com/v1/models/{FLUX}/predictions").mock(
        return_value=httpx.Response(201, json=_prediction())
    )
    respx_mock.get(OUTPUT_URL).mock(return_value=httpx.Response(200, content=_png()))
    root = tmp_path / "store"
    result = run_cli(
        "--root", str(root), "--debug", "query", "How do tides work?", "--movie", "tides", "--segments", "2",
        "--duration", "8", "--resolution", "480p", *LIVE, "--yes",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert "HTTP Request" in logs.getvalue()  # the debug logs really were captured
    assert _leaks(root, result.stdout, result.stderr, logs.getvalue()) == []


@respx.mock(assert_all_called=False)
def test_rejections_echoing_the_keys_are_recorded_printed_and_logged_without_them(
    respx_mock: respx.MockRouter, tmp_path: Path, logs: io.StringIO
) -> None:
    openai_key, eleven_key, replicate_token = (
        SECRETS["OPENAI_API_KEY"],
        SECRETS["ELEVENLABS_API_KEY"],
        SECRETS["REPLICATE_API_TOKEN"],
    )

    respx_mock.post("https://api.openai.com/v1/responses").mock(side_effect=_openai)
    respx_mock.post("https://api.openai.com/v1/audio/speech").mock(return_value=_echo(400, openai_key))
    respx_mock.post(url__regex=r"https://api\.elevenlabs\.io/v1/text-to-speech/.+").mock(
        return_value=_echo(400, eleven_key)
    )
    respx_mock.get(f"https://api.replicate.com/v1/models/{FLUX}").mock(
        return_value=httpx.Response(200, json=_flux_schema())
    )
    respx_mock.post(f"https://api.replicate.com/v1/models/{FLUX}/predictions").mock(
        return_value=_echo(422, replicate_token)
    )
    root = tmp_path / "store"
    argv = ["--root", str(root), "--debug", "query", "How do tides work?", "--movie", "tides"]
    result = run_cli(*argv, "--segments", "1", *LIVE, "--yes")
    assert result.code == 1, result.stderr
    log = (root / "builds" / "tides" / "events" / "artefacts.log").read_text(encoding="utf-8")
    events = [json.loads(line) for line in log.splitlines()]
    errors = [error_message(event["diagnostics"]) for event in events if event["status"] == "failed"]
    rejected = {"elevenlabs text-to-speech", "openai speech", "replicate"}
    assert all(any(name in "".join(errors) for name in rejected) for name in rejected), errors
    assert all("***" in error for error in errors if "HTTP 4" in error), errors
    assert list((root / "builds" / "tides" / "runs").iterdir())  # run records and plans were written
    assert _leaks(root, result.stdout, result.stderr, logs.getvalue()) == []
