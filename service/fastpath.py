"""POST /predict and /boundary served straight from WSGI, everything else by Flask.

The same handlers as the blueprint's views (service.handlers), the same error shape
(service.errors.describe); only Flask's request and response objects are skipped, which
for a one-point prediction is most of the time spent.
"""

from collections.abc import Callable, Iterable

from service import handlers
from service.errors import describe, error_json

StartResponse = Callable[..., object]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]
_STATUS_LINES = {
    200: "200 OK",
    400: "400 BAD REQUEST",
    404: "404 NOT FOUND",
    413: "413 REQUEST ENTITY TOO LARGE",
    415: "415 UNSUPPORTED MEDIA TYPE",
    500: "500 INTERNAL SERVER ERROR",
    503: "503 SERVICE UNAVAILABLE",
}
_ROUTES = {
    ("POST", "/predict"): ("/predict", handlers.predict),
    ("GET", "/boundary"): ("/boundary", handlers.boundary),
    ("POST", "/boundary"): ("/boundary", handlers.boundary),
}


class FastPath:
    def __init__(self, app: WsgiApp, context: handlers.Context) -> None:
        self.app = app
        self.context = context

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        route = _ROUTES.get((environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")))
        if route is None:
            return self.app(environ, start_response)
        environ[handlers.ROUTE_KEY], handler = route
        try:
            reply = handler(environ, self.context)
        except Exception as exc:  # the same mapping as the Flask error handlers
            status, code, message = describe(exc)
            reply = handlers.Reply(
                status, "application/json", error_json(status, code, message)
            )
        headers = [
            ("Content-Type", reply.content_type),
            ("Content-Length", str(len(reply.body))),
            *reply.headers,
        ]
        start_response(
            _STATUS_LINES.get(reply.status, f"{reply.status} ERROR"), headers
        )
        return [reply.body]
