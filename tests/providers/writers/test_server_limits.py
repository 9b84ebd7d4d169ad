"""What a misbehaving server can cost: bounded time and memory, no leaked key, clear failure text, and a
chat model chosen from its list (the reviewer's fake servers, on loopback)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tutopanda.core.errors import ProviderError
from tutopanda.core.logger import MemoryLogger
from tutopanda.providers.writers.backend import WriterUnavailableError
from tutopanda.providers.writers.chain import WriterChainHandler
from tutopanda.providers.writers.choice import choose_writer, probe_server
from tutopanda.providers.writers.openai_compatible import CompatibleBackend, forget_dialects, server_down
from tutopanda.providers.writers.validation import script_schema

from .test_chain import script_context

MESSAGES = [{"role": "system", "content": "Answer JSON."}, {"role": "user", "content": "Hi"}]
KEY = "sk-fake-0123456789abcdef"

Respond = Callable[[BaseHTTPRequestHandler], None]


class Server:
    """A loopback HTTP server whose every request is answered by ``respond``; counts requests."""

    def __init__(self, respond: Respond) -> None:
        self.requests = 0
        self.stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.requests += 1
                respond(self)

            def do_POST(self) -> None:
                outer.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                respond(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def __enter__(self) -> Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    forget_dialects()
    yield
    forget_dialects()


def trickle(server_stop: Callable[[], bool]) -> Respond:
    """Announce 100000 bytes, then send one byte at a time (as /tmp/rv/trickle.py does)."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        try:
            while not server_stop():
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    return respond


def test_probe_gives_up_on_a_trickling_server_at_its_total_deadline() -> None:
    stop = threading.Event()
    with Server(trickle(stop.is_set)) as server:
        with pytest.raises(WriterUnavailableError, match=r"did not answer within 0\.5 s"):
            probe_server(server.base_url, timeout=0.5)
        stop.set()


def test_probe_refuses_a_huge_model_list_without_reading_it() -> None:
    def huge(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()  # no Content-Length: the body runs until the connection closes
        chunk = b" " * 65536
        try:
            for _ in range(20 * 16):  # 20 MiB
                handler.wfile.write(chunk)
        except OSError:
            pass

    with Server(huge) as server, pytest.raises(WriterUnavailableError, match="more than"):
        probe_server(server.base_url)

    def declared(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(1 << 30))
        handler.end_headers()

    with Server(declared) as server, pytest.raises(WriterUnavailableError, match="1073741824 bytes"):
        probe_server(server.base_url)


def test_a_hung_server_costs_one_deadline_per_process_then_is_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TUTOPANDA_MODELS", str(tmp_path / "models"))  # the local model is not pulled
    stop = threading.Event()

    def hang(handler: BaseHTTPRequestHandler) -> None:
        stop.wait()

    with Server(hang) as server:
        backend = CompatibleBackend(server.base_url, "llama3.2", timeout=0.5)
        with pytest.raises(WriterUnavailableError, match=r"did not answer within 0\.5 s"):
            backend.generate(MESSAGES, schema=script_schema(3))
        assert server_down(server.base_url) == "did not answer in time"
        config = {"fallback": True, "baseUrl": server.base_url, "timeoutSeconds": 0.5}
        handler = WriterChainHandler("openai-compatible", "llama3.2", environ={})
        for _ in range(3):  # later jobs of the run: straight to the draft, no request
            result = asyncio.run(handler.produce(script_context(config=config)))
            assert result.diagnostics["draft"] is True and result.diagnostics["provisional"] is True
            assert "skipped" in result.diagnostics["writerFailures"][0]
        assert server.requests == 1
        stop.set()


def echo_headers(status: int) -> Respond:
    """Answer ``status`` with an error body quoting the request headers (a careless gateway)."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        order = sorted(handler.headers.items(), key=lambda item: item[0].lower() != "authorization")
        quoted = "; ".join(f"{k}: {v}" for k, v in order)
        body = json.dumps({"error": {"message": f"bad request, got headers {quoted}"}}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def test_an_error_body_echoing_the_key_is_redacted_everywhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TUTOPANDA_MODELS", str(tmp_path / "models"))
    with Server(echo_headers(400)) as server:
        environ = {"OPENAI_COMPATIBLE_API_KEY": KEY}
        backend = CompatibleBackend(server.base_url, "llama3.2", api_key=KEY)
        with pytest.raises(ProviderError) as caught:
            backend.generate(MESSAGES)
        assert "HTTP 400" in caught.value.message and KEY not in caught.value.message
        assert "[redacted]" in caught.value.message

        logger = MemoryLogger()
        selected = WriterChainHandler("openai-compatible", "llama3.2", environ=environ)
        context = script_context(config={"baseUrl": server.base_url})
        context = type(context)(**{**context.__dict__, "logger": logger})
        with pytest.raises(ProviderError) as failed:
            asyncio.run(selected.produce(context))
        fallback = asyncio.run(
            selected.produce(script_context(config={"baseUrl": server.base_url, "fallback": True}))
        )
    everything = json.dumps(fallback.diagnostics) + failed.value.message + str(failed.value.hint)
    everything += json.dumps(list(logger.records), default=str)
    assert any("HTTP 400" in str(record) for record in logger.records)
    assert KEY not in everything
    assert "Bearer [redacted]" in json.dumps(fallback.diagnostics)


def test_a_failure_names_the_writer_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TUTOPANDA_MODELS", str(tmp_path / "models"))
    handler = WriterChainHandler("local", "qwen2.5-1.5b-instruct", environ={})
    fallback = asyncio.run(handler.produce(script_context(config={"fallback": True})))
    (failure,) = fallback.diagnostics["writerFailures"]
    assert failure.startswith("local/qwen2.5-1.5b-instruct: ")
    assert failure.count("local/qwen2.5-1.5b-instruct") == 1
    with pytest.raises(ProviderError) as caught:
        asyncio.run(handler.produce(script_context()))
    assert caught.value.message.count("local/qwen2.5-1.5b-instruct") == 1


def test_without_a_model_the_first_chat_model_the_server_lists_is_chosen_and_named() -> None:
    listed = ["nomic-embed-text", "bge-reranker-v2", "whisper-large-v3", "llama3.2:3b", "qwen2.5:7b"]
    choice = choose_writer({}, {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}, probe=lambda url, key: listed)
    assert choice.name == "openai-compatible/llama3.2:3b"
    assert "picked llama3.2:3b, the first chat model it lists" in choice.describe()
    only_embeddings = choose_writer(
        {},
        {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"},
        probe=lambda url, key: ["nomic-embed-text"],
        llama=False,
    )
    assert only_embeddings.draft
    assert "lists no chat model (nomic-embed-text)" in only_embeddings.reason
