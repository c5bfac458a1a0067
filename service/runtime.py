"""A verified model made ready to answer: predictions and grid labels from arrays.

Flask-free: views hand it validated arrays and get arrays back. Labels everywhere are
the argmax of the logits (softmax is monotonic, so this is the most probable class and
the grid never needs the exponentials).
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from trainer.nn.activations import ACTIVATIONS

# rows per chunk when classifying a grid: big enough for numpy to amortise its call
# overhead, small enough that the hidden activations stay in cache
_GRID_CHUNK = 32_768


@dataclass(frozen=True)
class ServedModel:
    """One verified version: the registry's LoadedModel plus serving's lookups.

    Everything a reply repeats (name, version, classes, the X-Model headers) is
    worked out once here, at load time, not on every request.
    """

    loaded: Any  # trainer.registry.LoadedModel
    name: str = field(init=False)
    version: int = field(init=False)
    version_text: str = field(init=False, repr=False)  # for headers, logs, labels
    n_features: int = field(init=False)
    classes: tuple = field(init=False)
    # X-Model and X-Model-Version, as every reply that names this model sends them
    headers: tuple[tuple[str, str], ...] = field(init=False, repr=False)
    # None when the classes are 0..n-1 (the common case): a label is its index
    label_values: np.ndarray | None = field(init=False, repr=False)
    # bytes of the longest class label in JSON: what a /boundary cell costs to spell
    widest_label_bytes: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        loaded = self.loaded
        classes = tuple(loaded.classes)
        numeric = all(isinstance(c, int) and not isinstance(c, bool) for c in classes)
        if classes == tuple(range(len(classes))):
            values = None
        else:
            # an int64 lookup array lets orjson write labels straight from numpy
            values = np.array(classes, dtype=np.int64 if numeric else object)
        for key, value in (
            ("name", loaded.name),
            ("version", loaded.version),
            ("version_text", str(loaded.version)),
            ("n_features", loaded.n_features),
            ("classes", classes),
            (
                "headers",
                (("X-Model", loaded.name), ("X-Model-Version", str(loaded.version))),
            ),
            ("label_values", values),
            ("widest_label_bytes", max(len(orjson.dumps(c)) for c in classes)),
        ):
            object.__setattr__(self, key, value)

    @property
    def manifest(self) -> dict:
        return self.loaded.manifest

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class indices and probabilities.

        Parameters
        ----------
        X : (n_samples, n_features) float64, finite

        Returns
        -------
        indices : (n_samples,) int64, into `classes`
        P : (n_samples, n_classes), rows sum to 1
        """
        # the registry's pass, so `python -m trainer predict` answers the same
        return self.loaded.predict(X)

    def labels(self, indices: np.ndarray) -> np.ndarray | list:
        """Class values of class indices: an integer array, or (nested) lists of str."""
        if self.label_values is None:
            return indices
        values = self.label_values[indices]
        return values if values.dtype != object else values.tolist()

    def classify_grid(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Class index of every grid cell, for a two-feature model.

        Parameters
        ----------
        xs : (nx,) first-feature coordinates
        ys : (ny,) second-feature coordinates

        Returns
        -------
        indices : (ny, nx) uint8 (uint16 past 256 classes); row j is y = ys[j]
        """
        coefs, intercepts = self.loaded.coefs, self.loaded.intercepts
        activate = ACTIVATIONS[self.loaded.activation][0] if len(coefs) > 1 else None
        n_classes = len(self.classes)
        out = np.empty(
            (len(ys), len(xs)), dtype=np.uint8 if n_classes <= 256 else np.uint16
        )
        W, b = coefs[0], intercepts[0]
        rows = max(1, _GRID_CHUNK // max(1, len(xs)))
        for start in range(0, len(ys), rows):
            y_chunk = ys[start : start + rows]
            # unit-major layout, (fan_out, cells): every operation below runs over
            # long contiguous rows instead of rows of 2 or 3 values. The first layer
            # is separable on a grid, (x * W[0] + y * W[1]) + b, summed in the order
            # of X @ W + b so labels match /predict on the same points.
            H = np.empty((W.shape[1], len(y_chunk), len(xs)))
            for unit in range(W.shape[1]):
                np.add.outer(y_chunk * W[1, unit], xs * W[0, unit], out=H[unit])
                H[unit] += b[unit]
            H = H.reshape(W.shape[1], -1)
            for W_next, b_next in zip(coefs[1:], intercepts[1:], strict=True):
                activate(H)
                H = W_next.T @ H
                H += b_next[:, None]
            out[start : start + rows] = first_max_rows(H).reshape(len(y_chunk), -1)
        return out

    def grid_probabilities(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Class probabilities of every grid cell, for a two-feature model.

        The cells go through the same pass as /predict (not the separable one of
        `classify_grid`), so a cell's probabilities are exactly what /predict gives
        for its point.

        Parameters
        ----------
        xs : (nx,) first-feature coordinates
        ys : (ny,) second-feature coordinates

        Returns
        -------
        P : (ny, nx, n_classes) float64; P[j, i] is the point (xs[i], ys[j])
        """
        P = np.empty((len(ys), len(xs), len(self.classes)))
        rows = max(1, _GRID_CHUNK // max(1, len(xs)))
        for start in range(0, len(ys), rows):
            y_chunk = ys[start : start + rows]
            X = np.empty((len(y_chunk), len(xs), 2))
            X[..., 0] = xs
            X[..., 1] = y_chunk[:, None]
            _, P_chunk = self.predict(X.reshape(-1, 2))
            P[start : start + rows] = P_chunk.reshape(len(y_chunk), len(xs), -1)
        return P


def first_max_rows(Z: np.ndarray) -> np.ndarray:
    """Index of the largest row of Z (n_classes, n_cells) per column, first on ties.

    What Z.T.argmax(axis=1) gives, without its slow path over short rows.
    """
    best = Z[0].copy()
    indices = np.zeros(Z.shape[1], dtype=np.intp)
    for k in range(1, Z.shape[0]):
        better = Z[k] > best
        indices[better] = k
        np.maximum(best, Z[k], out=best)
    return indices
