"""Backpropagation against central differences of an independently written loss."""

import numpy as np
import pytest

from trainer.nn import network
from trainer.nn.backprop import Workspace
from trainer.nn.optimizers import GradientDescent
from trainer.nn.parameters import Parameters, initialize


def reference_loss(params: Parameters, X, y, activation: str, alpha: float) -> float:
    """Summed cross-entropy + alpha/2 sum ||W||^2, via the inference pass only."""
    P = network.predict_proba(X, params.coefs, params.intercepts, activation)
    data = -np.log(P[np.arange(len(y)), y]).sum()
    return data + alpha / 2 * sum((W**2).sum() for W in params.coefs)


def transposed_inputs(X, y, n_classes):
    XT = np.vstack([X.T, np.ones((1, len(X)))])
    YT = np.zeros((n_classes, len(y)))
    YT[y, np.arange(len(y))] = 1.0
    return XT, YT


def backprop_gradient(params, X, y, n_classes, activation, alpha):
    workspace = Workspace(params, activation, alpha, len(X))
    XT, YT = transposed_inputs(X, y, n_classes)
    workspace.forward(XT)
    loss, grad = workspace.backward(YT)
    return loss, grad.copy()


def numerical_gradient(params, X, y, activation, alpha, h=1e-5):
    grad = np.empty_like(params.theta)
    for k in range(params.theta.size):
        saved = params.theta[k]
        params.theta[k] = saved + h
        up = reference_loss(params, X, y, activation, alpha)
        params.theta[k] = saved - h
        down = reference_loss(params, X, y, activation, alpha)
        params.theta[k] = saved
        grad[k] = (up - down) / (2 * h)
    return grad


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize(
    ("hidden", "n_classes", "alpha"),
    [
        ((), 3, 0.3),  # no hidden layer: softmax regression
        ((4,), 2, 0.0),
        ((4,), 3, 0.5),
        ((5, 3), 3, 0.5),  # two hidden layers, three classes and L2
    ],
)
def test_backprop_matches_central_differences(activation, hidden, n_classes, alpha):
    rng = np.random.RandomState(42)
    n_samples, n_features = 23, 3
    X = rng.randn(n_samples, n_features)
    y = rng.randint(n_classes, size=n_samples)
    params = initialize([n_features, *hidden, n_classes], "legacy", activation, rng)
    # non-zero biases so their gradients are exercised away from the starting point
    params.theta += 0.1 * rng.randn(params.theta.size) * (1 - params.weight_mask)

    loss, grad = backprop_gradient(params, X, y, n_classes, activation, alpha)
    numeric = numerical_gradient(params, X, y, activation, alpha)

    assert loss == pytest.approx(reference_loss(params, X, y, activation, alpha))
    relative_error = np.linalg.norm(grad - numeric) / np.linalg.norm(grad + numeric)
    assert relative_error < 1e-6


@pytest.mark.parametrize("alpha", [0.0, 0.4])
def test_backward_depends_on_the_forward_alone(alpha):
    # the loss and the L2 term are computed inside backward: calling it again, or
    # after an update it did not see, gives what a fresh workspace gives
    rng = np.random.RandomState(3)
    X, y = rng.randn(9, 2), rng.randint(3, size=9)
    XT, YT = transposed_inputs(X, y, 3)
    params = initialize([2, 4, 3], "glorot", "relu", rng)
    workspace = Workspace(params, "relu", alpha, 9)
    workspace.forward(XT)
    first_loss, first_grad = workspace.backward(YT)
    first_grad = first_grad.copy()
    again_loss, again_grad = workspace.backward(YT)
    assert again_loss == first_loss
    assert np.array_equal(again_grad, first_grad)

    params.theta -= 0.1 * first_grad
    workspace.forward(XT)
    loss, grad = workspace.backward(YT)
    expected_loss, expected_grad = backprop_gradient(params, X, y, 3, "relu", alpha)
    assert loss == expected_loss
    assert np.array_equal(grad, expected_grad)


