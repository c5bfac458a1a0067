"""What a hostile or broken client can do to the HTTP framing, over a real socket.

requests always frames bodies correctly, so these write raw HTTP/1.1: a malformed or
cut-short chunked body, a chunked body without a type, a JSON key given twice. Each
must get the API's JSON error shape, never a 500.
"""

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import orjson
import pytest
import requests

HEAD = b"Host: test\r\nConnection: close\r\n"


def exchange(url: str, request: bytes) -> tuple[int, bytes]:
    """Send raw bytes, half-close, and return (status, body) of the reply."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        reply = b"".join(iter(lambda: sock.recv(65536), b""))
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def chunked(path: bytes, chunks: bytes, content_type: bytes = b"application/json"):
    typed = b"Content-Type: " + content_type + b"\r\n" if content_type else b""
    return (
        b"POST " + path + b" HTTP/1.1\r\n" + HEAD + typed
        + b"Transfer-Encoding: chunked\r\n\r\n" + chunks
    )  # fmt: skip


def error_code(status: int, body: bytes, expected_status: int) -> str:
    assert status == expected_status, body
    error = orjson.loads(body)["error"]
    assert error["status"] == status and error["message"]
    return error["code"]


@pytest.mark.parametrize("path", [b"/predict", b"/boundary"])
@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param(b"zz\r\n{}\r\n0\r\n\r\n", id="chunk size not hex"),
        pytest.param(b'20\r\n{"points"', id="cut short"),
        pytest.param(b"2\r\n{}XX0\r\n\r\n", id="no chunk terminator"),
    ],
)
def test_a_broken_chunked_body_is_a_400(service_url, path, chunks):
    status, body = exchange(service_url, chunked(path, chunks))
    assert error_code(status, body, 400) == "unreadable_body"


def test_a_chunked_boundary_body_without_a_type_is_415(service_url):
    status, body = exchange(
        service_url, chunked(b"/boundary", b'9\r\n{"nx": 2}\r\n0\r\n\r\n', b"")
    )
    assert error_code(status, body, 415) == "unsupported_media_type"


@pytest.fixture
def post_json(service_url) -> Iterator:
    def post(path: str, body: bytes) -> requests.Response:
        return requests.post(
            service_url + path,
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )

    yield post


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/predict", b'{"points": "x", "points": [[0, 1]]}', "points"),
        ("/boundary", b'{"nx": 2, "ny": 2, "nx": 3}', "nx"),
    ],
)
def test_a_json_key_given_twice_is_refused(post_json, path, body, field):
    response = post_json(path, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "duplicate_field" and f"'{field}'" in error["message"]


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        pytest.param(
            b"GET /models/" + b"a" * 5000 + b" HTTP/1.1\r\n" + HEAD + b"\r\n",
            414,
            "request_line_too_long",
            id="request line too long",
        ),
        pytest.param(
            b"GET /healthz HTTP/1.1\r\n"
            + HEAD
            + b"X-Big: "
            + b"a" * 9000
            + b"\r\n\r\n",
            431,
            "headers_too_large",
            id="header too large",
        ),
        pytest.param(
            b"POST /predict HTTP/1.1\r\n" + HEAD + b"Content-Length: -5\r\n\r\n",
            400,
            "bad_request",
            id="negative length",
        ),
        pytest.param(
            "GET /models/\u00e9 HTTP/1.1\r\n".encode() + HEAD + b"\r\n",
            400,
            "bad_request",
            id="raw non-ASCII in the URL",
        ),
    ],
)
def test_requests_gunicorn_refuses_still_get_json(
    service_url, local_server, request_bytes, status, code
):
    if local_server is None:
        pytest.skip("a deployed service may sit behind a proxy with its own errors")
    reply_status, body = exchange(service_url, request_bytes)
    assert error_code(reply_status, body, status) == code


@pytest.mark.parametrize("path", [b"/predict", b"/boundary"])
def test_a_body_shorter_than_its_content_length_is_a_400(service_url, path):
    # complete JSON, but 74 bytes short of what was announced, then the client closes
    body = b'{"points": [[0.5, 0.25]]}' if path == b"/predict" else b'{"nx": 3}'
    request = (
        b"POST " + path + b" HTTP/1.1\r\n" + HEAD
        + b"Content-Type: application/json\r\n"
        + b"Content-Length: " + str(len(body) + 74).encode() + b"\r\n\r\n" + body
    )  # fmt: skip
    status, reply = exchange(service_url, request)
    assert error_code(status, reply, 400) == "unreadable_body"
