"""Turn what a client sent into arrays and numbers the runtime can trust, or say why.

Flask-free and separate from the views so every rejection can be unit-tested on plain
values. The fast path validates with numpy on whole arrays; only when it finds a problem
does a slow pass walk the points to name the first bad one in words.
"""

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain

import numpy as np
import orjson

from service.errors import ApiError, bad_request

JSON_MEDIA_TYPES = ("application/json",)
GRID_FIELDS = ("x_min", "x_max", "y_min", "y_max", "nx", "ny", "format")
FORMATS = ("json", "npy", "png")
DEFAULT_GRID_SIZE = 200
_SMALL = 64  # values below which points are checked one by one
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


def require_json(content_type: str | None) -> None:
    """415 unless the body is declared JSON (`application/json` or `+json`)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type in JSON_MEDIA_TYPES or media_type.endswith("+json"):
        return
    shown = media_type or "none"
    raise ApiError(
        415,
        "unsupported_media_type",
        f"send a JSON body with Content-Type: application/json (got {shown})",
    )


def check_body_size(n_bytes: int | None, max_body_bytes: int) -> None:
    if n_bytes is not None and n_bytes > max_body_bytes:
        raise ApiError(
            413,
            "body_too_large",
            f"request body has {n_bytes} bytes; the limit is {max_body_bytes}",
        )


def parse_json(body: bytes) -> object:
    """Parse strict JSON: NaN and Infinity literals and invalid UTF-8 are refused."""
    if not body:
        raise bad_request(
            "invalid_json", "the request body is empty; send a JSON object"
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad_request(
            "invalid_json",
            f"the body is not valid JSON ({exc}); NaN and Infinity are not JSON",
        ) from exc


def parse_points(
    doc: object, body: bytes, n_features: int, max_points: int, max_abs: float
) -> np.ndarray:
    """Validate a `/predict` document and return its points.

    Parameters
    ----------
    doc : the parsed JSON body, expected `{"points": [[x1, ..., x_n_features], ...]}`
    body : the raw bytes it was parsed from (used to spot JSON booleans cheaply)

    Returns
    -------
    X : (n_samples, n_features) float64
    """
    points = _only_field(doc, "points", '{"points": [[x1, x2], ...]}')
    if not isinstance(points, list):
        raise bad_request(
            "invalid_points",
            f"points must be a list of points, got {_json_type(points)}",
        )
    n_samples = len(points)
    if n_samples == 0:
        raise bad_request("invalid_points", "points is empty; send at least one point")
    if n_samples > max_points:
        raise ApiError(
            413,
            "too_many_points",
            f"{n_samples} points sent; the limit is {max_points} per request",
        )
    if n_samples * n_features <= _SMALL:
        # a few values: checking each in Python is cheaper than numpy's set-up
        _raise_first_problem(points, n_features, max_abs)
        return np.array(points, dtype=np.float64)
    X = _as_matrix(points, body, n_features)
    if X is not None and _within(X, max_abs):
        return X
    _raise_first_problem(points, n_features, max_abs)
    # every value checked one by one (a cheap scan raised a false alarm): build it
    return np.array(points, dtype=np.float64)


def _as_matrix(points: list, body: bytes, n_features: int) -> np.ndarray | None:
    """The points as a matrix if they are certainly all numbers, else None.

    numpy's float conversion would accept "1.5", true and null (as 1.5, 1.0, nan), so
    the raw body is checked first: with the single field already known to be
    "points", two quote characters mean no string anywhere; outside strings "u" only
    occurs in true and null and "a" only in false (a one-byte search is a memchr).
    Rows that are lists of the right length then leave only numbers (or nested lists
    and objects, which fail below).
    """
    if (
        body.count(b'"') != 2
        or b"u" in body  # true, null
        or b"a" in body  # false
        or set(map(type, points)) != {list}
        or set(map(len, points)) != {n_features}
    ):
        return None
    try:
        flat = np.fromiter(
            chain.from_iterable(points),
            dtype=np.float64,
            count=len(points) * n_features,
        )
    except (ValueError, TypeError):  # a list or an object where a number should be
        return None
    return flat.reshape(len(points), n_features)


def _within(X: np.ndarray, max_abs: float) -> bool:
    # one pass that also refuses inf (orjson already refuses NaN/Infinity literals)
    return bool(np.abs(X).max() <= max_abs)


def _raise_first_problem(points: list, n_features: int, max_abs: float) -> None:
    for i, point in enumerate(points):
        if not isinstance(point, list):
            raise bad_request(
                "invalid_points",
                f"points[{i}] must be a list of {n_features} numbers, "
                f"got {_json_type(point)}",
            )
        if len(point) != n_features:
            raise bad_request(
                "invalid_points",
                f"each point needs {n_features} features, points[{i}] has {len(point)}",
            )
        for j, value in enumerate(point):
            _check_number(value, f"points[{i}][{j}]", max_abs, "invalid_points")


def _check_number(value: object, where: str, max_abs: float, code: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_request(code, f"{where} must be a number, got {_json_type(value)}")
    if not math.isfinite(value) or abs(value) > max_abs:
        raise bad_request(
            code, f"{where} is {value!r}; numbers must be finite, within ±{max_abs:g}"
        )
    return float(value)


def _only_field(doc: object, field: str, example: str) -> object:
    if not isinstance(doc, dict):
        raise bad_request(
            "invalid_body", f"the body must be a JSON object like {example}"
        )
    unknown = sorted(key for key in doc if key != field)
    if unknown:
        raise bad_request(
            "unknown_field",
            f"unknown field(s) {', '.join(map(repr, unknown))}; the body takes only "
            f"{field!r}, like {example}",
        )
    if field not in doc:
        raise bad_request(
            "missing_field", f"the body needs the field {field!r}, like {example}"
        )
    return doc[field]


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "a number"


# --- model choice -------------------------------------------------------------------


def query_fields(items: Iterable[tuple[str, str]], allowed: Iterable[str]) -> dict:
    """Query parameters as a dict; unknown or repeated names are 400s, not ignored."""
    allowed = tuple(allowed)
    fields: dict[str, str] = {}
    for key, value in items:
        if key not in allowed:
            raise bad_request(
                "unknown_parameter",
                f"unknown query parameter {key!r}; allowed: {', '.join(allowed)}",
            )
        if key in fields:
            raise bad_request(
                "invalid_parameter", f"query parameter {key!r} given twice"
            )
        fields[key] = value
    return fields


def parse_version(raw: str | None) -> int | str | None:
    """`version` query value: a positive integer, an alias name, or absent."""
    if raw is None:
        return None
    if raw.isascii() and raw.isdigit():
        version = int(raw)
        if version < 1:
            raise bad_request(
                "invalid_parameter", "version must be a positive integer or an alias"
            )
        return version
    if not _ALIAS.fullmatch(raw):
        raise bad_request(
            "invalid_parameter",
            "version must be a positive integer or an alias name "
            "(letters, digits, '_', '.', '-'; starting with a letter)",
        )
    return raw


# --- boundary grid ------------------------------------------------------------------


@dataclass(frozen=True)
class GridRequest:
    """What a client asked of /boundary; bounds left None take the model's defaults."""

    x_min: float | None = None
    x_max: float | None = None
    y_min: float | None = None
    y_max: float | None = None
    nx: int = DEFAULT_GRID_SIZE
    ny: int = DEFAULT_GRID_SIZE
    format: str = "json"


