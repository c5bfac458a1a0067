"""Turn what a client sent into arrays and numbers the runtime can trust, or say why.

Flask-free and separate from the views so every rejection can be unit-tested on plain
values: the JSON framing, the points of /predict, the model choice. Large point lists
are checked on whole arrays; only when that finds a problem does a slow pass walk the
points to name the first bad one in words. /boundary's fields are in grid_fields.
"""

import json
import math
import re
from collections.abc import Iterable
from itertools import chain

import numpy as np
import orjson

from service.errors import ApiError, bad_request

JSON_MEDIA_TYPES = ("application/json",)
_SMALL = 64  # values below which points are checked one by one
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
_NON_FINITE = re.compile(rb"NaN|Infinity")
_MAX_VERSION_DIGITS = 18  # fits in a signed 64-bit integer


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
        # the hint only where it applies: a cut-off body is not about NaN
        hint = (
            "; NaN, Infinity and numbers beyond ±1.8e308 are not JSON numbers"
            if "infinity" in str(exc) or _NON_FINITE.search(body)
            else ""
        )
        raise bad_request(
            "invalid_json", f"the body is not valid JSON ({exc}){hint}"
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
        if body.count(b'"') != 2:  # require_unique_keys(body, 1), inlined: hot path
            require_unique_keys(body, 1)
        return np.array(points, dtype=np.float64)
    # (_as_matrix only accepts a body with one key, so no repeated one)
    X = _as_matrix(points, body, n_features)
    if X is not None and _within(X, max_abs):
        return X
    _raise_first_problem(points, n_features, max_abs)
    require_unique_keys(body, 1)
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
            check_number(value, f"points[{i}][{j}]", max_abs, "invalid_points")


def check_number(value: object, where: str, max_abs: float, code: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_request(code, f"{where} must be a number, got {_json_type(value)}")
    if not math.isfinite(value) or abs(value) > max_abs:
        raise bad_request(
            code, f"{where} is {value!r}; numbers must be finite, within ±{max_abs:g}"
        )
    return float(value)


def require_unique_keys(body: bytes, n_strings: int) -> None:
    """400 when the body gives a field twice, like `{"points": 1, "points": [[0, 1]]}`.

    orjson keeps the last of repeated keys without a word, and a proxy or client library
    may keep the first: such a body means two things, so it is refused. Called once the
    document is valid, when its only strings are its keys and known values without
    quote characters inside: `n_strings` of them, two quotes each. More quotes than
    that can only be a repeated key, and counting bytes costs nearly nothing.
    """
    if body.count(b'"') == 2 * n_strings:
        return
    repeated: list[str] = []

    def note_repeats(pairs: list[tuple[str, object]]) -> dict:
        keys = [key for key, _ in pairs]
        repeated.extend(key for i, key in enumerate(keys) if key in keys[:i])
        return {}

    json.loads(body, object_pairs_hook=note_repeats)
    shown = repr(repeated[0]) if repeated else "a field"
    raise bad_request(
        "duplicate_field", f"{shown} is given twice in the body; send each field once"
    )


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


def query_fields(
    items: Iterable[tuple[str, str]], allowed: Iterable[str], hint: str = ""
) -> dict:
    """Query parameters as a dict; unknown or repeated names are 400s, not ignored.

    `hint` is added to the message for an unknown name (say where the field goes).
    """
    allowed = tuple(allowed)
    fields: dict[str, str] = {}
    for key, value in items:
        if key not in allowed:
            takes = (
                f"allowed: {', '.join(allowed)}"
                if allowed
                else "this route takes no query parameters"
            )
            raise bad_request(
                "unknown_parameter",
                f"unknown query parameter {_short(key)}; {takes}{hint}",
            )
        if key in fields:
            raise bad_request(
                "invalid_parameter", f"query parameter {_short(key)} given twice"
            )
        fields[key] = value
    return fields


def parse_version(raw: str | None) -> int | str | None:
    """`version` query value: a positive integer, an alias name, or absent."""
    if raw is None:
        return None
    if raw.isascii() and raw.isdigit():
        # no version has more digits; int() refuses over 4300 of them anyway
        if len(raw.lstrip("0")) > _MAX_VERSION_DIGITS:
            raise ApiError(
                404,
                "version_not_found",
                f"no version {raw[:20]}...: versions are numbered from 1 upward and "
                f"have at most {_MAX_VERSION_DIGITS} digits",
            )
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


def _short(text: str) -> str:
    # a client's text echoed in a message: bounded, and quoted so its end is visible
    return repr(text if len(text) <= 64 else text[:61] + "...")
