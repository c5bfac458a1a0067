"""Decision-boundary grids: where the grid lies, and its three encodings.

Apart from the views because the grid's defaults come from the model's manifest and the
encodings (JSON, .npy, PNG) are byte formats with their own rules.
"""

import io
from dataclasses import dataclass

import numpy as np
import orjson

from service.errors import ApiError, bad_request
from service.grid_fields import GridRequest
from service.png import encode_indexed
from service.runtime import ServedModel

# the design's default: the training data's extent plus this margin on every side
MARGIN = 0.5
MEDIA_TYPES = {
    "json": "application/json",
    "npy": "application/octet-stream",
    "png": "image/png",
}


# bytes of one probability in JSON at most: orjson's shortest repr of a float64
# ("0.12345678901234568", "1.2345678901234567e-05") and its comma
_JSON_PROBABILITY_BYTES = 24


@dataclass(frozen=True)
class Grid:
    x_min: float
    x_max: float
    y_min: float
    y_max: float
    nx: int
    ny: int

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """xs (nx,) and ys (ny,), each from min to max inclusive."""
        return (
            np.linspace(self.x_min, self.x_max, self.nx),
            np.linspace(self.y_min, self.y_max, self.ny),
        )


def resolve_grid(request: GridRequest, model: ServedModel) -> Grid:
    """Fill bounds the client left out from the model's training extent; check order."""
    if model.n_features != 2:
        raise bad_request(
            "not_two_features",
            f"a decision boundary is drawn over two features; model {model.name!r} "
            f"version {model.version} takes {model.n_features}",
        )
    given = (request.x_min, request.x_max, request.y_min, request.y_max)
    x_min, x_max, y_min, y_max = (
        default if bound is None else bound
        for bound, default in zip(given, default_bounds(model), strict=True)
    )
    require_ordered_bounds(x_min, x_max, y_min, y_max)
    return Grid(x_min, x_max, y_min, y_max, request.nx, request.ny)


def require_ordered_bounds(
    x_min: float, x_max: float, y_min: float, y_max: float
) -> None:
    """400 invalid_bounds unless each axis's minimum is below its maximum."""
    for axis, low, high in (("x", x_min, x_max), ("y", y_min, y_max)):
        if not low < high:
            raise bad_request(
                "invalid_bounds",
                f"{axis}_min must be less than {axis}_max, got {axis}_min={low:g} and "
                f"{axis}_max={high:g}",
            )


def default_bounds(model: ServedModel) -> tuple[float, float, float, float]:
    """The training data's extent plus MARGIN ([-1, 1] per axis without one)."""
    data = model.manifest.get("data") or {}
    low, high = data.get("feature_min"), data.get("feature_max")
    if not (
        isinstance(low, list) and isinstance(high, list) and len(low) == len(high) == 2
    ):
        low, high = [-MARGIN, -MARGIN], [MARGIN, MARGIN]
    return (
        float(low[0]) - MARGIN,
        float(high[0]) + MARGIN,
        float(low[1]) - MARGIN,
        float(high[1]) + MARGIN,
    )


def response_size(
    model: ServedModel, grid: Grid, fmt: str, values: str = "labels"
) -> int:
    """An upper bound on the bytes `render` will produce, known before any work.

    JSON spells one label a cell, so string classes ("Iris-versicolor") multiply it;
    npy is a byte a cell; PNG is at most a byte a cell plus its row filters.
    Probabilities are n_classes numbers a cell: float32 in npy, ~24 bytes in JSON.
    """
    cells = grid.nx * grid.ny
    if values == "probabilities":
        numbers = cells * len(model.classes)
        if fmt == "npy":
            return numbers * 4 + 128
        return (
            numbers * _JSON_PROBABILITY_BYTES
            + cells * 2
            + grid.ny * 2
            + (grid.nx + grid.ny) * 25
            + 1024
        )
    if fmt == "npy":
        return cells + 128
    if fmt == "png":
        return cells + grid.ny + 1024
    # a label and a comma a cell, a bracket pair a row, ~25 bytes an axis value
    return (
        cells * (model.widest_label_bytes + 1)
        + grid.ny * 2
        + (grid.nx + grid.ny) * 25
        + 1024
    )


def check_response_size(
    model: ServedModel, grid: Grid, fmt: str, limit: int, values: str = "labels"
) -> None:
    """413 before rendering a response over `limit` bytes (SCRATCHNET_MAX_RESPONSE_MB).

    The cell limit alone lets a long string label or a format with more bytes a cell
    build tens of MB per request, and a worker holds them in memory at once.
    """
    size = response_size(model, grid, fmt, values)
    if size > limit:
        raise ApiError(
            413,
            "response_too_large",
            f"a {grid.nx}x{grid.ny} grid of {values} in {fmt} would be about {size} "
            f"bytes; the limit is {limit} (SCRATCHNET_MAX_RESPONSE_MB): ask for "
            + (
                "fewer cells, or format=npy (4 bytes a class a cell)"
                if values == "probabilities"
                else "fewer cells, or format=npy or png, which take a byte a cell"
            ),
        )


def render(model: ServedModel, grid: Grid, fmt: str, values: str = "labels") -> bytes:
    """The grid's labels (or probabilities) as response bytes in `fmt`."""
    xs, ys = grid.axes()
    if values == "probabilities":
        return _render_probabilities(model, xs, ys, fmt)
    indices = model.classify_grid(xs, ys)  # (ny, nx)
    if fmt == "npy":
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, indices, allow_pickle=False)
        return buffer.getvalue()
    if fmt == "png":
        # image row 0 is the top, where y is largest
        return encode_indexed(indices[::-1], len(model.classes))
    return orjson.dumps(
        {
            "model": model.name,
            "version": model.version,
            "classes": model.classes,
            "x": xs,
            "y": ys,
            "labels": model.labels(indices),
        },
        option=orjson.OPT_SERIALIZE_NUMPY,
    )


def _render_probabilities(
    model: ServedModel, xs: np.ndarray, ys: np.ndarray, fmt: str
) -> bytes:
    """json: nested lists (ny, nx, n_classes) of float64; npy: float32, same shape."""
    P = model.grid_probabilities(xs, ys)
    if fmt == "npy":
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, P.astype("<f4"), allow_pickle=False)
        return buffer.getvalue()
    return orjson.dumps(
        {
            "model": model.name,
            "version": model.version,
            "classes": model.classes,
            "x": xs,
            "y": ys,
            "probabilities": P,
        },
        option=orjson.OPT_SERIALIZE_NUMPY,
    )
