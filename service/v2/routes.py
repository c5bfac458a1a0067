"""The V2 routes, matched and answered at the WSGI level, in the protocol's error shape.

Everything under /v2 is answered here, before Flask: infer is a volume route like
/predict, and the protocol's errors are `{"error": "..."}`, not the rest of the API's
shape, for routing 404s and 405s too. The store, the limits and the error mapping
(service.errors.describe) are the ones every other route uses.
"""

from collections.abc import Callable, Iterable

import orjson

from service import metrics
from service.errors import ApiError, describe
from service.handlers import (
    MODEL_KEY,
    ROUTE_KEY,
    VERSION_KEY,
    Context,
    Reply,
    query,
    read_body,
)
from service.runtime import ServedModel
from service.v2.encoding import encode_infer
from service.v2.framing import HEADER_LENGTH_KEY, split_body
from service.v2.metadata import model_metadata, server_metadata
from service.v2.request import parse_infer
from service.validation import parse_version

StartResponse = Callable[..., object]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]
Handler = Callable[[dict, Context, dict[str, str]], Reply]

PREFIX = "/v2"


def server(environ: dict, context: Context, params: dict[str, str]) -> Reply:
    return _json(server_metadata())


def live(environ: dict, context: Context, params: dict[str, str]) -> Reply:
    return _json({"live": True})


def ready(environ: dict, context: Context, params: dict[str, str]) -> Reply:
    draining = context.settings.draining_file
    if draining is not None and draining.exists():
        raise ApiError(
            503, "draining", "shutting down: finishing the requests in flight"
        )
    _model(environ, context, {})  # 503 until the default model is served
    return _json({"ready": True})


def model(environ: dict, context: Context, params: dict[str, str]) -> Reply:
    served = _model(environ, context, params)
    state = context.store.states().get(served.name)
    versions = state.versions if state is not None else (served.version,)
    return _json(model_metadata(served, versions), served)


def model_ready(environ: dict, context: Context, params: dict[str, str]) -> Reply:
    served = _model(environ, context, params)
    body = {"name": served.name, "version": served.version_text, "ready": True}
    return _json(body, served)


def infer(environ: dict, context: Context, params: dict[str, str]) -> Reply:
    settings = context.settings
    body = read_body(environ, settings)
    framed = split_body(body, environ.get(HEADER_LENGTH_KEY))
    served = _model(environ, context, params)
    request = parse_infer(framed, served, settings.max_points, settings.max_abs_feature)
    indices, P = served.predict(request.X)
    metrics.count_points(served.name, served.version, len(request.X))
    content_type, payload, headers = encode_infer(
        served, request.id, request.outputs, indices, P
    )
    return Reply(200, content_type, payload, served.headers + headers)


# (segments after /v2, method) -> handler; "{name}" and "{version}" match one segment
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "", server),
    ("GET", "/health/live", live),
    ("GET", "/health/ready", ready),
    ("GET", "/models/{name}", model),
    ("GET", "/models/{name}/ready", model_ready),
    ("POST", "/models/{name}/infer", infer),
    ("GET", "/models/{name}/versions/{version}", model),
    ("GET", "/models/{name}/versions/{version}/ready", model_ready),
    ("POST", "/models/{name}/versions/{version}/infer", infer),
)


def templates() -> dict[str, list[str]]:
    """Every V2 path template (OpenAPI spelling) with its methods."""
    paths: dict[str, list[str]] = {}
    for method, tail, _ in ROUTES:
        paths.setdefault(PREFIX + tail, []).append(method)
    return paths


