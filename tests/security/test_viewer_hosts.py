"""DNS rebinding: the viewer answers only to requests naming its own address (issue 16, point 5).

A page on another site can rebind its DNS name to 127.0.0.1 and so make the browser send requests to
the viewer, but the browser then names the attacker's host in ``Host``. The real ``tutopanda viewer``
is started and sent raw requests with forged Host headers: all are refused with 421 and a short plain
message, and no movie data leaks. Its own names (127.0.0.1, localhost, [::1], with its port, and names
given with ``--allow-host``) are answered.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.security.conftest import MOVIE
from tests.viewer.conftest import viewer_process
from tutopanda.viewer.app import allowed_hosts


def _raw_get(port: int, path: str, headers: list[str], address: str = "127.0.0.1") -> tuple[int, bytes]:
    """Send one request with exactly ``headers`` (so Host can be forged or left out); status and body."""
    request = "\r\n".join([f"GET {path} HTTP/1.1", *headers, "Connection: close", "", ""])
    with socket.create_connection((address, port), timeout=30) as sock:
        sock.sendall(request.encode("latin-1"))
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


FORGED = [
    ["Host: evil.example"],
    ["Host: evil.example:{port}"],
    ["Host: 127.0.0.1.evil.example:{port}"],
    ["Host: localhost.:{port}"],
    ["Host: 127.0.0.1:{other}"],
    ["Host: 127.0.0.1:{port}@evil.example"],
    ["Host: "],
    [],
    ["Host: 127.0.0.1:{port}", "Host: evil.example"],
]


def test_forged_host_headers_are_refused_and_its_own_names_answered(root: Path) -> None:
    with viewer_process(root, "--allow-host", "panda.test") as viewer:
        port = viewer.port
        for headers in FORGED:
            forged = [header.format(port=port, other=port + 1) for header in headers]
            for path in (f"/api/movies/{MOVIE}", "/api/movies", f"/movies/{MOVIE}", "/"):
                status, body = _raw_get(port, path, forged)
                assert status in (400, 421), (forged, path, status)
                assert MOVIE.encode() not in body and b"<html" not in body.lower()
            status, body = _raw_get(port, "/api/movies", forged)
            if status == 421:  # refused by the viewer itself (h11 refuses some malformed ones with 400)
                assert body.startswith(b"misdirected request")
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"panda.test:{port}"):
            status, body = _raw_get(port, "/api/movies", [f"Host: {host}"])
            assert status == 200 and MOVIE.encode() in body, host


def test_the_ipv6_loopback_name_is_its_own_when_bound_there(root: Path) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with viewer_process(root, "--host", "::1") as viewer:
        status, body = _raw_get(viewer.port, "/api/movies", [f"Host: [::1]:{viewer.port}"], "::1")
        assert status == 200 and MOVIE.encode() in body
        forged = [f"Host: evil.example:{viewer.port}"]
        assert _raw_get(viewer.port, "/api/movies", forged, "::1")[0] == 421


def test_the_names_a_bound_viewer_answers_to() -> None:
    hosts = allowed_hosts("127.0.0.1", 9000)
    assert hosts == {"127.0.0.1:9000", "localhost:9000", "[::1]:9000"}
    assert "127.0.0.1" in allowed_hosts("127.0.0.1", 80)  # browsers leave the default port out
    assert "[fe80::1]:9000" in allowed_hosts("fe80::1", 9000)
    lan = allowed_hosts("0.0.0.0", 9000, ["192.168.1.20"])
    assert "192.168.1.20:9000" in lan and f"{socket.gethostname().lower()}:9000" in lan
    assert "evil.example:9000" not in lan
