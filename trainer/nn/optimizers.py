"""Update rules that move the flat parameter vector along a gradient.

Each works in place on `Parameters.theta` with a handful of whole-vector numpy calls,
whatever the depth of the network. They receive the gradient of the *summed* loss and
a `grad_scale` (1 for the tutorial's summed gradient, 1 / batch size for the mean), so
the tutorial's update `W += -epsilon * dW` is reproduced bit for bit.
"""

import math
from typing import Protocol

import numpy as np

Array = np.ndarray


class Optimizer(Protocol):
    def step(
        self, theta: Array, grad: Array, learning_rate: float, grad_scale: float
    ) -> None:
        """Update theta in place; may overwrite grad."""


class GradientDescent:
    """theta -= learning_rate * gradient: the tutorial's rule, on any batch size."""

    def step(
        self, theta: Array, grad: Array, learning_rate: float, grad_scale: float
    ) -> None:
        grad *= -(learning_rate * grad_scale)
        theta += grad


class Momentum:
    """Classical (heavy-ball) momentum: v = momentum * v - lr * g; theta += v."""

    def __init__(self, n_params: int, momentum: float) -> None:
        self.momentum = momentum
        self.velocity = np.zeros(n_params)

    def step(
        self, theta: Array, grad: Array, learning_rate: float, grad_scale: float
    ) -> None:
        self.velocity *= self.momentum
        grad *= -(learning_rate * grad_scale)
        self.velocity += grad
        theta += self.velocity


class Adam:
    """Adam (Kingma & Ba, 2015) with scikit-learn's defaults and bias correction."""

    def __init__(
        self,
        n_params: int,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.first_moment = np.zeros(n_params)
        self.second_moment = np.zeros(n_params)
        self._scratch = np.zeros(n_params)

    def step(
        self, theta: Array, grad: Array, learning_rate: float, grad_scale: float
    ) -> None:
        # Adam is nearly scale-free, but epsilon is not: use the true (mean) gradient
        if grad_scale != 1.0:
            grad *= grad_scale
        self.t += 1
        m, v, scratch = self.first_moment, self.second_moment, self._scratch
        m *= self.beta_1
        np.multiply(grad, 1.0 - self.beta_1, out=scratch)
        m += scratch
        v *= self.beta_2
        np.multiply(grad, grad, out=scratch)
        scratch *= 1.0 - self.beta_2
        v += scratch
        # bias correction of both moments, folded into the step size
        step_size = (
            learning_rate
            * math.sqrt(1.0 - self.beta_2**self.t)
            / (1.0 - self.beta_1**self.t)
        )
        np.sqrt(v, out=scratch)
        scratch += self.epsilon
        np.divide(m, scratch, out=scratch)
        scratch *= -step_size
        theta += scratch


OPTIMIZERS = ("gd", "sgd", "momentum", "adam")


def make_optimizer(name: str, n_params: int, momentum: float) -> Optimizer:
    """The update rule for `name`; "gd" and "sgd" share one, and differ in batching."""
    if name in ("gd", "sgd"):
        return GradientDescent()
    if name == "momentum":
        return Momentum(n_params, momentum)
    if name == "adam":
        return Adam(n_params)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {name!r}")


def decayed_learning_rate(learning_rate: float, decay: float, epoch: int) -> float:
    """Inverse-time annealing, lr / (1 + decay * epoch), with `epoch` counted from 0."""
    return learning_rate / (1.0 + decay * epoch)
