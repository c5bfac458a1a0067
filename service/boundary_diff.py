"""`/boundary/diff`: where two versions of a model decide differently, on one grid.

Apart from /boundary (service.boundary) because it resolves two versions, checks they
can be compared (features, classes) and renders a changed-cell mask rather than labels;
the grid fields, their limits and their words of rejection are /boundary's own.
"""

import io

import numpy as np
import orjson

from service import metrics
from service.boundary import MEDIA_TYPES, require_ordered_bounds
from service.errors import ApiError, bad_request
from service.grid_fields import GridRequest
from service.handlers import MODEL_KEY, VERSION_KEY, Context, Reply, grid_fields_of
from service.png import PALETTE, encode_indexed
from service.runtime import ServedModel
from service.validation import parse_version
from trainer.registry.boundary_change import (
    Bounds,
    IncomparableError,
    check_comparable,
    union_bounds,
)

DIFF_CHOICE = ("model", "a", "b")
# the PNG: each cell in its class colour under version b; a changed cell in red;
# version a's boundary in black and b's in white, one pixel wide, over both
CHANGED, A_EDGE, B_EDGE = (220, 20, 60), (0, 0, 0), (255, 255, 255)


def boundary_diff(environ: dict, context: Context) -> Reply:
    settings = context.settings
    fields, grid_request = grid_fields_of(
        environ, settings, DIFF_CHOICE, "/boundary/diff"
    )
    for side in ("a", "b"):
        if not fields.get(side):
            raise bad_request(
                "missing_parameter",
                f"query parameter {side!r} is required: the two versions to compare, "
                "as numbers or aliases (?a=1&b=production)",
            )
    store = context.store
    a = store.get(fields.get("model"), parse_version(fields["a"]))
    b = store.get(fields.get("model"), parse_version(fields["b"]))
    environ[MODEL_KEY], environ[VERSION_KEY] = a.name, f"{a.version}..{b.version}"
    try:
        check_comparable(a.loaded, b.loaded)
    except IncomparableError as exc:
        raise bad_request("incomparable_versions", str(exc)) from None
    bounds = _bounds(grid_request, a, b)
    fmt = grid_request.format
    _check_size(grid_request, fmt, settings.max_response_bytes)
    xs, ys = bounds.axes(grid_request.nx, grid_request.ny)
    labels_a = a.classify_grid(xs, ys)
    labels_b = _in_order_of(a, b, b.classify_grid(xs, ys))
    changed = (labels_a != labels_b).astype(np.uint8)
    metrics.count_cells(a.name, a.version, changed.size)
    metrics.count_cells(b.name, b.version, changed.size)
    headers = (
        ("X-Model", a.name),
        ("X-Model-Version-A", a.version_text),
        ("X-Model-Version-B", b.version_text),
    )
    if fmt == "json":
        body = orjson.dumps(
            {
                "model": a.name,
                "a": a.version,
                "b": b.version,
                "x": xs,
                "y": ys,
                "changed_fraction": float(changed.mean()),
                "changed": changed,
            },
            option=orjson.OPT_SERIALIZE_NUMPY,
        )
        return Reply(200, MEDIA_TYPES[fmt], body, headers)
    if fmt == "npy":
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, changed, allow_pickle=False)
        body = buffer.getvalue()
    else:
        body = _png(labels_a, labels_b, changed, len(a.classes))
    filename = f"boundary-diff-{a.name}-{a.version}-{b.version}.{fmt}"
    headers += (("Content-Disposition", f'inline; filename="{filename}"'),)
    return Reply(200, MEDIA_TYPES[fmt], body, headers)


def _bounds(request: GridRequest, a: ServedModel, b: ServedModel) -> Bounds:
    """Bounds the client left out from the union of both data extents plus 0.5."""
    default = union_bounds(a.manifest, b.manifest)
    given = (request.x_min, request.x_max, request.y_min, request.y_max)
    x_min, x_max, y_min, y_max = (
        fallback if bound is None else bound
        for bound, fallback in zip(
            given,
            (default.x_min, default.x_max, default.y_min, default.y_max),
            strict=True,
        )
    )
    require_ordered_bounds(x_min, x_max, y_min, y_max)
    return Bounds(x_min, x_max, y_min, y_max)


def _in_order_of(a: ServedModel, b: ServedModel, indices: np.ndarray) -> np.ndarray:
    """b's class indices as indices into a's classes (the same set, maybe reordered)."""
    if a.classes == b.classes:
        return indices
    position = {label: i for i, label in enumerate(a.classes)}
    return np.array([position[c] for c in b.classes], dtype=indices.dtype)[indices]


def _check_size(request: GridRequest, fmt: str, limit: int) -> None:
    cells = request.nx * request.ny
    # JSON: a digit and a comma a cell, brackets a row, ~25 bytes an axis value
    size = (
        cells + 128
        if fmt != "json"
        else 2 * cells + 2 * request.ny + 25 * (request.nx + request.ny) + 1024
    )
    if size > limit:
        raise ApiError(
            413,
            "response_too_large",
            f"a {request.nx}x{request.ny} diff in {fmt} would be about {size} bytes; "
            f"the limit is {limit} (SCRATCHNET_MAX_RESPONSE_MB): ask for fewer "
            "cells, or format=npy or png",
        )


def _png(
    labels_a: np.ndarray, labels_b: np.ndarray, changed: np.ndarray, n_classes: int
) -> bytes:
    """Both boundaries on one image: b's regions, changed cells and both edges."""
    n_colors = min(n_classes, 253)
    palette = [PALETTE[i % len(PALETTE)] for i in range(n_colors)]
    palette += [CHANGED, A_EDGE, B_EDGE]
    image = (labels_b % n_colors).astype(np.uint8)
    image[changed == 1] = n_colors
    image[_edges(labels_b)] = n_colors + 2
    image[_edges(labels_a)] = n_colors + 1
    # image row 0 is the top, where y is largest
    return encode_indexed(image[::-1], len(palette), palette)


def _edges(labels: np.ndarray) -> np.ndarray:
    """Cells whose label differs from the next cell right or up: the boundary."""
    edge = np.zeros(labels.shape, dtype=bool)
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[:-1, :] |= labels[:-1, :] != labels[1:, :]
    return edge
