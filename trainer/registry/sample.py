"""`data_sample.json`: the points a version learned from, for drawing over its boundary.

Apart from the manifest because it is data, not metadata: up to MAX_SAMPLE_POINTS
training and validation points with their labels and split, listed in the manifest's
`files` with its sha256 like the weights, so an edited sample fails verification.
Optional: versions published before it existed have none.
"""

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from trainer.errors import VerificationError

SAMPLE_FILE = "data_sample.json"
MAX_SAMPLE_POINTS = 2000
MAX_SAMPLE_BYTES = 4 * 1024 * 1024
SPLITS = ("train", "validation")


def build_sample(
    X_train: np.ndarray,
    y_train: Sequence[Any],
    X_validation: np.ndarray,
    y_validation: Sequence[Any],
    seed: int = 0,
    max_points: int = MAX_SAMPLE_POINTS,
) -> dict[str, Any]:
    """At most `max_points` points, each split keeping its share of the whole.

    X_train (n_train, n_features), X_validation (n_validation, n_features); labels
    as JSON scalars. A seeded choice without replacement, kept in the data's order,
    so the same run gives the same bytes.
    """
    n_train, n_val = len(X_train), len(X_validation)
    total = n_train + n_val
    keep_train = n_train if total <= max_points else round(max_points * n_train / total)
    keep_val = min(n_val, max_points - keep_train)
    rng = np.random.default_rng(seed)
    points: list[list[float]] = []
    labels: list[Any] = []
    split: list[str] = []
    for name, X, y, keep in (
        ("train", X_train, y_train, keep_train),
        ("validation", X_validation, y_validation, keep_val),
    ):
        chosen = np.sort(rng.choice(len(X), size=keep, replace=False))
        points += np.asarray(X, dtype=np.float64)[chosen].tolist()
        labels += [_json_scalar(y[i]) for i in chosen]
        split += [name] * keep
    return {
        "n_train": n_train,
        "n_validation": n_val,
        "points": points,
        "labels": labels,
        "split": split,
    }


def sample_bytes(sample: Mapping[str, Any]) -> bytes:
    """Compact JSON (the file is served as it is read): no NaN allowed."""
    return json.dumps(sample, separators=(",", ":"), allow_nan=False).encode()


def parse_sample(data: bytes, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Parse and check a sample against its (verified) manifest; VerificationError."""
    try:
        sample = json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise VerificationError(f"{SAMPLE_FILE}: not valid JSON: {exc}") from exc
    if not isinstance(sample, dict):
        raise VerificationError(f"{SAMPLE_FILE}: must be a JSON object")
    arch = manifest["architecture"]
    points, labels, split = (sample.get(key) for key in ("points", "labels", "split"))
    if not all(isinstance(v, list) for v in (points, labels, split)):
        _fail("points, labels and split must be lists")
    if not len(points) == len(labels) == len(split) <= MAX_SAMPLE_POINTS:
        _fail(f"points, labels and split must be equally long, <= {MAX_SAMPLE_POINTS}")
    n_features = arch["n_features"]
    for point in points:
        if not (
            isinstance(point, list)
            and len(point) == n_features
            and all(_is_finite(v) for v in point)
        ):
            _fail(f"every point must be {n_features} finite numbers")
    classes = set(map(json.dumps, arch["classes"]))
    if any(json.dumps(label) not in classes for label in labels):
        _fail("every label must be one of architecture.classes")
    if any(part not in SPLITS for part in split):
        _fail(f"split must name one of {list(SPLITS)} for every point")
    for key in ("n_train", "n_validation"):
        count = sample.get(key)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            _fail(f"{key} must be a count")
    return sample


def _json_scalar(label: Any) -> Any:
    value = label.item() if isinstance(label, np.generic) else label
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _is_finite(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _refuse_constant(constant: str) -> None:
    raise VerificationError(f"{SAMPLE_FILE}: {constant} is not allowed")


def _fail(message: str) -> None:
    raise VerificationError(f"{SAMPLE_FILE}: {message}")
