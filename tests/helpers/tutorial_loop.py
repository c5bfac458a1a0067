"""The tutorial's `build_model`, transcribed with its names: what the preset's weights
are compared with (tests/unit/trainer/test_tutorial_preset.py, test_tutorial_cli.py).
"""

import numpy as np


def tutorial_build_model(
    X: np.ndarray, y: np.ndarray, nn_hdim: int, num_passes: int = 20000
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The tutorial's `build_model`, transcribed: fresh arrays and all."""
    num_examples, epsilon, reg_lambda = len(X), 0.01, 0.01
    rng = np.random.RandomState(0)  # the tutorial's np.random.seed(0)
    W1 = rng.randn(2, nn_hdim) / np.sqrt(2)
    b1 = np.zeros((1, nn_hdim))
    W2 = rng.randn(nn_hdim, 2) / np.sqrt(nn_hdim)
    b2 = np.zeros((1, 2))
    for _ in range(num_passes):
        z1 = X.dot(W1) + b1
        a1 = np.tanh(z1)
        z2 = a1.dot(W2) + b2
        exp_scores = np.exp(z2)
        probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
        delta3 = probs
        delta3[range(num_examples), y] -= 1
        dW2 = (a1.T).dot(delta3)
        db2 = np.sum(delta3, axis=0, keepdims=True)
        delta2 = delta3.dot(W2.T) * (1 - np.power(a1, 2))
        dW1 = np.dot(X.T, delta2)
        db1 = np.sum(delta2, axis=0)
        dW2 += reg_lambda * W2
        dW1 += reg_lambda * W1
        W1 += -epsilon * dW1
        b1 += -epsilon * db1
        W2 += -epsilon * dW2
        b2 += -epsilon * db2
    return W1, b1.ravel(), W2, b2.ravel()
