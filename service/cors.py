"""CORS: which browser origins may call the API from another site, and preflights.

On only with `SCRATCHNET_CORS_ORIGINS` (the factory does not wrap the app otherwise,
so it costs nothing when off). A WSGI middleware outside the token check: a browser
sends its preflight without credentials, and a 401 must carry the CORS headers too,
or the page cannot read why it was refused. Origins match exactly; `*` allows any.
"""

from collections.abc import Callable, Iterable

StartResponse = Callable[..., object]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]

ALLOWED_METHODS = "GET, HEAD, POST, OPTIONS"
# what a page may send: JSON bodies, a bearer token, its own request id, and the V2
# binary extension's header
ALLOWED_HEADERS = (
    "Authorization, Content-Type, X-Request-ID, Inference-Header-Content-Length"
)
# what a page may read besides the CORS-safelisted headers
EXPOSED_HEADERS = (
    "X-Model, X-Model-Version, X-Request-ID, Content-Disposition, "
    "Inference-Header-Content-Length"
)
# how long a browser may reuse a preflight's answer
MAX_AGE_SECONDS = "600"


class Cors:
    """A WSGI app wrapped: preflights answered, CORS headers on listed origins."""

    def __init__(self, app: WsgiApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.any_origin = "*" in origins
        self.origins = frozenset(origins)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")
        allowed = origin is not None and (self.any_origin or origin in self.origins)
        if (
            allowed
            and environ.get("REQUEST_METHOD") == "OPTIONS"
            and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
        ):
            return self._preflight(origin, start_response)
        if not allowed and self.any_origin:
            return self.app(environ, start_response)  # no Origin: nothing varies
        added = self._headers(origin if allowed else None)

        def start(status: str, headers: list, exc_info: object = None) -> object:
            headers.extend(added)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)

    def _headers(self, origin: str | None) -> list[tuple[str, str]]:
        if self.any_origin:
            return [("Access-Control-Allow-Origin", "*"),
                    ("Access-Control-Expose-Headers", EXPOSED_HEADERS)]  # fmt: skip
        # the answer depends on Origin: a shared cache must not serve one origin's
        # response (with its Allow-Origin, or without) to another
        vary = [("Vary", "Origin")]
        if origin is None:
            return vary
        return [("Access-Control-Allow-Origin", origin),
                ("Access-Control-Expose-Headers", EXPOSED_HEADERS), *vary]  # fmt: skip

    def _preflight(self, origin: str, start_response: StartResponse) -> list[bytes]:
        start_response(
            "204 NO CONTENT",
            [
                *self._headers(origin)[:1],
                ("Access-Control-Allow-Methods", ALLOWED_METHODS),
                ("Access-Control-Allow-Headers", ALLOWED_HEADERS),
                ("Access-Control-Max-Age", MAX_AGE_SECONDS),
                *([] if self.any_origin else [("Vary", "Origin")]),
            ],
        )
        return []
