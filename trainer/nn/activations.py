"""Hidden-layer activations, each paired with its derivative.

Derivatives are written from the forward *output* H (as the tutorial does for tanh:
tanh'(z) = 1 - tanh(z)**2), so backpropagation never needs the pre-activations.
Both work in place (`out=`) because the training loop is bound by numpy call overhead.
"""

from collections.abc import Callable

import numpy as np

Array = np.ndarray


def tanh(Z: Array, out: Array | None = None) -> Array:
    return np.tanh(Z, out=Z if out is None else out)


def tanh_derivative(H: Array, out: Array | None = None) -> Array:
    # 1 - H**2, in two calls and no temporary
    out = np.multiply(H, H, out=out)
    return np.subtract(1.0, out, out=out)


def sigmoid(Z: Array, out: Array | None = None) -> Array:
    # 1 / (1 + exp(-z)) written via tanh: never overflows, for any finite z
    out = np.multiply(Z, 0.5, out=Z if out is None else out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def sigmoid_derivative(H: Array, out: Array | None = None) -> Array:
    # H * (1 - H)
    out = np.subtract(1.0, H, out=out)
    out *= H
    return out


def relu(Z: Array, out: Array | None = None) -> Array:
    return np.maximum(Z, 0.0, out=Z if out is None else out)


def relu_derivative(H: Array, out: Array | None = None) -> Array:
    # the subgradient at 0 is taken as 0, like scikit-learn; bool -> float casts safely
    if out is None:
        return (H > 0.0).astype(H.dtype)
    return np.greater(H, 0.0, out=out)


# name -> (activation of pre-activations, in place unless `out`; derivative from output)
ACTIVATIONS: dict[str, tuple[Callable[..., Array], Callable[..., Array]]] = {
    "tanh": (tanh, tanh_derivative),
    "sigmoid": (sigmoid, sigmoid_derivative),
    "relu": (relu, relu_derivative),
}
