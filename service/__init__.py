"""scratchnet's prediction service: a Flask app factory over the model store.

Started as `gunicorn -c deploy/gunicorn.conf.py 'service:create_app()'`; each worker
builds its own app, store and poll thread. Settings are read here, never at import.
Layers, outside in: request observation (instrument), the fast path for /predict and
/boundary (fastpath), then Flask with the API blueprint (api) and its error handlers.
"""

import logging
from pathlib import Path

import orjson
from flask import Flask, Response
from flask.globals import request_ctx

from service import api, errors, explorer, instrument, logs, metrics
from service.auth import Authenticated, TokenFile
from service.cache import BytesCache
from service.compression import Compressed
from service.cors import Cors
from service.fastpath import FastPath
from service.handlers import ROUTE_KEY, Context
from service.openapi import document
from service.settings import Settings
from service.store import ModelStore
from trainer.registry.registry import open_registry
from trainer.registry.storage import is_s3_url


class _ServiceFlask(Flask):
    def make_default_options_response(self) -> Response:
        # Flask answers OPTIONS with an empty 200 labelled text/html; say "no content"
        # instead, with the Allow header it computed
        response = super().make_default_options_response()
        response.status_code = 204
        del response.headers["Content-Type"]
        return response

    def dispatch_request(self) -> object:
        # leave the matched route template where the WSGI-level instrumentation reads
        # it (Flask drops its request object before the middleware looks); the hot
        # routes get theirs from service.fastpath
        request = request_ctx.request
        if request.url_rule is not None:
            request.environ[ROUTE_KEY] = request.url_rule.rule
        return super().dispatch_request()


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logs.configure(settings.log_level)
    _warn_if_missing(settings.registry)
    app = _ServiceFlask(__name__)
    # werkzeug refuses bigger bodies even when they arrive without a Content-Length
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    store = ModelStore(
        open_registry(settings.registry, settings.cache_dir),
        settings.default_model,
        version_cache_size=settings.version_cache_size,
        events=metrics.StoreEvents(),
    )
    # the first load happens before the worker takes traffic, so a worker is ready
    # as soon as it is up; later versions arrive through the poll thread
    store.refresh()
    store.start(settings.poll_seconds)
    context = Context(
        store=store,
        settings=settings,
        boundary_cache=(
            BytesCache(settings.boundary_cache_bytes)
            if settings.boundary_cache_bytes
            else None
        ),
    )
    app.extensions["scratchnet.context"] = context
    app.extensions["scratchnet.openapi"] = orjson.dumps(document(settings))
    app.register_blueprint(api.bp)
    app.register_blueprint(explorer.bp)
    errors.register(app)
    # outermost first: observe every request; serve the hot routes without Flask
    served = FastPath(app.wsgi_app, context)
    if settings.api_tokens_file is not None:
        # inside the instrumentation, so refused requests are counted and logged too
        served = Authenticated(served, TokenFile(settings.api_tokens_file))
    if settings.cors_origins:
        # outside the token check: preflights carry no token, and a 401 needs the
        # CORS headers for a page to read it
        served = Cors(served, settings.cors_origins)
    if settings.gzip_min_bytes:
        # inside the instrumentation, so the access log counts the bytes sent
        served = Compressed(served, settings.gzip_min_bytes)
    app.wsgi_app = instrument.Instrumented(served)
    return app


def _warn_if_missing(registry: object) -> None:
    # a mistyped SCRATCHNET_REGISTRY serves nothing but 503s: say so at start, with
    # the path (the log is the operator's), rather than only in every response
    root = Path(str(registry))
    if is_s3_url(str(registry)) or root.is_dir():
        return
    logging.getLogger("scratchnet.store").warning(
        "registry directory %s does not exist: nothing to serve until a model is "
        "published there (python -m trainer train --registry %s --name NAME "
        "--promote)",
        root,
        root,
    )
