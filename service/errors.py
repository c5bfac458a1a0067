"""The one error shape of the API, and the handler that turns everything into it.

Domain errors carry the HTTP status they map to; routing 404/405, werkzeug's 413 and
unexpected exceptions all leave as `{"error": {"status", "code", "message"}}` so a
client parses one shape and internals never reach it.
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


def error_response(status: int, code: str, message: str) -> Response:
    body = orjson.dumps({"error": {"status": status, "code": code, "message": message}})
    return Response(body, status=status, mimetype="application/json")


def register(app: Flask) -> None:
    """Install handlers so every error, expected or not, leaves as the JSON shape."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(RegistryError, _registry_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message)


def _registry_error(exc: RegistryError) -> Response:
    # the store's lookups: unknown names are 404s, nothing verified to serve is a 503
    if isinstance(exc, NotFoundError | InvalidNameError):
        return error_response(404, getattr(exc, "code", "not_found"), str(exc))
    code = getattr(exc, "code", "model_unavailable")
    return error_response(503, code, str(exc))


# werkzeug's routing and size errors, renamed to codes and sentences a caller can act on
_HTTP_CODES = {
    404: ("not_found", "no such route; GET /openapi.json lists every route"),
    405: ("method_not_allowed", "method not allowed on this route"),
    413: ("body_too_large", "request body too large"),
}


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code, message = _HTTP_CODES.get(status, ("http_error", exc.description or exc.name))
    if status == 405 and exc.valid_methods:
        message = f"{message}; allowed: {', '.join(sorted(exc.valid_methods))}"
    response = error_response(status, code, message)
    if status == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return response


def _unexpected(exc: Exception) -> Response:
    # a bug: log the traceback for operators, tell the client nothing internal
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "internal error; it has been logged")