class V2Routes:
    """A WSGI app wrapped: every /v2 request answered here, the rest passed on."""

    def __init__(self, app: WsgiApp, context: Context) -> None:
        self.app = app
        self.context = context
        self._table: dict[tuple[str, ...], dict[str, tuple[str, Handler]]] = {}
        for method, tail, handler in ROUTES:
            key = tuple("*" if s.startswith("{") else s for s in tail.split("/")[1:])
            # the route label of metrics and logs, in the url_map's spelling
            label = (PREFIX + tail).replace("{", "<").replace("}", ">")
            self._table.setdefault(key, {})[method] = (label, handler)
        # the Allow header of each path, as 405 and OPTIONS send it
        self._allow = {key: ", ".join(_allowed(m)) for key, m in self._table.items()}

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path != PREFIX and not path.startswith("/v2/"):
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "")
        try:
            reply = self._dispatch(environ, path, method)
        except Exception as exc:  # the one mapping, in the protocol's shape
            status, _, message = describe(exc)
            reply = Reply(status, *_error(message))
        return _answer(start_response, reply, with_body=method != "HEAD")

    def _dispatch(self, environ: dict, path: str, method: str) -> Reply:
        params, key = self._match(path)
        methods = self._table.get(key)
        if methods is None:
            raise ApiError(
                404,
                "not_found",
                f"no V2 route {path[:128]!r}; GET /openapi.json lists every route",
            )
        allow = (("Allow", self._allow[key]),)
        if method == "OPTIONS":
            return Reply(204, "", b"", allow)
        chosen = methods.get("GET" if method == "HEAD" else method)
        if chosen is None:
            message = f"method {method[:16]} not allowed; allowed: {allow[0][1]}"
            return Reply(405, *_error(message), allow)
        environ[ROUTE_KEY], handler = chosen
        query(environ, ())  # the protocol's routes take no query parameters
        return handler(environ, self.context, params)

    def _match(self, path: str) -> tuple[dict[str, str], tuple[str, ...] | None]:
        """The path's parameters and its key in the table (None: no such shape)."""
        segments = tuple(path[len(PREFIX) :].split("/")[1:])
        if not all(segments):
            return {}, None  # an empty segment: a // or a trailing /
        params: dict[str, str] = {}
        key = segments
        if len(segments) >= 2 and segments[0] == "models":
            params["name"] = segments[1]
            key = ("models", "*", *segments[2:])
            if len(segments) >= 4 and segments[2] == "versions":
                params["version"] = segments[3]
                key = ("models", "*", "versions", "*", *segments[4:])
        return params, key


def _model(environ: dict, context: Context, params: dict[str, str]) -> ServedModel:
    version = parse_version(params.get("version"))
    served = context.store.get(params.get("name"), version)
    environ[MODEL_KEY], environ[VERSION_KEY] = served.name, served.version_text
    return served


def _json(payload: object, served: ServedModel | None = None) -> Reply:
    return Reply(
        200, "application/json", orjson.dumps(payload), served.headers if served else ()
    )


def _error(message: str) -> tuple[str, bytes]:
    return "application/json", orjson.dumps({"error": message})


def _allowed(methods: dict) -> list[str]:
    allowed = set(methods) | {"OPTIONS"}
    if "GET" in allowed:
        allowed.add("HEAD")
    return sorted(allowed)


_STATUS_TEXT = {
    200: "OK",
    204: "NO CONTENT",
    400: "BAD REQUEST",
    404: "NOT FOUND",
    405: "METHOD NOT ALLOWED",
    413: "REQUEST ENTITY TOO LARGE",
    415: "UNSUPPORTED MEDIA TYPE",
    500: "INTERNAL SERVER ERROR",
    503: "SERVICE UNAVAILABLE",
}


def _answer(start_response: StartResponse, reply: Reply, with_body: bool) -> list:
    if reply.status == 204:  # no content: no Content-Type or Content-Length either
        headers = list(reply.headers)
    else:
        headers = [
            ("Content-Type", reply.content_type),
            ("Content-Length", str(len(reply.body))),
            *reply.headers,
        ]
    start_response(f"{reply.status} {_STATUS_TEXT.get(reply.status, 'ERROR')}", headers)
    return [reply.body] if with_body and reply.body else []
