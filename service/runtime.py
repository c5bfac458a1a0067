"""A verified model made ready to answer: predictions and grid labels from arrays.

Flask-free: views hand it validated arrays and get arrays back. Labels everywhere are
the argmax of the logits (softmax is monotonic, so this is the most probable class and
the grid never needs the exponentials).
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trainer.activations import ACTIVATIONS
from trainer.network import logits, softmax

# rows per chunk when classifying a grid: big enough for numpy to amortise its call
# overhead, small enough that the hidden activations stay in cache
_GRID_CHUNK = 32_768


@dataclass(frozen=True)
class ServedModel:
    """One verified version: the registry's LoadedModel plus serving's lookups."""

    loaded: Any  # trainer.registry.LoadedModel
    label_values: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        classes = list(self.loaded.classes)
        numeric = all(isinstance(c, int) and not isinstance(c, bool) for c in classes)
        # an int64 lookup array lets orjson write labels straight from numpy
        values = np.array(classes, dtype=np.int64 if numeric else object)
        object.__setattr__(self, "label_values", values)

    @property
    def name(self) -> str:
        return self.loaded.name

    @property
    def version(self) -> int:
        return self.loaded.version

    @property
    def manifest(self) -> dict:
        return self.loaded.manifest

    @property
    def classes(self) -> list:
        return list(self.loaded.classes)

    @property
    def n_features(self) -> int:
        return self.loaded.n_features

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
        Z = logits(X, self.loaded.coefs, self.loaded.intercepts, self.loaded.activation)
        indices = Z.argmax(axis=1)
        return indices, softmax(Z)

    def labels(self, indices: np.ndarray) -> np.ndarray | list:
        """Class values of class indices: an int64 array, or (nested) lists of str."""
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
        activation = self.loaded.activation
        n_classes = len(self.loaded.classes)
        out = np.empty(
            (len(ys), len(xs)), dtype=np.uint8 if n_classes <= 256 else np.uint16
        )
        # first layer on a grid is separable: (x * W[0] + y * W[1]) + b, so the
        # x-part is computed once per grid and each row only adds a vector; the sums
        # keep the order of X @ W + b so labels match /predict on the same points
        W, b = coefs[0], intercepts[0]
        x_part = np.multiply.outer(xs, W[0])  # (nx, fan_out)
        rows = max(1, _GRID_CHUNK // max(1, len(xs)))
        for start in range(0, len(ys), rows):
            y_part = np.multiply.outer(ys[start : start + rows], W[1])  # (r, fan_out)
            Z = (x_part[None, :, :] + y_part[:, None, :]).reshape(-1, W.shape[1])
            Z += b
            if len(coefs) > 1:
                ACTIVATIONS[activation][0](Z)
                Z = logits(Z, coefs[1:], intercepts[1:], activation)
            out[start : start + rows] = Z.argmax(axis=1).reshape(-1, len(xs))
        return out
