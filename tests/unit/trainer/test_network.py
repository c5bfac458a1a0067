"""The inference pass (what the service runs), activations, and the training pass."""

import numpy as np
import pytest

from trainer.nn import network
from trainer.nn.activations import ACTIVATIONS
from trainer.nn.backprop import Workspace
from trainer.nn.parameters import Parameters, initialize


def test_softmax_rows_sum_to_one_and_survive_huge_logits():
    Z = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0], [-745.0, -746.0, 3.0]])
    with np.errstate(over="raise", invalid="raise"):  # an overflow would raise here
        P = network.softmax(Z.copy())
    assert P.sum(axis=1) == pytest.approx([1.0, 1.0, 1.0])
    assert P[0] == pytest.approx([1.0, 0.0, 0.0])
    assert P[1] == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    assert np.all(np.isfinite(P))


def test_softmax_of_two_logits_is_the_logistic_function():
    Z = np.array([[0.3, -1.2], [1000.0, -1000.0], [-800.0, -790.0]])
    with np.errstate(over="raise", invalid="raise"):
        P = network.softmax(Z.copy())
    assert P[:, 0] == pytest.approx(1 / (1 + np.exp(-(Z[:, 0] - Z[:, 1]))))
    assert P.sum(axis=1) == pytest.approx([1.0, 1.0, 1.0])


@pytest.mark.parametrize("n_classes", [2, 3])
def test_softmax_columns_leaves_what_the_loss_needs(n_classes):
    # the training layout: one column per sample; P^T into `out`, ZT max-shifted,
    # and each column's sum of exp in `sums`, so -log P[y] = log(sums) - ZT[y]
    rng = np.random.RandomState(2)
    Z = 30 * rng.randn(7, n_classes)
    ZT = Z.T.copy()
    PT, sums = np.empty_like(ZT), np.empty(7)
    assert network.softmax_columns(ZT, out=PT, sums=sums) is PT
    assert PT.T == pytest.approx(network.softmax(Z.copy()), abs=1e-15)
    assert ZT.max(axis=0) == pytest.approx(np.zeros(7))
    assert ZT == pytest.approx(Z.T - Z.T.max(axis=0))
    assert sums == pytest.approx(np.exp(ZT).sum(axis=0))
    y = rng.randint(n_classes, size=7)
    cross_entropy = np.log(sums) - ZT[y, np.arange(7)]
    assert cross_entropy == pytest.approx(-np.log(PT[y, np.arange(7)]))


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_derivative_from_output_matches_the_slope(activation):
    forward, derivative = ACTIVATIONS[activation]
    z = np.linspace(-3, 3, 13) + 0.05  # steer clear of relu's kink at 0
    h = 1e-6
    up, down = forward(z + h), forward(z - h)
    slope = (up - down) / (2 * h)
    H = forward(z.copy())
    assert derivative(H) == pytest.approx(slope, rel=1e-6, abs=1e-9)
    # the in-place form writes the same values into `out`
    out = np.empty_like(H)
    assert derivative(H, out=out) is out
    assert out == pytest.approx(derivative(H))


def test_sigmoid_never_overflows():
    z = np.array([-1e308, -800.0, 0.0, 800.0, 1e308])
    with np.errstate(over="raise", invalid="raise"):
        H = ACTIVATIONS["sigmoid"][0](z.copy())
    assert H == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.0])


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("hidden", [(), (3,), (4, 5)])
def test_training_forward_matches_the_inference_pass(activation, hidden):
    rng = np.random.RandomState(1)
    X = rng.randn(17, 2)
    params = initialize([2, *hidden, 3], "glorot", activation, rng)
    params.theta += 0.1 * rng.randn(params.theta.size)  # non-zero biases too
    XT = np.vstack([X.T, np.ones((1, 17))])

    PT = Workspace(params, activation, 0.0, 17).forward(XT)

    P = network.predict_proba(X, params.coefs, params.intercepts, activation)
    assert PT.T == pytest.approx(P, abs=1e-14)
    assert P.sum(axis=1) == pytest.approx(np.ones(17))


def test_parameters_views_write_through_to_the_flat_vector():
    params = Parameters([2, 3, 2])
    assert params.theta.size == (2 + 1) * 3 + (3 + 1) * 2
    params.layers[1][:, -1] = [7.0, 8.0]  # the output bias
    assert list(params.intercepts[1]) == [7.0, 8.0]
    # the layer is [W^T | b], row by row: each output unit's bias ends its row
    assert params.theta[-5] == 7.0
    assert params.theta[-1] == 8.0
    assert [W.shape for W in params.coefs] == [(2, 3), (3, 2)]
    # the mask marks weights only
    assert params.weight_mask.sum() == 2 * 3 + 3 * 2


def test_legacy_init_is_the_tutorials():
    params = initialize([2, 3, 2], "legacy", "tanh", np.random.RandomState(0))
    np.random.seed(0)
    W1 = np.random.randn(2, 3) / np.sqrt(2)
    W2 = np.random.randn(3, 2) / np.sqrt(3)
    assert np.array_equal(params.coefs[0], W1)
    assert np.array_equal(params.coefs[1], W2)
    assert not any(b.any() for b in params.intercepts)


def test_unknown_init_is_refused():
    with pytest.raises(ValueError, match="init must be"):
        initialize([2, 3, 2], "zeros", "tanh", np.random.RandomState(0))
