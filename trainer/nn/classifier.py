"""ScratchNetClassifier: the from-scratch network as a scikit-learn classifier.

Here live only the estimator conventions (store hyperparameters, check them and the
data in `fit`, learned attributes end in `_`); the loop is `trainer.nn.epochs`, the math
`trainer.nn.backprop`, prediction `trainer.nn.network`.
"""

import numbers
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from trainer.nn import network
from trainer.nn.activations import ACTIVATIONS
from trainer.nn.epochs import EpochCallback, TrainingOptions, train
from trainer.nn.optimizers import OPTIMIZERS

Array = np.ndarray


class ScratchNetClassifier(ClassifierMixin, BaseEstimator):
    """A fully connected network with softmax output, trained by backpropagation.

    Parameters
    ----------
    hidden_layer_sizes : units per hidden layer, e.g. (3,) or (5, 5); () is a
        softmax (multinomial logistic) regression.
    activation : "tanh", "sigmoid" or "relu", for the hidden layers.
    optimizer : "gd" (full batch, ignores batch_size), "sgd", "momentum", "adam".
    learning_rate : step size; epoch e (from 0) uses
        learning_rate / (1 + learning_rate_decay * e).
    alpha : L2 strength on weights (not biases), scikit-learn's convention: each
        batch's loss is mean cross-entropy + alpha / (2 * batch size) * sum ||W||^2.
    batch_size, max_iter : samples per mini-batch; epochs (passes over the data).
    momentum : for optimizer="momentum".
    shuffle : reshuffle the samples every epoch (mini-batch optimisers).
    early_stopping : hold out validation_fraction (stratified), stop when its
        accuracy has not improved by tol for n_iter_no_change epochs, and keep the
        best epoch's weights. Without it, training stops when the training loss has
        not improved by tol for n_iter_no_change epochs.
    init : "glorot" (uniform) or "legacy" (the tutorial's randn / sqrt(fan_in)).
    gradient : "mean" over the batch, or "sum" (the tutorial's; its step grows with
        the data size).
    random_state : seed or RandomState for initialisation, splitting and shuffling.
    """

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (3,),
        activation: str = "tanh",
        optimizer: str = "adam",
        learning_rate: float = 0.05,
        learning_rate_decay: float = 0.0,
        alpha: float = 0.01,
        batch_size: int = 200,
        max_iter: int = 1000,
        momentum: float = 0.9,
        shuffle: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 20,
        tol: float = 2e-5,
        init: str = "glorot",
        gradient: str = "mean",
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.learning_rate_decay = learning_rate_decay
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.momentum = momentum
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.init = init
        self.gradient = gradient
        self.random_state = random_state

    def fit(
        self, X: Array, y: Array, on_epoch: EpochCallback | None = None
    ) -> "ScratchNetClassifier":
        """Train on X (n_samples, n_features) and labels y (n_samples,).

        `on_epoch(epoch, loss)` is called after every epoch with the 0-based epoch
        index and `loss_curve_[epoch]` (for progress bars and printing). Raises
        `trainer.errors.TrainingError` if training diverges.
        """
        options = self._checked_options()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"y has one class only ({classes[0]}); the classifier needs samples "
                "of at least 2 classes"
            )
        rng = check_random_state(self.random_state)
        result = train(X, y_index, len(classes), options, rng, on_epoch)
        self.classes_ = classes
        self.coefs_ = result.params.coefs
        self.intercepts_ = result.params.intercepts
        self.loss_curve_ = result.loss_curve
        self.loss_ = result.loss_curve[-1]
        self.best_loss_ = result.best_loss
        self.n_iter_ = result.n_iter
        self.validation_scores_ = result.validation_scores
        self.best_validation_score_ = result.best_validation_score
        return self

    def predict_proba(self, X: Array) -> Array:
        """P (n_samples, n_classes); columns follow `classes_`, rows sum to 1."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return network.predict_proba(X, self.coefs_, self.intercepts_, self.activation)

    def predict(self, X: Array) -> Array:
        """The most probable label of each row of X, from `classes_`."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        Z = network.logits(X, self.coefs_, self.intercepts_, self.activation)
        # softmax is monotonic in each row, so the largest logit is the likeliest class
        return self.classes_[Z.argmax(axis=1)]

    def _checked_options(self) -> TrainingOptions:
        return TrainingOptions(
            hidden_layer_sizes=_checked_sizes(self.hidden_layer_sizes),
            activation=_one_of("activation", self.activation, tuple(ACTIVATIONS)),
            optimizer=_one_of("optimizer", self.optimizer, OPTIMIZERS),
            learning_rate=_number("learning_rate", self.learning_rate, low=0.0),
            learning_rate_decay=_number(
                "learning_rate_decay", self.learning_rate_decay, low=0.0, strict=False
            ),
            alpha=_number("alpha", self.alpha, low=0.0, strict=False),
            batch_size=_integer("batch_size", self.batch_size, low=1),
            max_iter=_integer("max_iter", self.max_iter, low=1),
            momentum=_number("momentum", self.momentum, low=0.0, strict=False),
            shuffle=bool(self.shuffle),
            early_stopping=bool(self.early_stopping),
            validation_fraction=_fraction(self.validation_fraction),
            n_iter_no_change=_integer("n_iter_no_change", self.n_iter_no_change, low=1),
            tol=_number("tol", self.tol, low=0.0, strict=False),
            init=_one_of("init", self.init, ("glorot", "legacy")),
            gradient=_one_of("gradient", self.gradient, ("mean", "sum")),
        )


def _checked_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    if isinstance(sizes, numbers.Integral):
        sizes = (sizes,)
    try:
        checked = tuple(_integer("hidden_layer_sizes", s, low=1) for s in sizes)
    except TypeError as error:
        raise ValueError(
            f"hidden_layer_sizes must be a sequence of positive integers; got {sizes!r}"
        ) from error
    return checked


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return str(value)


def _number(name: str, value: object, low: float, strict: bool = True) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = np.isfinite(value) and (value > low if strict else value >= low)
    if not ok:
        bound = ">" if strict else ">="
        raise ValueError(
            f"{name} must be a finite number {bound} {low:g}; got {value!r}"
        )
    return value


def _integer(name: str, value: object, low: int) -> int:
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, bool)
        or value < low
    ):
        raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)


def _fraction(value: object) -> float:
    ok = isinstance(value, numbers.Real) and 0.0 < float(value) < 1.0
    if not ok:
        raise ValueError(f"validation_fraction must be between 0 and 1; got {value!r}")
    return float(value)
