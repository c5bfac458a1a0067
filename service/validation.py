"""Turn what a client sent into arrays and numbers the runtime can trust, or say why.

Flask-free and separate from the views so every rejection can be unit-tested on plain
values: the JSON framing, the points of /predict, the model choice. Large point lists
are checked on whole arrays; only when that finds a problem does a slow pass walk the
points to name the first bad one in words. /boundary's fields are in grid_fields.
"""

import json
import math
import re
from collections.abc import Callable, Iterable
from itertools import chain

import numpy as np
import orjson

from service.errors import ApiError, bad_request
from trainer.registry.names import ALIAS_SPELLING, MAX_VERSION_DIGITS, is_alias_name

JSON_MEDIA_TYPES = ("application/json",)
_SMALL = 64  # values below which points are checked one by one
_NON_FINITE = re.compile(rb"NaN|Infinity")


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


def require_identity_encoding(content_encoding: str | None) -> None:
    """415 for a compressed body: the limits are on the bytes we parse, so a gzip body
    would either be read as garbage JSON or let a small upload expand past them."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return
    raise ApiError(
        415,
        "unsupported_encoding",
        f"request bodies must not be compressed (got Content-Encoding: {encoding}); "
        "send the JSON uncompressed",
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
    body : the raw bytes it was parsed from (see `only_known_strings`)

    Returns
    -------
    X : (n_samples, n_features) float64
    """
    points = _only_field(doc, "points", lambda: _points_example(n_features))
    _check_count(points, max_points)
    # many values: whole-array checks first, and the walk below only on a problem;
    # a few values: walking them in Python is cheaper than numpy's set-up
    large = len(points) * n_features > _SMALL
    X = _as_matrix(doc, body, n_features) if large else None
    if X is None or not _within(X, max_abs):
        _raise_first_problem(points, n_features, max_abs)
        require_unique_keys(doc, body)
        X = np.array(points, dtype=np.float64)
    return X


def only_known_strings(doc: dict, body: bytes) -> bool:
    """Whether every quote character in `body` belongs to one of `doc`'s own strings.

    `doc` is the object `body` was parsed into; its own strings are its keys and its
    string values, two quotes each. Any other `"` in the body is a key given again
    (orjson keeps the last of repeated keys, so a repeat leaves no trace in `doc`), a
    string deeper down, or one escaped inside a string: it can only add to the count.
    So True is proof, for the cost of a byte count, that no key repeats and no string
    hides in the nested values. False may be a false alarm only when `doc`'s own keys
    or values hold a quote, or nested values hold strings: callers that act on False
    have checked the document first (every field name and value the API accepts is
    quote-free, and its nested values are numbers).
    """
    n_strings = len(doc)
    for value in doc.values():  # a loop: half the cost of sum() over a generator
        n_strings += isinstance(value, str)
    return body.count(b'"') == 2 * n_strings


def _check_count(points: object, max_points: int) -> None:
    if not isinstance(points, list):
        raise bad_request(
            "invalid_points",
            f"points must be a list of points, got {_json_type(points)}",
        )
    if not points:
        raise bad_request("invalid_points", "points is empty; send at least one point")
    if len(points) > max_points:
        raise ApiError(
            413,
            "too_many_points",
            f"{len(points)} points sent; the limit is {max_points} per request",
        )


def _as_matrix(doc: dict, body: bytes, n_features: int) -> np.ndarray | None:
    """The points as a matrix if they are certainly all numbers, else None.

    numpy's float conversion would accept "1.5", true and null (as 1.5, 1.0, nan), so
    the raw body is checked first: with the single field known to be "points", no
    string is left anywhere (`only_known_strings`, which also rules out a repeated
    key); outside strings "u" only occurs in true and null and "a" only in false (a
    one-byte search is a memchr). Rows that are lists of the right length then leave
    only numbers (or nested lists and objects, which fail below).
    """
    points = doc["points"]
    if (
        not only_known_strings(doc, body)
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


def require_unique_keys(doc: dict, body: bytes) -> None:
    """400 when the body gives a field twice, like `{"points": 1, "points": [[0, 1]]}`.

    orjson keeps the last of repeated keys without a word, and a proxy or client library
    may keep the first: such a body means two things, so it is refused. Call it once
    `doc` is validated (see `only_known_strings`, which then decides for the cost of a
    byte count); only a body with a repeat is parsed again, to name the key.
    """
    if only_known_strings(doc, body):
        return
    repeated = repeated_keys(body)
    shown = repr(repeated[0]) if repeated else "a field"
    raise bad_request(
        "duplicate_field", f"{shown} is given twice in the body; send each field once"
    )


def repeated_keys(text: bytes) -> list[str]:
    """The keys JSON `text` gives twice within one object, in the order found (a
    second parse, with the pairs of every object: orjson keeps no trace of them)."""
    repeated: list[str] = []

    def note_repeats(pairs: list[tuple[str, object]]) -> dict:
        keys = [key for key, _ in pairs]
        repeated.extend(key for i, key in enumerate(keys) if key in keys[:i])
        return {}

    json.loads(text, object_pairs_hook=note_repeats)
    return repeated


def _only_field(doc: object, field: str, example: Callable[[], str]) -> object:
    # the example is built only for a message: most bodies are fine
    if not isinstance(doc, dict):
        raise bad_request(
            "invalid_body", f"the body must be a JSON object like {example()}"
        )
    unknown = sorted(key for key in doc if key != field)
    if unknown:
        raise bad_request(
            "unknown_field",
            f"unknown field(s) {', '.join(map(repr, unknown))}; the body takes only "
            f"{field!r}, like {example()}",
        )
    if field not in doc:
        raise bad_request(
            "missing_field", f"the body needs the field {field!r}, like {example()}"
        )
    return doc[field]


def _points_example(n_features: int) -> str:
    """`{"points": [[x1, x2], ...]}` with as many values a point as the model takes."""
    if n_features <= 4:
        point = ", ".join(f"x{i}" for i in range(1, n_features + 1))
    else:
        point = f"x1, x2, ..., x{n_features}"
    return '{"points": [[' + point + "], ...]}"


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
        if len(raw.lstrip("0")) > MAX_VERSION_DIGITS:
            raise ApiError(
                404,
                "version_not_found",
                f"no version {raw[:20]}...: versions are numbered from 1 upward and "
                f"have at most {MAX_VERSION_DIGITS} digits",
            )
        version = int(raw)
        if version < 1:
            raise bad_request(
                "invalid_parameter", "version must be a positive integer or an alias"
            )
        return version
    if not is_alias_name(raw):
        # the registry's own rule: an alias it could never hold is a malformed
        # request, not an unknown alias
        raise bad_request(
            "invalid_parameter",
            f"version must be a positive integer or an alias name ({ALIAS_SPELLING})",
        )
    return raw


def _short(text: str) -> str:
    # a client's text echoed in a message: bounded, and quoted so its end is visible
    return repr(text if len(text) <= 64 else text[:61] + "...")
