"""The work of the model routes, from a WSGI environ to a reply, without Flask.

/predict and /boundary are the routes clients call in volume, and Flask's per-request
machinery (contexts, proxies, response objects) costs more than the work of a small
prediction. So their handlers read the environ directly and service.fastpath calls
them straight from WSGI; the blueprint's views use the helpers shared by every route.
"""

from dataclasses import dataclass
from pathlib import PurePath
from urllib.parse import parse_qsl

import orjson

from service import metrics
from service.boundary import MEDIA_TYPES, check_response_size, render, resolve_grid
from service.cache import BytesCache
from service.errors import ApiError, bad_request
from service.grid_fields import (
    GRID_FIELDS,
    GridRequest,
    parse_grid_body,
    parse_grid_query,
)
from service.runtime import ServedModel
from service.settings import Settings
from service.store import ModelStore
from service.validation import (
    check_body_size,
    parse_json,
    parse_points,
    parse_version,
    query_fields,
    require_identity_encoding,
    require_json,
)

MODEL_CHOICE = ("model", "version")
# where the request observation (service.instrument) finds what answered
ROUTE_KEY = "scratchnet.route"
MODEL_KEY = "scratchnet.model"
VERSION_KEY = "scratchnet.version"


@dataclass(frozen=True)
class Context:
    """What handlers need from the app: built once by the factory."""

    store: ModelStore
    settings: Settings
    boundary_cache: BytesCache | None


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def predict(environ: dict, context: Context) -> Reply:
    settings = context.settings
    fields = query(environ, MODEL_CHOICE)
    body = json_body(environ, settings)
    doc = parse_json(body)
    model = resolve_model(environ, context, fields)
    X = parse_points(
        doc, body, model.n_features, settings.max_points, settings.max_abs_feature
    )
    indices, P = model.predict(X)
    metrics.count_points(model.name, model.version, len(X))
    return json_reply(
        {
            "model": model.name,
            "version": model.version,
            "classes": model.classes,
            "labels": model.labels(indices),
            "probabilities": P,
        },
        model,
    )


def boundary(environ: dict, context: Context) -> Reply:
    settings = context.settings
    fields, grid_request = grid_fields_of(environ, settings, MODEL_CHOICE, "/boundary")
    model = resolve_model(environ, context, fields)
    grid = resolve_grid(grid_request, model)
    fmt, values = grid_request.format, grid_request.values
    check_response_size(model, grid, fmt, settings.max_response_bytes, values)
    cache = context.boundary_cache
    key = (model.name, model.version, grid, fmt, values)
    content = cache.get(key) if cache is not None else None
    if content is None:
        content = render(model, grid, fmt, values)
        if cache is not None:
            cache.put(key, content)
    metrics.count_cells(model.name, model.version, grid.nx * grid.ny)
    headers = model.headers
    if fmt != "json":
        filename = f"boundary-{model.name}-{model.version}.{fmt}"
        headers += (("Content-Disposition", f'inline; filename="{filename}"'),)
    return Reply(200, MEDIA_TYPES[fmt], content, headers)


def grid_fields_of(
    environ: dict, settings: Settings, choice: tuple[str, ...], route: str
) -> tuple[dict[str, str], GridRequest]:
    """The query's `choice` fields and the grid asked for: from the query on GET,
    from the JSON body on POST (where the query takes `choice` only)."""
    limits = (settings.max_grid_cells, settings.max_abs_feature)
    if environ.get("REQUEST_METHOD") == "POST":
        hint = f"; POST {route} takes the grid fields in its JSON body"
        return query(environ, choice, hint), _grid_body(environ, settings, limits)
    fields = query(environ, choice + GRID_FIELDS)
    grid_fields = {k: v for k, v in fields.items() if k not in choice}
    grid_request = parse_grid_query(
        grid_fields, *limits, max_side=settings.max_grid_side
    )
    return fields, grid_request


def _grid_body(
    environ: dict, settings: Settings, limits: tuple[int, float]
) -> GridRequest:
    # every field is optional, so a POST without a body asks for the defaults; a body
    # sent chunked (no Content-Length) is still a body and must be JSON
    length = environ.get("CONTENT_LENGTH", "")
    if length == "0" or not (length or environ.get("HTTP_TRANSFER_ENCODING")):
        return GridRequest()
    body = json_body(environ, settings)
    if not body:
        return GridRequest()
    return parse_grid_body(
        parse_json(body), *limits, body=body, max_side=settings.max_grid_side
    )


# --- shared by every route ----------------------------------------------------------


def query(environ: dict, allowed: tuple[str, ...], hint: str = "") -> dict[str, str]:
    raw = environ.get("QUERY_STRING", "")
    if not raw:
        return {}
    return query_fields(parse_qsl(raw, keep_blank_values=True), allowed, hint)


def json_body(environ: dict, settings: Settings) -> bytes:
    """The request body, after the 415 and 413 checks; never read past the limit."""
    require_json(environ.get("CONTENT_TYPE"))
    return read_body(environ, settings)


def read_body(environ: dict, settings: Settings) -> bytes:
    """The request body of any media type (415 if compressed, 413 past the limit)."""
    require_identity_encoding(environ.get("HTTP_CONTENT_ENCODING"))
    length = environ.get("CONTENT_LENGTH", "")
    stream = environ["wsgi.input"]
    if length.isdigit():
        announced = int(length)
        check_body_size(announced, settings.max_body_bytes)
        body = _read(stream, announced)
        if len(body) < announced:
            # the client closed its side early: what arrived may parse, but it is
            # not the request that was announced
            raise bad_request(
                "unreadable_body",
                f"the connection closed after {len(body)} of the {announced} body "
                "bytes its Content-Length announced",
            )
        return body
    if environ.get("wsgi.input_terminated"):
        # chunked: read up to one byte past the limit to know it was passed
        body = _read(stream, settings.max_body_bytes + 1)
        if len(body) > settings.max_body_bytes:
            raise ApiError(
                413,
                "body_too_large",
                f"request body is over the limit of {settings.max_body_bytes} bytes",
            )
        return body
    return b""


def _read(stream: object, n_bytes: int) -> bytes:
    try:
        return stream.read(n_bytes)
    except Exception as exc:
        # the server's body reader fails on a malformed chunk or a connection closed
        # mid-body (gunicorn raises its own types): the client's doing, not a bug
        raise bad_request(
            "unreadable_body",
            "the request body could not be read: a malformed chunked encoding or a "
            "connection closed before the end of the body",
        ) from exc


def public_manifest(manifest: dict) -> dict:
    """The manifest as served over HTTP: a CSV dataset by its file name, never a path.

    Versions published before the trainer stopped recording paths carry the training
    machine's absolute path; the file name and the sha256 beside it identify the data.
    """
    dataset = manifest.get("training", {}).get("dataset", {})
    if not isinstance(dataset, dict) or "path" not in dataset:
        return manifest
    public = {key: value for key, value in dataset.items() if key != "path"}
    public["file"] = PurePath(str(dataset["path"])).name
    return {**manifest, "training": {**manifest["training"], "dataset": public}}


def resolve_model(environ: dict, context: Context, fields: dict) -> ServedModel:
    """Resolve `model`/`version` and note them for the request log and metrics."""
    model = context.store.get(fields.get("model"), parse_version(fields.get("version")))
    environ[MODEL_KEY], environ[VERSION_KEY] = model.name, model.version_text
    return model


def json_reply(payload: object, model: ServedModel | None = None) -> Reply:
    body = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
    return Reply(200, "application/json", body, model.headers if model else ())
