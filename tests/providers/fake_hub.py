"""A real HTTP server on loopback that answers like the Hugging Face hub's ``resolve`` endpoint.

Used with ``HF_ENDPOINT`` pointing at it. LFS files are answered with a 302 carrying ``X-Linked-Etag``
(the SHA-256) and ``X-Linked-Size`` to a "CDN" path on the same server, which serves the bytes with HTTP
Range support and its own unrelated ETag; small git files are answered directly with ``ETag`` = their
git blob SHA-1. Knobs make it misbehave: send other bytes than declared, cut the connection mid-file,
ignore Range, declare no hash.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class HubFile:
    data: bytes
    lfs: bool = True
    declare_hash: bool = True
    corrupt: bool = False  # serve different bytes than the declared hash (same length)


@dataclass
class FakeHub:
    files: dict[str, HubFile] = field(default_factory=dict)
    """``"{repo}/resolve/{revision}/{path}"`` -> file."""
    cut_after: int | None = None
    """Close the connection after this many body bytes of a response (the headers announce them all)."""
    ignore_range: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def add(self, repo: str, revision: str, path: str, file: HubFile) -> None:
        self.files[f"{repo}/resolve/{revision}/{path}"] = file

    def ranges(self) -> list[str | None]:
        return [r["range"] for r in self.requests if r["path"].startswith("/cdn/") or not r["redirect"]]


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.lstrip("/")
            record = {"path": self.path, "range": self.headers.get("Range"), "redirect": False}
            hub.requests.append(record)
            if path.startswith("cdn/"):
                key = path[len("cdn/") :]
                file = hub.files.get(key)
                if file is None:
                    return self._status(404)
                return self._serve(file, etag='"cdn-' + hashlib.md5(file.data).hexdigest() + '"')
            file = hub.files.get(path)
            if file is None:
                return self._status(404)
            if file.lfs:
                record["redirect"] = True
                self.send_response(302)
                self.send_header("Location", f"{hub.url}/cdn/{path}")
                if file.declare_hash:
                    self.send_header("X-Linked-Etag", '"' + hashlib.sha256(file.data).hexdigest() + '"')
                    self.send_header("X-Linked-Size", str(len(file.data)))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            etag = '"' + _git_sha1(file.data) + '"' if file.declare_hash else None
            return self._serve(file, etag=etag)

        def _status(self, code: int) -> None:
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _serve(self, file: HubFile, etag: str | None) -> None:
            data = bytes(b ^ 0xFF for b in file.data) if file.corrupt else file.data
            start = 0
            wanted = self.headers.get("Range")
            match = re.fullmatch(r"bytes=(\d+)-", wanted or "")
            if match and not hub.ignore_range:
                start = int(match.group(1))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            if hub.cut_after is not None and hub.cut_after < len(body):
                self.wfile.write(body[: hub.cut_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@contextmanager
def fake_hub() -> Iterator[FakeHub]:
    """Start a hub on 127.0.0.1 (a free port) for the duration of the ``with``."""
    hub = FakeHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    server.daemon_threads = True
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
