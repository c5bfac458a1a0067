"""gunicorn's own error replies, in the API's one JSON error shape.

gunicorn refuses a request it cannot parse (a malformed request line or header, a
request line or headers over its size limits) before any application code runs, and
answers with a small HTML page. The API promises JSON for every error, so each worker
writes those replies with `error_reply` instead (deploy/gunicorn.conf.py calls
`install`). Apart from the app: it speaks gunicorn's internals, not WSGI.
"""

import inspect
import logging
from types import ModuleType

from service.errors import error_json

log = logging.getLogger("scratchnet.service")

# gunicorn's statuses for requests it refuses, as stable codes
_CODES = {
    400: "bad_request",
    403: "forbidden",
    414: "request_line_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
}


def error_reply(status_int: int, reason: str, mesg: str) -> bytes:
    """The whole HTTP reply gunicorn sends for a refused request, with a JSON body."""
    message = mesg or "internal error; it has been logged"
    body = error_json(status_int, _CODES.get(status_int, "http_error"), message)
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def install(util: ModuleType) -> bool:
    """Make gunicorn.util.write_error send `error_reply`, if it is the one we know.

    Another gunicorn may call it with other arguments; its HTML replies are then left
    alone rather than broken. Returns whether it was replaced.
    """
    original = getattr(util, "write_error", None)
    write_nonblock = getattr(util, "write_nonblock", None)
    if original is None or write_nonblock is None:
        return _unknown()
    if list(inspect.signature(original).parameters) != _ARGUMENTS:
        return _unknown()

    def write_error(sock: object, status_int: int, reason: str, mesg: str) -> None:
        # non-blocking, like gunicorn's: a client that does not read cannot hold the
        # worker
        write_nonblock(sock, error_reply(status_int, reason, mesg))

    util.write_error = write_error
    return True


_ARGUMENTS = ["sock", "status_int", "reason", "mesg"]


def _unknown() -> bool:
    log.warning("gunicorn's own error replies stay HTML: unknown util.write_error")
    return False
