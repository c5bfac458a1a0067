"""gunicorn's own refusals written in the API's JSON error shape (no server, no socket).

The real replacement is exercised against gunicorn in tests/integration/test_framing.py.
"""

import types

import orjson
from gunicorn import util as gunicorn_util

from service.server_errors import error_reply, install


def fake_util() -> tuple[types.SimpleNamespace, list[bytes]]:
    sent: list[bytes] = []
    util = types.SimpleNamespace(
        write_error=gunicorn_util.write_error,  # the signature install checks
        write_nonblock=lambda sock, data, chunked=False: sent.append(data),
    )
    return util, sent


def test_a_refused_request_gets_the_json_error_shape():
    reply = error_reply(414, "URI Too Long", "Request Line is too large (5029 > 4094)")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 URI Too Long\r\n")
    assert b"Content-Type: application/json" in head
    assert f"Content-Length: {len(body)}".encode() in head
    error = orjson.loads(body)["error"]
    assert error == {
        "status": 414,
        "code": "request_line_too_long",
        "message": "Request Line is too large (5029 > 4094)",
    }


def test_a_500_without_a_message_still_says_something():
    body = error_reply(500, "Internal Server Error", "").partition(b"\r\n\r\n")[2]
    assert orjson.loads(body)["error"]["message"]


def test_install_replaces_the_writer_gunicorn_calls():
    util, sent = fake_util()
    assert install(util)
    util.write_error(object(), 400, "Bad Request", "Invalid HTTP Header: 'X'")
    assert orjson.loads(sent[0].partition(b"\r\n\r\n")[2])["error"]["code"] == (
        "bad_request"
    )


def test_an_unknown_gunicorn_writer_is_left_alone():
    util, _ = fake_util()

    def write_error(sock, status, reason):  # another gunicorn's arguments
        pass

    util.write_error = write_error
    assert not install(util)
    assert util.write_error is write_error
