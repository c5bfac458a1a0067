"""Reference predictions: probe points a version is published with, and their check.

A checksum proves the bytes are the bytes; it cannot prove that this machine's numpy,
BLAS and CPU still compute from them what the trainer computed. So every schema-2
manifest carries probabilities for fixed probe points (a grid over the data extent plus
a sample of training points), and loading recomputes them. numpy and stdlib only.
"""

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from trainer.errors import VerificationError

Array = np.ndarray

MIN_PROBES = 64
# training points added to the grid: where the model is actually used
SAMPLE_PROBES = 16
# a full grid is used while it stays this small; beyond (many features) the probes
# are seeded uniform draws over the extent instead
MAX_GRID_PROBES = 256
DEFAULT_TOLERANCE = 1e-9
TOLERANCE_VARIABLE = "SCRATCHNET_REFERENCE_TOLERANCE"


class ReferenceMismatchError(VerificationError):
    """A version's weights no longer reproduce the probabilities it was published with
    (a drifted numeric environment, or weights and checksums replaced together)."""


def probe_points(
    feature_min: Sequence[float],
    feature_max: Sequence[float],
    sample: Array | None = None,
) -> Array:
    """Probe points (n_probes, n_features): a grid over the extent, then the sample.

    The grid has k points per axis, k the smallest with k**n_features >= MIN_PROBES;
    past MAX_GRID_PROBES it is MIN_PROBES seeded uniform points in the box. `sample`
    (n, n_features) adds up to SAMPLE_PROBES training points, evenly spaced in order.
    """
    low = np.asarray(feature_min, dtype=np.float64)
    high = np.asarray(feature_max, dtype=np.float64)
    n_features = len(low)
    per_axis = max(2, math.ceil(MIN_PROBES ** (1 / n_features) - 1e-9))
    if per_axis**n_features <= MAX_GRID_PROBES:
        axes = [np.linspace(lo, hi, per_axis) for lo, hi in zip(low, high, strict=True)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
        points = grid.reshape(-1, n_features)
    else:
        rng = np.random.RandomState(0)
        points = low + rng.uniform(size=(MIN_PROBES, n_features)) * (high - low)
    if sample is not None and len(sample):
        sample = np.asarray(sample, dtype=np.float64)
        take = np.linspace(0, len(sample) - 1, min(SAMPLE_PROBES, len(sample)))
        points = np.vstack([points, sample[np.unique(take.astype(np.intp))]])
    return np.ascontiguousarray(points)


def reference_section(points: Array, P: Array) -> dict[str, list[list[float]]]:
    """The manifest's `reference`: points (n, n_features) and P (n, n_classes) as JSON.

    Python floats round-trip through JSON exactly, so a check on load compares the
    very numbers the trainer computed.
    """
    return {"points": points.tolist(), "probabilities": P.tolist()}


def validate_reference(
    reference: Any, n_features: int, n_classes: int, fail: Callable[[str, str], Any]
) -> None:
    """Call `fail(field, message)` unless `reference` has the documented shape."""
    if not isinstance(reference, dict) or set(reference) != {"points", "probabilities"}:
        fail("reference", "must be an object of points and probabilities")
    points = _matrix(reference["points"], n_features)
    if points is None or len(points) < MIN_PROBES:
        fail(
            "reference.points",
            f"must be at least {MIN_PROBES} rows of {n_features} finite numbers",
        )
    P = _matrix(reference["probabilities"], n_classes)
    if P is None or len(P) != len(points) or not ((P >= 0) & (P <= 1)).all():
        fail(
            "reference.probabilities",
            f"must be one row of {n_classes} probabilities per point",
        )


def check_reference(
    manifest: Mapping[str, Any],
    predict_proba: Callable[[Array], Array],
    tolerance: float,
) -> float | None:
    """Recompute the reference; raise ReferenceMismatchError past `tolerance`.

    Returns the largest absolute difference, or None for a manifest without a
    reference (schema 1). `manifest` has been validated (shapes are right).
    """
    reference = manifest.get("reference")
    if reference is None:
        return None
    points = np.asarray(reference["points"], dtype=np.float64)
    expected = np.asarray(reference["probabilities"], dtype=np.float64)
    actual = predict_proba(points)
    difference = float(np.max(np.abs(actual - expected)))
    # `not <=` rather than `>`: a NaN from the weights must fail too
    if not difference <= tolerance:
        worst = int(np.argmax(np.abs(actual - expected).max(axis=1)))
        raise ReferenceMismatchError(
            f"the weights do not reproduce the reference predictions: probe point "
            f"{worst} differs by {difference:.3g}, over the tolerance {tolerance:g} "
            f"({TOLERANCE_VARIABLE}); a changed numeric environment or altered "
            "weights"
        )
    return difference


def parse_tolerance(raw: str | float, where: str = TOLERANCE_VARIABLE) -> float:
    """A tolerance from text or a number: finite and non-negative, else ValueError."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where} must be a finite non-negative number, got {raw!r}"
        ) from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{where} must be a finite non-negative number, got {raw!r}")
    return value


def tolerance_from_env(environ: Mapping[str, str] | None = None) -> float:
    """$SCRATCHNET_REFERENCE_TOLERANCE, else DEFAULT_TOLERANCE; ValueError if bad."""
    env = os.environ if environ is None else environ
    raw = env.get(TOLERANCE_VARIABLE, "").strip()
    return parse_tolerance(raw) if raw else DEFAULT_TOLERANCE


def _matrix(rows: Any, width: int) -> Array | None:
    """rows as an (n, width) finite float array, or None if they are not that."""
    if not isinstance(rows, list) or not all(
        isinstance(row, list)
        and len(row) == width
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in row)
        for row in rows
    ):
        return None
    array = np.asarray(rows, dtype=np.float64).reshape(len(rows), width)
    return array if np.isfinite(array).all() else None
