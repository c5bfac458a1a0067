"""SIGTERM lets a request in flight finish before gunicorn exits."""

import os
import signal
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.integration.conftest import Gunicorn


@pytest.mark.skipif(
    bool(os.environ.get("SCRATCHNET_URL")), reason="needs a local server"
)
def test_sigterm_finishes_the_request_in_flight(local_registry, tmp_path):
    server = Gunicorn(tmp_path, local_registry, workers=1)
    body = b'{"points": [[0.5, 0.25], [1.0, -0.5]]}'
    half = len(body) // 2
    parts = urlsplit(server.url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
            sock.sendall(
                b"POST /predict HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
                b"Content-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body[:half]
            )
            # the worker is now reading this request's body; a moment for it to be
            # surely inside the request, then ask gunicorn to stop
            time.sleep(0.5)
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            sock.sendall(body[half:])
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 200"), reply[:300]
        assert b'"labels":[' in reply
        assert server.process.wait(timeout=30) == 0
    finally:
        server.stop()
