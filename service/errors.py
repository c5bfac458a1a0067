"""The one error shape of the API, and the mapping of every exception onto it.

Domain errors carry the HTTP status they map to; the store's lookups, routing 404/405,
werkzeug's 413 and unexpected exceptions all leave as
`{"error": {"status", "code", "message"}}`, so a client parses one shape and internals
never reach it. `describe` is the one mapping: Flask's handler and the fast path use it.
"""

import logging

import orjson
from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from trainer.errors import InvalidNameError, NotFoundError, RegistryError

log = logging.getLogger("scratchnet.service")


class ApiError(Exception):
    """An error the client can act on, with its HTTP status and a stable code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


# werkzeug's routing and size errors, renamed to codes and sentences a caller can act on
_HTTP_CODES = {
    404: ("not_found", "no such route; GET /openapi.json lists every route"),
    405: ("method_not_allowed", "method not allowed on this route"),
    413: ("body_too_large", "request body too large"),
}


def describe(exc: Exception) -> tuple[int, str, str]:
    """(status, code, message) for any exception; a bug is logged and told as a 500."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code, exc.message
    if isinstance(exc, NotFoundError | InvalidNameError):
        return 404, getattr(exc, "code", "not_found"), str(exc)
    if isinstance(exc, RegistryError):
        # nothing verified to answer with: the client may retry later
        return 503, getattr(exc, "code", "model_unavailable"), str(exc)
    if isinstance(exc, HTTPException):
        status = exc.code or 500
        code, message = _HTTP_CODES.get(status, ("http_error", exc.name))
        if status == 405 and exc.valid_methods:
            message = f"{message}; allowed: {', '.join(sorted(exc.valid_methods))}"
        return status, code, message
    log.exception("unhandled error", exc_info=exc)
    return 500, "internal_error", "internal error; it has been logged"


def error_json(status: int, code: str, message: str) -> bytes:
    return orjson.dumps({"error": {"status": status, "code": code, "message": message}})


def register(app: Flask) -> None:
    """Every exception a view raises, and Flask's 404/405/413, leave as the shape."""
    app.register_error_handler(Exception, _handle)


def _handle(exc: Exception) -> Response:
    status, code, message = describe(exc)
    response = Response(error_json(status, code, message), status=status)
    response.content_type = "application/json"
    if isinstance(exc, HTTPException) and status == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return response
