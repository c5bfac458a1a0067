"""The hot routes, declared once, and the WSGI layer that serves them without Flask.

POST /predict and GET|POST /boundary are what clients call in volume, and Flask's
request and response objects cost more than a one-point prediction. So these requests
go from the environ to the handler (service.handlers) and back here; Flask keeps the
rules of HOT_ROUTES (service.api registers them, viewless) only to route the rest: a
405 for another method, OPTIONS, the url_map the OpenAPI document is checked against.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from service import handlers
from service.errors import describe, error_json

StartResponse = Callable[..., object]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]
Handler = Callable[[dict, handlers.Context], handlers.Reply]


@dataclass(frozen=True)
class HotRoute:
    method: str
    path: str
    handler: Handler


HOT_ROUTES = (
    HotRoute("POST", "/predict", handlers.predict),
    HotRoute("GET", "/boundary", handlers.boundary),
    HotRoute("POST", "/boundary", handlers.boundary),
)


def methods_by_path() -> dict[str, list[str]]:
    """The hot routes as Flask rules: one per path, with every method it takes."""
    rules: dict[str, list[str]] = {}
    for route in HOT_ROUTES:
        rules.setdefault(route.path, []).append(route.method)
    return rules


_STATUS_LINES = {
    200: "200 OK",
    400: "400 BAD REQUEST",
    404: "404 NOT FOUND",
    413: "413 REQUEST ENTITY TOO LARGE",
    415: "415 UNSUPPORTED MEDIA TYPE",
    500: "500 INTERNAL SERVER ERROR",
    503: "503 SERVICE UNAVAILABLE",
}


class FastPath:
    """A WSGI app wrapped: HOT_ROUTES answered here, every other request passed on."""

    def __init__(self, app: WsgiApp, context: handlers.Context) -> None:
        self.app = app
        self.context = context
        # (method, path) -> (route template, handler, whether to send the body);
        # HEAD as well wherever GET is, as a Flask rule would take it: the same
        # headers, the body left out
        self._routes = {
            (route.method, route.path): (route.path, route.handler, True)
            for route in HOT_ROUTES
        } | {
            ("HEAD", route.path): (route.path, route.handler, False)
            for route in HOT_ROUTES
            if route.method == "GET"
        }

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        route = self._routes.get(
            (environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        )
        if route is None:
            return self.app(environ, start_response)
        environ[handlers.ROUTE_KEY], handler, with_body = route
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
        return [reply.body] if with_body else []
