"""The fault suite's client (``jishi.testing.deploy.RoundRobinClient``): a
connection cut in the middle of an answer's body (a web worker killed
after it sent the headers, issue 15's fault table) is a lost connection,
retried with the same headers like a refused one, not an exception in the
caller's thread."""

from __future__ import annotations

import socket
import threading

from jishi.testing.deploy import RoundRobinClient


def _server(answers: list[bytes]) -> tuple[str, threading.Thread]:
    """A loopback server answering its connections with ``answers`` in
    turn, each written whole and the connection then closed."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        with listener:
            for answer in answers:
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(5)
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{port}", thread


def test_an_answer_cut_in_its_body_is_retried():
    body = b'{"ok": true}'
    cut = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 155\r\nConnection: close\r\n\r\n{"
    whole = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )
    url, thread = _server([cut, whole])
    client = RoundRobinClient([url], timeout=5, retries=2)
    assert client.request("GET", "/api/v1/ping", headers={"Idempotency-Key": "k"}) == (200, {"ok": True})
    assert client.retried == 1
    thread.join(5)
