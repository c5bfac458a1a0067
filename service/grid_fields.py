"""The fields of a /boundary request, from a query string or a JSON body.

Apart from the points of /predict (service.validation) because grid fields arrive in
two encodings, strings in a query and typed values in JSON, and both must give the same
GridRequest or the same words of rejection. Bounds left out stay None here; the model's
training extent fills them in service.boundary.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from service.errors import ApiError, bad_request
from service.validation import check_number, require_unique_keys

GRID_FIELDS = ("x_min", "x_max", "y_min", "y_max", "nx", "ny", "format", "values")
FORMATS = ("json", "npy", "png")
# what a cell holds: its class label, or every class's probability (json and npy)
VALUES = ("labels", "probabilities")
DEFAULT_GRID_SIZE = 200
# a number in a query string is spelt as in JSON (a sign allowed): Python's float()
# would also take "1_0", " 1", "nan" or digits of other scripts
_QUERY_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


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
    values: str = "labels"


def parse_grid_body(
    doc: object,
    max_cells: int,
    max_abs: float,
    body: bytes | None = None,
    max_side: int | None = None,
) -> GridRequest:
    """POST /boundary body: a JSON object of grid fields, every one optional.

    `body`, the bytes `doc` was parsed from, lets a field given twice be refused.
    `max_side` caps nx and ny each (default: only their product is capped).
    """
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
    request = _grid_request(doc, False, max_cells, max_abs, max_side or max_cells)
    if body is not None:
        require_unique_keys(doc, body)
    return request


def parse_grid_query(
    fields: Mapping[str, str],
    max_cells: int,
    max_abs: float,
    max_side: int | None = None,
) -> GridRequest:
    """GET /boundary query: grid fields as strings (model/version removed already)."""
    return _grid_request(fields, True, max_cells, max_abs, max_side or max_cells)


def _grid_request(
    fields: Mapping[str, object],
    from_query: bool,
    max_cells: int,
    max_abs: float,
    max_side: int,
) -> GridRequest:
    # a field left out takes its default; one given, even as null, must be valid
    values: dict[str, object] = {}
    for name in ("x_min", "x_max", "y_min", "y_max"):
        if name in fields:
            values[name] = _bound(fields[name], name, from_query, max_abs)
    for name in ("nx", "ny"):
        if name in fields:
            values[name] = _grid_size(fields[name], name, from_query, max_side)
    if "format" in fields:
        fmt = fields["format"]
        if fmt not in FORMATS:
            raise bad_request(
                "invalid_parameter",
                f"format must be one of {', '.join(FORMATS)}, got {_shown(fmt)}",
            )
        values["format"] = fmt
    if "values" in fields:
        kind = fields["values"]
        if kind not in VALUES:
            raise bad_request(
                "invalid_parameter",
                f"values must be one of {', '.join(VALUES)}, got {_shown(kind)}",
            )
        values["values"] = kind
    request = GridRequest(**values)
    if request.values == "probabilities" and request.format == "png":
        raise bad_request(
            "invalid_parameter",
            "values=probabilities comes as format=json or format=npy; "
            "format=png draws the labels only",
        )
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
        if not _QUERY_NUMBER.fullmatch(value):
            raise bad_request(
                "invalid_parameter",
                f"{name} must be a number (finite, like 1.5 or -2e3), "
                f"got {_shown(value)}",
            )
        value = float(value)
    return check_number(value, name, max_abs, "invalid_parameter")


def _grid_size(value: object, name: str, from_query: bool, max_side: int) -> int:
    problem = f"{name} must be an integer from 1 to {max_side}, got {_shown(value)}"
    if from_query:
        # plain ASCII digits: int() would also take "5_0", " 5" or other scripts' digits
        if not (value.isascii() and value.isdigit()):
            raise bad_request("invalid_parameter", problem)
        try:
            value = int(value)
        except ValueError:  # over Python's 4300-digit conversion limit: far too big
            raise ApiError(413, "too_many_cells", problem) from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON Schema counts 10.0 as an integer; so do we
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise bad_request("invalid_parameter", problem)
    if value > max_side:
        raise ApiError(413, "too_many_cells", problem)
    return value


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= 40 else text[:37] + "..."
