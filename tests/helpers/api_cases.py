"""Requests the API must refuse, with the status and code each must get.

Shared by the unit tests (Flask's test client) and the integration tests (a real
gunicorn), so both check the same contract. Every case assumes the default model is a
two-feature `moons` model and that no limits were changed except these.
"""

from dataclasses import dataclass, field

JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    status: int
    code: str
    body: bytes | None = None
    headers: dict = field(default_factory=lambda: dict(JSON))


def _points(n: int, point: str = "[0.5, 0.25]") -> bytes:
    return ('{"points": [' + ",".join([point] * n) + "]}").encode()


def _predict(
    id: str, status: int, code: str, body: bytes, headers: dict = JSON, query: str = ""
) -> Case:
    return Case(id, "POST", "/predict" + query, status, code, body, dict(headers))


REJECTIONS = [
    # /predict bodies
    _predict("no body", 400, "invalid_json", b""),
    _predict("not json", 400, "invalid_json", b"{points: 1}"),
    _predict("NaN", 400, "invalid_json", b'{"points": [[NaN, 1]]}'),
    _predict("Infinity", 400, "invalid_json", b'{"points": [[1, Infinity]]}'),
    _predict("-Infinity", 400, "invalid_json", b'{"points": [[-Infinity, 1]]}'),
    _predict("overflow", 400, "invalid_json", b'{"points": [[1e999, 1]]}'),
    _predict("list body", 400, "invalid_body", b"[[1, 2]]"),
    _predict("missing field", 400, "missing_field", b"{}"),
    _predict("misspelt field", 400, "unknown_field", b'{"pionts": [[1, 2]]}'),
    _predict("extra field", 400, "unknown_field", b'{"points": [[1, 2]], "x": 1}'),
    _predict("points not a list", 400, "invalid_points", b'{"points": 3}'),
    _predict("points empty", 400, "invalid_points", b'{"points": []}'),
    _predict("too many features", 400, "invalid_points", b'{"points": [[1, 2, 3]]}'),
    _predict("too few features", 400, "invalid_points", b'{"points": [[1]]}'),
    _predict("flat point", 400, "invalid_points", b'{"points": [1, 2]}'),
    _predict("string", 400, "invalid_points", b'{"points": [["1", 2]]}'),
    _predict("boolean", 400, "invalid_points", b'{"points": [[true, 2]]}'),
    _predict("null", 400, "invalid_points", b'{"points": [[null, 2]]}'),
    _predict("nested", 400, "invalid_points", b'{"points": [[[1, 2], [3]]]}'),
    _predict("object point", 400, "invalid_points", b'{"points": [{"x": 1}]}'),
    _predict("huge value", 400, "invalid_points", b'{"points": [[1e300, 1]]}'),
    _predict(
        "bool in many", 400, "invalid_points", _points(99)[:-2] + b", [0, false]]}"
    ),
    _predict("ragged in many", 400, "invalid_points", _points(99)[:-2] + b", [0]]}"),
    # /predict framing
    _predict(
        "gzip body",
        415,
        "unsupported_encoding",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
        {**JSON, "Content-Encoding": "gzip"},
    ),
    _predict(
        "form body",
        415,
        "unsupported_media_type",
        b"points=1",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    _predict(
        "text body",
        415,
        "unsupported_media_type",
        b'{"points": [[1, 2]]}',
        {"Content-Type": "text/plain"},
    ),
    _predict(
        "unknown query", 400, "unknown_parameter", _points(1), query="?modle=moons"
    ),
    _predict(
        "repeated query",
        400,
        "invalid_parameter",
        _points(1),
        query="?model=moons&model=moons",
    ),
    _predict("version zero", 400, "invalid_parameter", _points(1), query="?version=0"),
    _predict("unknown model", 404, "model_not_found", _points(1), query="?model=nope"),
    _predict(
        "unknown version", 404, "version_not_found", _points(1), query="?version=999"
    ),
    _predict(
        "unknown alias", 404, "version_not_found", _points(1), query="?version=nightly"
    ),
    # an alias no registry can hold is malformed, not unknown (it was a 404 while the
    # service allowed '.' in aliases and the registry did not)
    _predict(
        "alias with a dot", 400, "invalid_parameter", _points(1), query="?version=v1.2"
    ),
    # /boundary
    Case(
        "x bounds reversed", "GET", "/boundary?x_min=1&x_max=0", 400, "invalid_bounds"
    ),
    Case("y bounds equal", "GET", "/boundary?y_min=1&y_max=1", 400, "invalid_bounds"),
    Case("bound not a number", "GET", "/boundary?x_min=left", 400, "invalid_parameter"),
    Case("bound nan", "GET", "/boundary?x_min=nan", 400, "invalid_parameter"),
    Case("nx zero", "GET", "/boundary?nx=0", 400, "invalid_parameter"),
    Case("nx negative", "GET", "/boundary?nx=-5", 400, "invalid_parameter"),
    Case("nx fraction", "GET", "/boundary?ny=2.5", 400, "invalid_parameter"),
    Case("bad format", "GET", "/boundary?format=gif", 400, "invalid_parameter"),
    Case("misspelt grid field", "GET", "/boundary?xmin=0", 400, "unknown_parameter"),
    Case("too many cells", "GET", "/boundary?nx=5000&ny=5000", 413, "too_many_cells"),
    Case(
        "post bounds reversed",
        "POST",
        "/boundary",
        400,
        "invalid_bounds",
        b'{"x_min": 2, "x_max": -2}',
    ),
    Case(
        "post nx string", "POST", "/boundary", 400, "invalid_parameter", b'{"nx": "10"}'
    ),
    Case(
        "post nx boolean",
        "POST",
        "/boundary",
        400,
        "invalid_parameter",
        b'{"nx": true}',
    ),
    Case(
        "post unknown field", "POST", "/boundary", 400, "unknown_field", b'{"nxx": 10}'
    ),
    Case(
        "post not json",
        "POST",
        "/boundary",
        415,
        "unsupported_media_type",
        b"nx=10",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case("post NaN", "POST", "/boundary", 400, "invalid_json", b'{"x_min": NaN}'),
    Case(
        "post too many cells",
        "POST",
        "/boundary",
        413,
        "too_many_cells",
        b'{"nx": 4000, "ny": 4000}',
    ),
    # models, routing
    Case("unknown model manifest", "GET", "/models/nope", 404, "model_not_found"),
    Case(
        "unknown version manifest",
        "GET",
        "/models/moons/versions/999",
        404,
        "version_not_found",
    ),
    Case(
        "bad version manifest",
        "GET",
        "/models/moons/versions/-1",
        400,
        "invalid_parameter",
    ),
    Case(
        "dotted alias manifest",
        "GET",
        "/models/moons/versions/a.b",
        400,
        "invalid_parameter",
    ),
    Case("put boundary", "PUT", "/boundary", 405, "method_not_allowed"),
    Case("unknown route", "GET", "/nope", 404, "not_found"),
    Case("get predict", "GET", "/predict", 405, "method_not_allowed"),
    Case("delete models", "DELETE", "/models", 405, "method_not_allowed"),
]
