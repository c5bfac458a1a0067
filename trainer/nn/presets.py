"""Named sets of hyperparameters; `tutorial` reproduces the tutorial's run exactly.

Kept as plain dicts of `ScratchNetClassifier` keyword arguments so the CLI, config
files and tests can layer their own values on top.
"""

from typing import Any

TUTORIAL_PASSES = 20000
# the hidden-layer sizes the tutorial compares, in its order
TUTORIAL_SIZES = (1, 2, 3, 4, 5, 20, 50)


def tutorial_params(hidden: int = 3) -> dict[str, Any]:
    """Keyword arguments for the tutorial's `build_model(hidden)` on its moons data.

    The tutorial seeds numpy with 0, draws `W = randn(fan_in, fan_out) / sqrt(fan_in)`
    layer by layer with zero biases, then runs 20000 full-batch gradient-descent
    passes of `W += -0.01 * (dW + 0.01 * W)` on the gradient *summed* over the
    samples. It runs every pass, so the loss-based stopping rule is switched off.
    """
    return {
        "hidden_layer_sizes": (hidden,),
        "activation": "tanh",
        "optimizer": "gd",
        "learning_rate": 0.01,
        "learning_rate_decay": 0.0,
        "alpha": 0.01,
        "max_iter": TUTORIAL_PASSES,
        "shuffle": False,
        "early_stopping": False,
        # never n_iter_no_change + 1 epochs without improvement in max_iter epochs
        "tol": 0.0,
        "n_iter_no_change": TUTORIAL_PASSES,
        "init": "legacy",
        "gradient": "sum",
        "random_state": 0,
    }
