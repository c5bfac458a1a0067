"""SIGTERM, and Ctrl-C in a terminal, let a request in flight finish before gunicorn
exits."""

import os
import signal
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.integration.conftest import Gunicorn


@pytest.mark.skipif(
    bool(os.environ.get("SCRATCHNET_URL")), reason="needs a local server"
)
@pytest.mark.parametrize("stop", ["sigterm", "ctrl-c"])
def test_stopping_finishes_the_request_in_flight(local_registry, tmp_path, stop):
    # with a drain, as deployed: readiness fails first, and the socket stays open
    server = Gunicorn(
        tmp_path,
        local_registry,
        workers=1,
        own_group=True,
        SCRATCHNET_DRAIN_SECONDS="2",
    )
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
            if stop == "sigterm":
                server.process.send_signal(signal.SIGTERM)
            else:
                # a terminal sends SIGINT to its whole foreground group: the master
                # and its workers at once
                os.killpg(server.process.pid, signal.SIGINT)
            time.sleep(0.3)
            ready = requests.get(f"{server.url}/readyz", timeout=5)
            assert ready.status_code == 503 and "draining" in ready.text, ready.text
            sock.sendall(body[half:])
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 200"), reply[:300]
        assert b'"labels":[' in reply
        assert server.process.wait(timeout=30) == 0
    finally:
        server.stop()
