"""How much a version changes the decisions of another: the share of grid cells whose
label differs, over a grid of their two features.

Accuracy on a held-out set can stay put while the boundary moves where no validation
point lies; this measures the move itself. Shared by `trainer diff`, the promotion gate
(`--max-boundary-change`) and the service's `/boundary/diff`. numpy only.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainer.nn import network

Array = np.ndarray

# the design's /boundary default: the training data's extent plus this margin
MARGIN = 0.5
DEFAULT_CELLS = 200
# rows of the grid classified at once: bounded memory for the hidden activations
_CHUNK_POINTS = 32_768


class IncomparableError(ValueError):
    """Two versions whose decisions cannot be compared cell by cell."""


@dataclass(frozen=True)
class Bounds:
    x_min: float
    x_max: float
    y_min: float
    y_max: float

    def axes(self, nx: int, ny: int) -> tuple[Array, Array]:
        """xs (nx,) and ys (ny,), each from min to max inclusive (as /boundary)."""
        return (
            np.linspace(self.x_min, self.x_max, nx),
            np.linspace(self.y_min, self.y_max, ny),
        )


def check_comparable(a: Any, b: Any) -> None:
    """IncomparableError unless `a` and `b` (LoadedModel-like: name, version,
    n_features, classes) take the same two features and have the same classes."""
    what = f"{a.name} v{a.version} and v{b.version}"
    if a.n_features != b.n_features:
        raise IncomparableError(
            f"{what} take different features ({a.n_features} and {b.n_features}); "
            "a boundary diff compares models of the same inputs"
        )
    if a.n_features != 2:
        raise IncomparableError(
            f"a decision boundary is drawn over two features; {what} take "
            f"{a.n_features}"
        )
    if set(a.classes) != set(b.classes) or len(a.classes) != len(b.classes):
        raise IncomparableError(
            f"{what} have different classes ({list(a.classes)} and "
            f"{list(b.classes)}); their labels cannot be compared"
        )


def union_bounds(*manifests: Mapping[str, Any]) -> Bounds:
    """The union of the manifests' data extents, plus MARGIN on every side."""
    lows = np.array([m["data"]["feature_min"] for m in manifests], dtype=np.float64)
    highs = np.array([m["data"]["feature_max"] for m in manifests], dtype=np.float64)
    low, high = lows.min(axis=0), highs.max(axis=0)
    return Bounds(
        float(low[0]) - MARGIN,
        float(high[0]) + MARGIN,
        float(low[1]) - MARGIN,
        float(high[1]) + MARGIN,
    )


def grid_labels(model: Any, xs: Array, ys: Array) -> Array:
    """Class values (ny, nx) of `model` (LoadedModel-like) on the grid xs x ys."""
    classes = np.array(list(model.classes), dtype=object)
    out = np.empty((len(ys), len(xs)), dtype=np.intp)
    rows = max(1, _CHUNK_POINTS // max(1, len(xs)))
    for start in range(0, len(ys), rows):
        xx, yy = np.meshgrid(xs, ys[start : start + rows])
        X = np.column_stack([xx.ravel(), yy.ravel()])
        Z = network.logits(X, model.coefs, model.intercepts, model.activation)
        out[start : start + rows] = Z.argmax(axis=1).reshape(xx.shape)
    return classes[out]


def changed_cells(labels_a: Array, labels_b: Array) -> Array:
    """uint8 (ny, nx): 1 where the two grids of class values disagree."""
    return (labels_a != labels_b).astype(np.uint8)


def boundary_change(
    a: Any,
    b: Any,
    bounds: Bounds | None = None,
    nx: int = DEFAULT_CELLS,
    ny: int = DEFAULT_CELLS,
) -> tuple[Bounds, Array]:
    """The grid and its changed-cell mask (ny, nx) between versions `a` and `b`.

    `bounds` default to the union of both data extents plus MARGIN.
    """
    check_comparable(a, b)
    bounds = bounds or union_bounds(a.manifest, b.manifest)
    xs, ys = bounds.axes(nx, ny)
    return bounds, changed_cells(grid_labels(a, xs, ys), grid_labels(b, xs, ys))


def changed_fraction(mask: Array) -> float:
    """The share of cells that changed, from 0 to 1."""
    return float(mask.mean()) if mask.size else 0.0


def summary(a: Any, b: Any, bounds: Bounds, mask: Array) -> dict[str, Any]:
    """The diff as JSON-able numbers (the CLI's --json, the gate's record)."""
    return {
        "model": a.name,
        "a": a.version,
        "b": b.version,
        "bounds": [bounds.x_min, bounds.x_max, bounds.y_min, bounds.y_max],
        "nx": int(mask.shape[1]),
        "ny": int(mask.shape[0]),
        "changed_cells": int(mask.sum()),
        "changed_fraction": changed_fraction(mask),
    }
