"""The HTTP routes of DESIGN.md's API table.

A view parses (service.validation), asks the store for the model, calls the runtime and
returns bytes; it does no math. Every model route names the model and version that
answered, in the body when it is JSON and in X-Model / X-Model-Version headers always.
"""

import orjson
from flask import Blueprint, Response, current_app, request

from service import metrics
from service.boundary import MEDIA_TYPES, render, resolve_grid
from service.instrument import MODEL_KEY, VERSION_KEY
from service.runtime import ServedModel
from service.settings import Settings
from service.store import ModelStore
from service.validation import (
    GRID_FIELDS,
    GridRequest,
    check_body_size,
    parse_grid_body,
    parse_grid_query,
    parse_json,
    parse_points,
    parse_version,
    query_fields,
    require_json,
)

bp = Blueprint("api", __name__)
MODEL_CHOICE = ("model", "version")


@bp.post("/predict")
def predict() -> Response:
    settings = _settings()
    fields = _query(MODEL_CHOICE)
    body = _json_body(settings)
    doc = parse_json(body)
    model = _model(fields)
    X = parse_points(
        doc, body, model.n_features, settings.max_points, settings.max_abs_feature
    )
    indices, P = model.predict(X)
    metrics.count_points(model.name, model.version, len(X))
    return _json(
        {
            "model": model.name,
            "version": model.version,
            "classes": model.classes,
            "labels": model.labels(indices),
            "probabilities": P,
        },
        model,
    )


@bp.route("/boundary", methods=["GET", "POST"])
def boundary() -> Response:
    settings = _settings()
    limits = (settings.max_grid_cells, settings.max_abs_feature)
    if request.method == "GET":
        fields = _query(MODEL_CHOICE + GRID_FIELDS)
        grid_fields = {k: v for k, v in fields.items() if k not in MODEL_CHOICE}
        grid_request = parse_grid_query(grid_fields, *limits)
    else:
        fields = _query(MODEL_CHOICE)
        grid_request = _grid_body(settings, limits)
    model = _model(fields)
    grid = resolve_grid(grid_request, model)
    key = (model.name, model.version, grid, grid_request.format)
    cache = current_app.extensions["scratchnet.boundary_cache"]
    content = cache.get(key) if cache is not None else None
    if content is None:
        content = render(model, grid, grid_request.format)
        if cache is not None:
            cache.put(key, content)
    metrics.count_cells(model.name, model.version, grid.nx * grid.ny)
    response = Response(content, mimetype=MEDIA_TYPES[grid_request.format])
    if grid_request.format != "json":
        filename = f"boundary-{model.name}-{model.version}.{grid_request.format}"
        response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return _named(response, model)


def _grid_body(settings: Settings, limits: tuple[int, float]) -> GridRequest:
    # every field is optional, so a POST without a body asks for the defaults
    length = request.content_length
    if length == 0 or (length is None and not request.content_type):
        return GridRequest()
    return parse_grid_body(parse_json(_json_body(settings)), *limits)


@bp.get("/models")
def models() -> Response:
    _query(())
    store = _store()
    listing = []
    for name, state in sorted(store.states().items()):
        listing.append(
            {
                "name": name,
                "versions": list(state.versions),
                "aliases": state.aliases,
                "served_version": state.served.version if state.served else None,
                "failed_versions": [
                    {"version": version, "error": error}
                    for version, error in sorted(state.failures.items())
                ],
            }
        )
    return _json({"default_model": store.default_model, "models": listing})


@bp.get("/models/<name>")
def model_manifest(name: str) -> Response:
    _query(())
    model = _model({"model": name})
    return _json(model.manifest, model)


@bp.get("/models/<name>/versions/<version>")
def version_manifest(name: str, version: str) -> Response:
    _query(())
    model = _model({"model": name, "version": version})
    return _json(model.manifest, model)


@bp.get("/healthz")
def healthz() -> Response:
    return _json({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    store = _store()
    model = store.get()  # Unavailable (503) until the default model is loaded
    return _json(
        {"status": "ready", "model": model.name, "version": model.version}, model
    )


@bp.get("/metrics")
def prometheus() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)


@bp.get("/openapi.json")
def openapi() -> Response:
    return Response(
        current_app.extensions["scratchnet.openapi"], mimetype="application/json"
    )


# --- helpers ------------------------------------------------------------------------


def _settings() -> Settings:
    return current_app.extensions["scratchnet.settings"]


def _store() -> ModelStore:
    return current_app.extensions["models"]


def _model(fields: dict) -> ServedModel:
    """Resolve `model`/`version` and note them for the request log and metrics."""
    model = _store().get(fields.get("model"), parse_version(fields.get("version")))
    environ = request.environ
    environ[MODEL_KEY], environ[VERSION_KEY] = model.name, str(model.version)
    return model


def _query(allowed: tuple[str, ...]) -> dict[str, str]:
    if not request.environ.get("QUERY_STRING"):
        return {}  # the common case, without building werkzeug's MultiDict
    return query_fields(request.args.items(multi=True), allowed)


def _json_body(settings: Settings) -> bytes:
    # straight from the WSGI environ: werkzeug's accessors cost more than the parse
    environ = request.environ
    require_json(environ.get("CONTENT_TYPE"))
    length = environ.get("CONTENT_LENGTH", "")
    if length.isdigit():
        check_body_size(int(length), settings.max_body_bytes)
        return environ["wsgi.input"].read(int(length))
    # chunked: werkzeug reads it and enforces MAX_CONTENT_LENGTH (413) as it goes
    return request.get_data(cache=False)


def _json(payload: object, model: ServedModel | None = None) -> Response:
    content = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
    headers = [("Content-Type", "application/json")]
    if model is not None:
        headers += [("X-Model", model.name), ("X-Model-Version", str(model.version))]
    return Response(content, headers=headers)


def _named(response: Response, model: ServedModel) -> Response:
    response.headers["X-Model"] = model.name
    response.headers["X-Model-Version"] = str(model.version)
    return response