def parse_grid_body(doc: object, max_cells: int, max_abs: float) -> GridRequest:
    """POST /boundary body: a JSON object of grid fields, every one optional."""
    if not isinstance(doc, dict):
        raise bad_request(
            "invalid_body",
            "the body must be a JSON object like "
            '{"nx": 100, "ny": 100, "format": "json"}',
        )
    unknown = sorted(key for key in doc if key not in GRID_FIELDS)
    if unknown:
        hint = ""
        if {"model", "version"} & set(unknown):
            hint = "; model and version are query parameters"
        raise bad_request(
            "unknown_field",
            f"unknown field(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(GRID_FIELDS)}{hint}",
        )
    return _grid_request(doc, from_query=False, max_cells=max_cells, max_abs=max_abs)


def parse_grid_query(
    fields: Mapping[str, str], max_cells: int, max_abs: float
) -> GridRequest:
    """GET /boundary query: grid fields as strings (model/version removed already)."""
    return _grid_request(fields, from_query=True, max_cells=max_cells, max_abs=max_abs)


def _grid_request(
    fields: Mapping[str, object], from_query: bool, max_cells: int, max_abs: float
) -> GridRequest:
    values: dict[str, object] = {}
    for name in ("x_min", "x_max", "y_min", "y_max"):
        if fields.get(name) is not None:
            values[name] = _bound(fields[name], name, from_query, max_abs)
    for name in ("nx", "ny"):
        if fields.get(name) is not None:
            values[name] = _grid_size(fields[name], name, from_query, max_cells)
    if fields.get("format") is not None:
        fmt = fields["format"]
        if fmt not in FORMATS:
            raise bad_request(
                "invalid_parameter",
                f"format must be one of {', '.join(FORMATS)}, got {_shown(fmt)}",
            )
        values["format"] = fmt
    request = GridRequest(**values)
    if request.nx * request.ny > max_cells:
        raise ApiError(
            413,
            "too_many_cells",
            f"a {request.nx}x{request.ny} grid has {request.nx * request.ny} cells; "
            f"the limit is {max_cells}",
        )
    return request


def _bound(value: object, name: str, from_query: bool, max_abs: float) -> float:
    if from_query:
        try:
            value = float(value)
        except ValueError:
            raise bad_request(
                "invalid_parameter", f"{name} must be a number, got {_shown(value)}"
            ) from None
    return _check_number(value, name, max_abs, "invalid_parameter")


def _grid_size(value: object, name: str, from_query: bool, max_cells: int) -> int:
    problem = f"{name} must be an integer from 1 to {max_cells}, got {_shown(value)}"
    if from_query:
        try:
            value = int(value)
        except ValueError:
            raise bad_request("invalid_parameter", problem) from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON Schema counts 10.0 as an integer; so do we
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise bad_request("invalid_parameter", problem)
    if value > max_cells:
        raise ApiError(413, "too_many_cells", problem)
    return value


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= 40 else text[:37] + "..."
