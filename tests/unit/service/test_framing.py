"""HTTP framing a test client cannot send: chunked bodies, broken chunks, no type.

The WSGI app is called with the environ a server builds, so what gunicorn hands over
for a chunked or broken body (no Content-Length, a stream whose read fails) is checked
without a socket.
"""

import io

import orjson
import pytest

from service import create_app
from service.settings import Settings
from tests.helpers.registry_samples import publish_network
from trainer.registry import Registry


class BrokenChunks(io.RawIOBase):
    """A request stream like gunicorn's on a malformed chunk: reading raises."""

    def read(self, size: int = -1) -> bytes:
        raise ChunkError("Invalid chunk size: 'zz'")


class ChunkError(Exception):
    """Stands for gunicorn.http.errors.InvalidChunkSize (not an OSError)."""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    registry = Registry(tmp_path_factory.mktemp("models"))
    publish_network(registry, "moons", seed=1)
    return create_app(Settings(registry=registry.root, poll_seconds=0))


def call(app, method: str, path: str, stream, **environ: str) -> tuple[int, dict]:
    """(status, JSON body) of one request with a chunked-style body."""
    base = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "test",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": stream,
        "wsgi.errors": io.StringIO(),
        # what gunicorn says of a chunked body: no length, but it ends
        "wsgi.input_terminated": True,
        "HTTP_TRANSFER_ENCODING": "chunked",
    }
    statuses = []
    body = b"".join(
        app.wsgi_app({**base, **environ}, lambda s, h, e=None: statuses.append(s))
    )
    return int(statuses[0][:3]), orjson.loads(body)


@pytest.mark.parametrize(("path"), ["/predict", "/boundary"])
def test_a_body_the_server_cannot_read_is_a_400_not_a_500(app, path):
    status, body = call(
        app, "POST", path, BrokenChunks(), CONTENT_TYPE="application/json"
    )
    assert status == 400
    assert body["error"]["code"] == "unreadable_body"
    assert "chunk" in body["error"]["message"]


def test_a_chunked_boundary_body_without_a_content_type_is_refused_not_ignored(app):
    stream = io.BytesIO(b'{"nx": 3, "ny": 2}')
    status, body = call(app, "POST", "/boundary", stream)
    assert status == 415
    assert body["error"]["code"] == "unsupported_media_type"


def test_a_chunked_boundary_body_is_read(app):
    stream = io.BytesIO(b'{"nx": 3, "ny": 2}')
    status, body = call(
        app, "POST", "/boundary", stream, CONTENT_TYPE="application/json"
    )
    assert status == 200
    assert (len(body["x"]), len(body["y"])) == (3, 2)


def test_a_post_boundary_without_any_body_takes_the_defaults(app):
    status, body = call(
        app,
        "POST",
        "/boundary",
        io.BytesIO(b""),
        HTTP_TRANSFER_ENCODING="",  # no Content-Length and not chunked: no body
    )
    assert status == 200
    assert (len(body["x"]), len(body["y"])) == (200, 200)


@pytest.mark.parametrize(("path"), ["/predict", "/boundary"])
def test_a_body_shorter_than_its_content_length_is_a_400(app, path):
    # what gunicorn hands over when the client closes early: the bytes that came
    complete = b'{"points": [[0.5, 0.25]]}' if path == "/predict" else b'{"nx": 3}'
    status, body = call(
        app,
        "POST",
        path,
        io.BytesIO(complete),
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH=str(len(complete) + 74),
        HTTP_TRANSFER_ENCODING="",
        **{"wsgi.input_terminated": False},
    )
    assert status == 400
    assert body["error"]["code"] == "unreadable_body"
    assert (
        f"after {len(complete)} of the {len(complete) + 74}" in body["error"]["message"]
    )
