"""Update rules on the flat parameter vector, and the learning-rate schedule."""

import numpy as np
import pytest

from trainer.nn.optimizers import (
    Adam,
    GradientDescent,
    Momentum,
    decayed_learning_rate,
    make_optimizer,
)


def test_gradient_descent_is_the_tutorials_update_bit_for_bit():
    rng = np.random.RandomState(0)
    W, dW = rng.randn(6), rng.randn(6)
    expected = W.copy()
    expected += -0.01 * dW  # the tutorial's line, W += -epsilon * dW

    theta = W.copy()
    GradientDescent().step(theta, dW.copy(), learning_rate=0.01, grad_scale=1.0)

    assert theta.tobytes() == expected.tobytes()


def test_gradient_descent_on_the_mean_gradient_scales_the_step():
    theta = np.array([1.0, -2.0])
    grad = np.array([4.0, 8.0])
    GradientDescent().step(theta, grad, learning_rate=0.5, grad_scale=0.25)
    assert theta == pytest.approx([1.0 - 0.5, -2.0 - 1.0])


def test_momentum_accumulates_velocity():
    theta = np.zeros(2)
    optimizer = Momentum(2, momentum=0.9)
    optimizer.step(theta, np.array([1.0, -1.0]), learning_rate=0.1, grad_scale=1.0)
    # v1 = -0.1 * g1 = [-0.1, 0.1]
    assert theta == pytest.approx([-0.1, 0.1])
    optimizer.step(theta, np.array([1.0, 0.0]), learning_rate=0.1, grad_scale=1.0)
    # v2 = 0.9 * v1 - 0.1 * g2 = [-0.19, 0.09]
    assert theta == pytest.approx([-0.29, 0.19])


def test_adam_first_step_moves_each_coordinate_by_the_learning_rate():
    # bias correction makes the first step lr * g / |g|, whatever the gradient's scale
    theta = np.zeros(3)
    grad = np.array([0.05, -5.0, 200.0])
    Adam(3).step(theta, grad, learning_rate=0.01, grad_scale=1.0)
    assert theta == pytest.approx([-0.01, 0.01, -0.01], rel=1e-4)


@pytest.mark.parametrize("name", ["gd", "sgd", "momentum", "adam"])
def test_every_optimizer_minimises_a_quadratic(name):
    # f(theta) = 1/2 sum(scale * theta^2), an ill-conditioned bowl with minimum at 0
    scale = np.array([1.0, 10.0])
    theta = np.array([3.0, -2.0])
    optimizer = make_optimizer(name, 2, momentum=0.5)
    for _ in range(500):
        optimizer.step(theta, scale * theta, learning_rate=0.05, grad_scale=1.0)
    assert np.abs(theta).max() < 1e-3


def test_unknown_optimizer_is_refused_by_name():
    with pytest.raises(ValueError, match="optimizer must be one of gd, sgd"):
        make_optimizer("lbfgs", 2, momentum=0.9)


def test_learning_rate_decay_is_inverse_time():
    assert decayed_learning_rate(0.1, 0.0, 50) == 0.1
    assert decayed_learning_rate(0.1, 0.5, 0) == 0.1
    assert decayed_learning_rate(0.1, 0.5, 2) == pytest.approx(0.05)