def test_biases_carry_no_l2():
    rng = np.random.RandomState(0)
    X, y = rng.randn(10, 2), rng.randint(2, size=10)
    params = initialize([2, 3, 2], "glorot", "tanh", rng)
    _, without = backprop_gradient(params, X, y, 2, "tanh", alpha=0.0)
    _, with_l2 = backprop_gradient(params, X, y, 2, "tanh", alpha=0.7)
    difference = with_l2 - without
    bias = params.weight_mask == 0
    assert np.all(difference[bias] == 0.0)
    assert np.allclose(difference[~bias], 0.7 * params.theta[~bias])


def test_one_sample_one_step_worked_by_hand():
    # One sample x = (1, 2) of class 0; one tanh hidden unit; two classes; L2 0.1.
    #   W1 = [[0.5], [-0.25]], b1 = [0]      W2 = [[1, -1]], b2 = [0, 0]
    # Forward:
    #   z1 = 1 * 0.5 + 2 * (-0.25) + 0 = 0      h = tanh(0) = 0
    #   z2 = h * [1, -1] + [0, 0] = [0, 0]      P = softmax([0, 0]) = [0.5, 0.5]
    #   loss = -log 0.5 + 0.1 / 2 * (0.5^2 + 0.25^2 + 1^2 + 1^2)
    #        = ln 2 + 0.05 * 2.3125 = 0.693147... + 0.115625
    # Backward (one sample, so the summed and the mean gradient agree):
    #   dL/dz2 = P - Y = [-0.5, 0.5]
    #   dW2 = h * dz2 + 0.1 * W2 = [[0, 0]] + [[0.1, -0.1]] = [[0.1, -0.1]]
    #   db2 = [-0.5, 0.5]
    #   dL/dz1 = (dz2 . W2 row) * tanh'(z1) = (-0.5 * 1 + 0.5 * -1) * (1 - 0^2) = -1
    #   dW1 = x^T dz1 + 0.1 * W1 = [[-1], [-2]] + [[0.05], [-0.025]]
    #       = [[-0.95], [-2.025]]
    #   db1 = [-1]
    # One gradient-descent step with learning rate 0.1, W <- W - 0.1 * dW:
    #   W1 = [[0.5 + 0.095], [-0.25 + 0.2025]] = [[0.595], [-0.0475]]
    #   b1 = [0.1]
    #   W2 = [[0.99, -0.99]],  b2 = [0.05, -0.05]
    params = Parameters([2, 1, 2])
    W1, W2 = params.layers  # each [W^T | b]
    W1[:, :-1] = np.array([[0.5], [-0.25]]).T
    W2[:, :-1] = np.array([[1.0, -1.0]]).T
    X, y = np.array([[1.0, 2.0]]), np.array([0])

    loss, grad = backprop_gradient(params, X, y, 2, "tanh", alpha=0.1)
    assert loss == pytest.approx(np.log(2) + 0.115625, abs=1e-15)
    grad_W1, grad_W2 = params.views_of(grad)
    assert grad_W1[:, :-1].T == pytest.approx(np.array([[-0.95], [-2.025]]))
    assert grad_W1[:, -1] == pytest.approx([-1.0])
    assert grad_W2[:, :-1].T == pytest.approx(np.array([[0.1, -0.1]]))
    assert grad_W2[:, -1] == pytest.approx([-0.5, 0.5])

    GradientDescent().step(params.theta, grad, learning_rate=0.1, grad_scale=1.0)
    coefs, intercepts = params.coefs, params.intercepts
    assert coefs[0] == pytest.approx(np.array([[0.595], [-0.0475]]))
    assert intercepts[0] == pytest.approx([0.1])
    assert coefs[1] == pytest.approx(np.array([[0.99, -0.99]]))
    assert intercepts[1] == pytest.approx([0.05, -0.05])
