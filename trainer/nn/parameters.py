"""All weights and biases of a network in one flat vector, with per-layer views.

One vector lets every optimiser update the whole network in a handful of numpy calls,
and storing each layer as an augmented matrix [W^T | b] lets one matrix product apply
weights and bias (the activations carry a row of ones). Initialisers live here too.
"""

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

Array = np.ndarray


class Parameters:
    """Flat parameter vector `theta` and per-layer views into it.

    `layers[i]` has shape (fan_out, fan_in + 1): columns `[:fan_in]` are W^T (W being
    the usual (fan_in, fan_out) weights), the last column is the bias b. Transposed
    because training keeps activations as (units, samples); see `trainer.nn.backprop`.
    Writing to `theta` writes through to every view.
    """

    def __init__(self, layer_sizes: Sequence[int]) -> None:
        self.layer_sizes = tuple(int(s) for s in layer_sizes)
        self._shapes = [
            (fan_out, fan_in + 1) for fan_in, fan_out in pairwise(self.layer_sizes)
        ]
        self.theta = np.zeros(sum(rows * cols for rows, cols in self._shapes))
        self.layers = self.views_of(self.theta)
        # 1 for weights, 0 for biases: L2 penalises weights only
        self.weight_mask = np.zeros_like(self.theta)
        for mask in self.views_of(self.weight_mask):
            mask[:, :-1] = 1.0

    def views_of(self, flat: Array) -> list[Array]:
        """Per-layer views like `layers`, into `flat`, a vector shaped like `theta`."""
        views, start = [], 0
        for rows, cols in self._shapes:
            views.append(flat[start : start + rows * cols].reshape(rows, cols))
            start += rows * cols
        return views

    @property
    def coefs(self) -> list[Array]:
        """Copies of the weight matrices, each (fan_in, fan_out)."""
        return [layer[:, :-1].T.copy() for layer in self.layers]

    @property
    def intercepts(self) -> list[Array]:
        """Copies of the bias vectors, each (fan_out,)."""
        return [layer[:, -1].copy() for layer in self.layers]


def initialize(
    layer_sizes: Sequence[int], init: str, activation: str, rng: np.random.RandomState
) -> Parameters:
    """Draw initial weights; biases start at zero.

    `legacy` is the tutorial's `randn(fan_in, fan_out) / sqrt(fan_in)`, drawn layer by
    layer in order from `rng`, so `RandomState(0)` gives its exact starting point.
    `glorot` is scikit-learn's uniform Glorot init (gain 2 instead of 6 for sigmoid).
    """
    params = Parameters(layer_sizes)
    for layer in params.layers:
        fan_out, fan_in = layer.shape[0], layer.shape[1] - 1
        if init == "legacy":
            W = rng.randn(fan_in, fan_out) / np.sqrt(fan_in)
        elif init == "glorot":
            factor = 2.0 if activation == "sigmoid" else 6.0
            bound = np.sqrt(factor / (fan_in + fan_out))
            W = rng.uniform(-bound, bound, (fan_in, fan_out))
        else:
            raise ValueError(f"init must be 'glorot' or 'legacy', got {init!r}")
        layer[:, :-1] = W.T
    return params
