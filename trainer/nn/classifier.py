"""ScratchNetClassifier: the from-scratch network as a scikit-learn classifier.

Here live only the estimator conventions (store hyperparameters, check them and the
data in `fit`, learned attributes end in `_`); the loop is `trainer.nn.epochs`, the math
`trainer.nn.backprop`, prediction `trainer.nn.network`.
"""

from collections.abc import Sequence
from dataclasses import fields

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from trainer.nn import network
from trainer.nn.epochs import EpochCallback, train
from trainer.nn.hyperparameters import DEFAULTS as D
from trainer.nn.hyperparameters import Hyperparameters

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

    The defaults, and the rule each value must follow, are those of
    `trainer.nn.hyperparameters.Hyperparameters`.
    """

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = D.hidden_layer_sizes,
        activation: str = D.activation,
        optimizer: str = D.optimizer,
        learning_rate: float = D.learning_rate,
        learning_rate_decay: float = D.learning_rate_decay,
        alpha: float = D.alpha,
        batch_size: int = D.batch_size,
        max_iter: int = D.max_iter,
        momentum: float = D.momentum,
        shuffle: bool = D.shuffle,
        early_stopping: bool = D.early_stopping,
        validation_fraction: float = D.validation_fraction,
        n_iter_no_change: int = D.n_iter_no_change,
        tol: float = D.tol,
        init: str = D.init,
        gradient: str = D.gradient,
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
        options = self._hyperparameters()
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

    def _hyperparameters(self) -> Hyperparameters:
        """Every hyperparameter but random_state (the loop takes the RNG), checked:
        a ValueError names the one at fault."""
        return Hyperparameters(
            **{
                setting.name: getattr(self, setting.name)
                for setting in fields(Hyperparameters)
            }
        )
