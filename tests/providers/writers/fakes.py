"""Test doubles for the writer chain: a scripted ``TextBackend`` and a real loopback chat-completions server.

The server is a small threaded ``http.server`` speaking the documented OpenAI chat-completions wire
format (``POST /v1/chat/completions``, ``GET /v1/models``). It can be told to refuse the ``json_schema``
dialect (as ``python -m llama_cpp.server`` does), to answer with something that is not JSON, or to
answer with a given content.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SENTENCE = (
    "Magma rises because it is lighter than the solid rock around it, and the gas inside pushes it "
    "toward the surface of the volcano."
)
FRENCH = (
    "Le magma monte parce qu'il est plus léger que la roche qui est autour, et le gaz qui est dedans "
    "le pousse vers la surface du volcan."
)


def narration(words: int, sentence: str = SENTENCE) -> str:
    """About ``words`` words of plausible narration in the sentence's language."""
    pool = sentence.split()
    return " ".join(pool[i % len(pool)] for i in range(words))


def script_json(
    segments: int, words: int, sentence: str = SENTENCE, title: str = "How volcanoes erupt"
) -> str:
    return json.dumps(
        {
            "title": title,
            "summary": "This video explains why magma rises and what makes a volcano erupt.",
            "segments": [narration(words, sentence) for _ in range(segments)],
        },
        ensure_ascii=False,
    )


def asked_sizes(messages: Sequence[Mapping[str, str]]) -> tuple[int, int]:
    """(segments, target words) as the system message states them."""
    system = messages[0]["content"]
    segments = int(re.search(r"exactly (\d+) segment", system).group(1))  # type: ignore[union-attr]
    words = int(re.search(r"about (\d+) words", system).group(1))  # type: ignore[union-attr]
    return segments, words


def good_reply(messages: Sequence[Mapping[str, str]]) -> str:
    """A valid answer for whatever the messages ask (script or prompts)."""
    system = messages[0]["content"]
    if '"segments"' in system:
        segments, words = asked_sizes(messages)
        return script_json(segments, words)
    count = int(re.search(r'"prompts": \[(\d+) string', system).group(1))  # type: ignore[union-attr]
    return json.dumps(
        {"prompts": [f"A cutaway drawing of a volcano, picture {i + 1}, warm light" for i in range(count)]}
    )


class FakeBackend:
    """A ``TextBackend`` answering from a list (a callable answers from the messages); records calls."""

    def __init__(
        self,
        answers: Sequence[str | Callable[[Sequence[Mapping[str, str]]], str] | Exception],
        name: str = "fake",
    ) -> None:
        self.answers = list(answers)
        self.name = name
        self.calls: list[list[Mapping[str, str]]] = []

    def generate(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        schema: Mapping[str, Any] | None = None,
        max_tokens: int = 2048,
        temperature: float = 0.7,
        seed: int | None = None,
    ) -> str:
        self.calls.append(list(messages))
        answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer(messages) if callable(answer) else answer


class FakeChatServer:
    """A loopback chat-completions server. ``refuse`` maps a dialect to the HTTP status it answers."""

    def __init__(
        self,
        reply: Callable[[Sequence[Mapping[str, str]]], str] = good_reply,
        *,
        refuse: Mapping[str, int] | None = None,
        non_json: bool = False,
        models: Sequence[str] = ("llama3.2",),
    ) -> None:
        self.reply = reply
        self.refuse = dict(refuse or {})
        self.non_json = non_json
        self.models = list(models)
        self.echo_status: int | None = None
        """When set, every chat request is answered with this status and a body quoting the request's
        Authorization header (a careless gateway)."""
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.rstrip("/") != "/v1/models":
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                data = [{"id": model, "object": "model"} for model in outer.models]
                self._send(200, json.dumps({"object": "list", "data": data}).encode())

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                outer.requests.append(request)
                outer.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path != "/v1/chat/completions":
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                if outer.echo_status is not None:
                    quoted = f"bad request; Authorization: {self.headers.get('Authorization')}"
                    self._send(outer.echo_status, json.dumps({"error": {"message": quoted}}).encode())
                    return
                if outer.non_json:
                    self._send(200, b"<html><body>Welcome to nginx!</body></html>", "text/html")
                    return
                dialect = (request.get("response_format") or {}).get("type", "plain")
                if dialect in outer.refuse:
                    status = outer.refuse[dialect]
                    self._send(
                        status, json.dumps({"error": {"message": f"{dialect} is not supported"}}).encode()
                    )
                    return
                if request.get("model") not in outer.models:
                    self._send(
                        404,
                        json.dumps(
                            {"error": {"message": f"model {request.get('model')!r} not found"}}
                        ).encode(),
                    )
                    return
                content = outer.reply(request["messages"])
                body = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": request.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": content},
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                }
                self._send(200, json.dumps(body).encode())

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def dialects(self) -> list[str]:
        return [(request.get("response_format") or {}).get("type", "plain") for request in self.requests]

    def __enter__(self) -> FakeChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def unused_base_url() -> str:
    """A loopback URL nothing listens on (a port bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
