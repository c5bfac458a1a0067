"""Per-request observation: request id, timing, metrics and the JSON access line.

Hooks around every request (errors included), kept apart from the views so a view
only sets `g.model`/`g.version` and never thinks about logs or metrics.
"""

import logging
import time

from flask import Flask, Response, g, request

from service import metrics
from service.logs import request_id

access_log = logging.getLogger("scratchnet.access")
# anything else (a scanner's "FOO") is counted as "other": label sets stay bounded
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def register(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)


def _start() -> None:
    g.started = time.perf_counter()
    g.request_id = request_id(request.headers.get("X-Request-ID"))
    g.model = g.version = ""


def _finish(response: Response) -> Response:
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    rid = g.get("request_id") or request_id(None)
    response.headers["X-Request-ID"] = rid
    rule = request.url_rule
    route = rule.rule if rule is not None else "<unmatched>"
    method = request.method if request.method in _METHODS else "other"
    model, version = g.get("model", ""), g.get("version", "")
    metrics.observe_request(
        route, method, response.status_code, model, version, seconds
    )
    if access_log.isEnabledFor(logging.INFO):
        access_log.info(
            "request",
            extra={
                "request_id": rid,
                "method": method,
                "path": request.path[:256],
                "route": route,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 3),
                "model": model,
                "version": version,
                "bytes": response.content_length,
                "remote": request.remote_addr,
            },
        )
    return response
