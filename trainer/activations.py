"""Hidden-layer activations, each paired with its derivative.

Derivatives are written from the forward *output* H (as the tutorial does for tanh:
tanh'(z) = 1 - tanh(z)**2), so backpropagation never needs the pre-activations.
"""

from collections.abc import Callable

import numpy as np

Array = np.ndarray


def tanh(Z: Array) -> Array:
    return np.tanh(Z, out=Z)


def tanh_derivative(H: Array) -> Array:
    return 1.0 - H * H


def sigmoid(Z: Array) -> Array:
    # 1 / (1 + exp(-z)) written via tanh: never overflows, for any finite z
    np.multiply(Z, 0.5, out=Z)
    np.tanh(Z, out=Z)
    Z += 1.0
    Z *= 0.5
    return Z


def sigmoid_derivative(H: Array) -> Array:
    return H * (1.0 - H)


def relu(Z: Array) -> Array:
    return np.maximum(Z, 0.0, out=Z)


def relu_derivative(H: Array) -> Array:
    return (H > 0.0).astype(H.dtype)


# name -> (in-place activation of pre-activations, derivative from the output)
ACTIVATIONS: dict[str, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "tanh": (tanh, tanh_derivative),
    "sigmoid": (sigmoid, sigmoid_derivative),
    "relu": (relu, relu_derivative),
}
