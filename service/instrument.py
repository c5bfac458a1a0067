"""Per-request observation: request id, timing, metrics and the JSON access line.

A WSGI middleware around the Flask app rather than Flask hooks: it reads the WSGI
environ directly (no context-local proxies), so observing a request costs a few
microseconds. Views leave the model and version that answered in the environ.
"""

import logging
import time
from collections.abc import Callable, Iterable

from service import metrics
from service.handlers import MODEL_KEY, ROUTE_KEY, VERSION_KEY
from service.logs import access_line, request_id

access_log = logging.getLogger("scratchnet.access")
# anything else (a scanner's "FOO") is counted as "other": label sets stay bounded
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

StartResponse = Callable[..., object]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]


class Instrumented:
    """A WSGI app wrapped: X-Request-ID in and out, metrics, one log line a request."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        rid = request_id(environ.get("HTTP_X_REQUEST_ID"))
        status_line = ""
        response_length = None

        def start(status: str, headers: list, exc_info: object = None) -> object:
            nonlocal status_line, response_length
            status_line = status
            headers.append(("X-Request-ID", rid))
            for key, value in headers:
                if key == "Content-Length":
                    response_length = int(value)
            return start_response(status, headers, exc_info)

        body = self.app(environ, start)
        # bodies here are built in full before start_response returns, so this is the
        # time to the response (not to the last byte on a slow client's socket)
        seconds = time.perf_counter() - started
        self._observe(environ, status_line, response_length, rid, seconds)
        return body

    def _observe(
        self,
        environ: dict,
        status_line: str,
        response_length: int | None,
        rid: str,
        seconds: float,
    ) -> None:
        route = environ.get(ROUTE_KEY, "<unmatched>")
        method = environ.get("REQUEST_METHOD", "")
        if method not in _METHODS:
            method = "other"
        status = int(status_line[:3]) if status_line[:3].isdigit() else 0
        model = environ.get(MODEL_KEY, "")
        version = environ.get(VERSION_KEY, "")
        metrics.observe_request(route, method, status, model, version, seconds)
        if access_log.isEnabledFor(logging.INFO):
            access_line(
                {
                    "level": "INFO",
                    "logger": "scratchnet.access",
                    "msg": "request",
                    "request_id": rid,
                    "method": method,
                    "path": environ.get("PATH_INFO", "")[:256],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "model": model,
                    "version": version,
                    "bytes": response_length,
                    "remote": environ.get("REMOTE_ADDR"),
                }
            )
