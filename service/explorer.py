"""The decision-boundary explorer at GET /, and the data sample route it draws from.

Apart from the API blueprint because it serves a page: HTML, JavaScript and CSS
shipped in service/static/, sent with a strict Content-Security-Policy (nothing but
this origin's own files and API, no inline script or style, no frames), and open
without a token so a browser can load it; the page's API calls carry the token.
"""

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, request

from service import handlers
from service.errors import ApiError
from service.handlers import Context, json_reply, query

STATIC_DIR = Path(__file__).with_name("static")
# the page's files, by URL name -> media type; nothing else is served from there
ASSETS = {
    "explorer.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "canvas.js": "text/javascript; charset=utf-8",
    "panels.js": "text/javascript; charset=utf-8",
    "explorer.css": "text/css; charset=utf-8",
}
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        # the favicon is an empty data: URL, so the browser asks for nothing else
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
_PAGE_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    # a new release's page and scripts are picked up on the next load
    ("Cache-Control", "no-cache"),
)

bp = Blueprint("explorer", __name__)


@bp.get("/")
def page() -> Response:
    query(request.environ, ())
    return _file("index.html", "text/html; charset=utf-8")


@bp.get("/explorer/<asset>")
def asset(asset: str) -> Response:
    query(request.environ, ())
    if asset not in ASSETS:
        abort(404)
    return _file(asset, ASSETS[asset])


@bp.get("/models/<name>/versions/<version>/data")
def data_sample(name: str, version: str) -> Response:
    """Up to 2,000 of the points the version was trained and validated on."""
    query(request.environ, ())
    context: Context = current_app.extensions["scratchnet.context"]
    model = handlers.resolve_model(
        request.environ, context, {"model": name, "version": version}
    )
    sample = context.store.registry.read_sample(
        model.name, model.version, model.manifest
    )
    if sample is None:
        raise ApiError(
            404,
            "no_data_sample",
            f"model {model.name!r} version {model.version} was published without a "
            "data sample (trainers before the explorer did not store one); "
            "retrain to get one",
        )
    payload = {
        "model": model.name,
        "version": model.version,
        "classes": model.classes,
        "n_features": model.n_features,
        **sample,
    }
    reply = json_reply(payload, model)
    return Response(
        reply.body,
        headers=[("Content-Type", reply.content_type), *reply.headers],
    )


def _file(file: str, content_type: str) -> Response:
    body = (STATIC_DIR / file).read_bytes()
    return Response(body, headers=[("Content-Type", content_type), *_PAGE_HEADERS])
