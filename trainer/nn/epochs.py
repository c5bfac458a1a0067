"""The training loop: epochs, batches, stopping rules and divergence checks.

Kept apart from the estimator so the loop sees only validated arrays and plain
options, and from `trainer.nn.backprop` so the math never knows about epochs. Each epoch
source is a generator yielding one loss; the loop around it does the bookkeeping.
"""

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from trainer.errors import DataError, TrainingError
from trainer.nn import network
from trainer.nn.backprop import Workspace
from trainer.nn.hyperparameters import Hyperparameters
from trainer.nn.optimizers import Optimizer, decayed_learning_rate, make_optimizer
from trainer.nn.parameters import Parameters, initialize

Array = np.ndarray
EpochCallback = Callable[[int, float], object]

# rows per forward pass when scoring the validation split: bounds memory at any size
_SCORING_CHUNK = 8192
# a loss this many times above the untrained network's (or log n_classes, a uniform
# guess) means the steps overshoot: the tutorial's summed gradient at 10,000 points
# climbs to ~30x, yet stays finite because the softmax here never overflows
_DIVERGENCE_FACTOR = 10.0


@dataclass
class FitResult:
    """What the loop learned: the parameters and the curves of loss and score."""

    params: Parameters
    loss_curve: list[float]
    n_iter: int
    best_loss: float | None
    validation_scores: list[float] | None
    best_validation_score: float | None


def train(
    X: Array,
    y: Array,
    n_classes: int,
    options: Hyperparameters,
    rng: np.random.RandomState,
    on_epoch: EpochCallback | None = None,
) -> FitResult:
    """Fit a network to X (n_samples, n_features) and class indices y (n_samples,).

    The loss recorded per epoch is, for "gd", the full training loss after that
    epoch's update (what the tutorial prints); for the mini-batch optimisers, the
    mean of the batch losses, each measured just before its update (no extra pass).
    """
    sizes = [X.shape[1], *options.hidden_layer_sizes, n_classes]
    # legacy init draws first, so RandomState(seed) gives the tutorial's weights
    params = initialize(sizes, options.init, options.activation, rng)
    X_val = y_val = None
    if options.early_stopping:
        X, X_val, y, y_val = _validation_split(X, y, options.validation_fraction, rng)
    optimizer = make_optimizer(options.optimizer, params.theta.size, options.momentum)
    if options.optimizer == "gd":
        XT = np.vstack([X.T, np.ones((1, len(X)))])
        YT = np.zeros((n_classes, len(y)))
        YT[y, np.arange(len(y))] = 1.0
        epochs = _full_batch_epochs(params, XT, YT, optimizer, options)
    else:
        epochs = _mini_batch_epochs(params, X, y, optimizer, options, rng)

    loss_curve: list[float] = []
    stopping = _Stopping(options.tol, options.n_iter_no_change)
    validation_scores: list[float] | None = [] if options.early_stopping else None
    best_theta = None
    # divergence shows up as inf/nan, which is checked and reported, not as warnings;
    # one BLAS thread: these products are small, and handing them to a second thread
    # cost 6x at 10,000 points on two busy cores
    with (
        np.errstate(over="ignore", invalid="ignore", divide="ignore"),
        threadpool_limits(limits=1, user_api="blas"),
    ):
        initial_loss = next(epochs)
        ceiling = _DIVERGENCE_FACTOR * max(initial_loss, math.log(n_classes))
        for epoch, loss in enumerate(epochs):
            # `not <=` so that nan fails too
            if not loss <= ceiling:
                raise _diverged(epoch, loss, initial_loss, options)
            loss_curve.append(loss)
            if on_epoch is not None:
                on_epoch(epoch, loss)
            if validation_scores is None:
                # lower is better: track the negated loss
                stopping.update(-loss)
            else:
                score = _accuracy(params, options.activation, X_val, y_val)
                validation_scores.append(score)
                if stopping.update(score):
                    best_theta = params.theta.copy()
            if stopping.should_stop:
                break
    if best_theta is not None:
        # early stopping keeps the epoch that scored best on the validation split
        params.theta[:] = best_theta
    if not np.isfinite(params.theta).all():
        raise _diverged(len(loss_curve), math.nan, initial_loss, options)
    return FitResult(
        params=params,
        loss_curve=loss_curve,
        n_iter=len(loss_curve),
        best_loss=None if options.early_stopping else -stopping.best,
        validation_scores=validation_scores,
        best_validation_score=stopping.best if options.early_stopping else None,
    )


class _Stopping:
    """scikit-learn's rule: stop once n_iter_no_change + 1 epochs in a row fail to
    beat the best value so far by more than tol (higher values are better)."""

    def __init__(self, tol: float, n_iter_no_change: int) -> None:
        self.tol, self.patience = tol, n_iter_no_change
        self.best = -math.inf
        self.misses = 0
        self.should_stop = False

    def update(self, value: float) -> bool:
        """Record one epoch's value; True if it is the best so far."""
        self.misses = self.misses + 1 if value < self.best + self.tol else 0
        self.should_stop = self.misses > self.patience
        if value > self.best:
            self.best = value
            return True
        return False


def _full_batch_epochs(
    params: Parameters,
    XT: Array,
    YT: Array,
    optimizer: Optimizer,
    options: Hyperparameters,
) -> Iterator[float]:
    """One update per epoch on all samples; yields the loss before any update, then
    the loss *after* each update.

    The loss after update k comes with the gradient that update k + 1 takes: one
    forward and one backward an epoch, and one gradient unused at the end.
    """
    n_samples = XT.shape[1]
    workspace = Workspace(params, options.activation, options.alpha, n_samples)
    grad_scale = 1.0 if options.gradient == "sum" else 1.0 / n_samples
    theta = params.theta
    workspace.forward(XT)
    loss, grad = workspace.backward(YT)
    yield loss / n_samples
    for epoch in range(options.max_iter):
        learning_rate = decayed_learning_rate(
            options.learning_rate, options.learning_rate_decay, epoch
        )
        optimizer.step(theta, grad, learning_rate, grad_scale)
        workspace.forward(XT)
        loss, grad = workspace.backward(YT)
        yield loss / n_samples


def _mini_batch_epochs(
    params: Parameters,
    X: Array,
    y: Array,
    optimizer: Optimizer,
    options: Hyperparameters,
    rng: np.random.RandomState,
) -> Iterator[float]:
    """Shuffled mini-batches; yields the first batch's loss before any update, then
    the mean of each epoch's batch losses.

    Each epoch gathers the samples and their class indices into a shuffled copy with
    one `take` (a random read per sample costs a cache miss; one large gather overlaps
    them, per-batch gathers do not); each batch is then written, transposed with its
    row of ones and its one-hot labels, into contiguous workspace buffers. Memory
    stays at the data, one shuffled copy of it and a few batches, at any size.
    """
    n_samples = len(X)
    batch_size = min(options.batch_size, n_samples)
    # one workspace per batch size: the full size and the last batch's remainder
    workspaces = {
        size: _BatchWorkspace(params, options.activation, options.alpha, size)
        for size in {batch_size, n_samples % batch_size} - {0}
    }
    order = np.arange(n_samples)
    X_epoch, y_epoch = X, y
    if options.shuffle:
        X_epoch, y_epoch = np.empty_like(X), np.empty_like(y)
    first = workspaces[batch_size]
    XT_first, YT_first = first.copy_in(X[:batch_size], y[:batch_size])
    first.forward(XT_first)
    loss, _ = first.backward(YT_first)  # before any update: the gradient is not used
    yield loss / batch_size
    for epoch in range(options.max_iter):
        if options.shuffle:
            rng.shuffle(order)
            # mode="clip": with the default "raise", numpy buffers `out` first
            np.take(X, order, axis=0, out=X_epoch, mode="clip")
            np.take(y, order, out=y_epoch, mode="clip")
        learning_rate = decayed_learning_rate(
            options.learning_rate, options.learning_rate_decay, epoch
        )
        total = 0.0
        for start in range(0, n_samples, batch_size):
            stop = min(start + batch_size, n_samples)
            workspace = workspaces[stop - start]
            XT_batch, YT_batch = workspace.copy_in(
                X_epoch[start:stop], y_epoch[start:stop]
            )
            workspace.forward(XT_batch)
            loss, grad = workspace.backward(YT_batch)
            total += loss
            grad_scale = 1.0 if options.gradient == "sum" else 1.0 / (stop - start)
            optimizer.step(params.theta, grad, learning_rate, grad_scale)
        yield total / n_samples


class _BatchWorkspace(Workspace):
    """A workspace that also owns contiguous buffers to copy a batch into."""

    def __init__(
        self, params: Parameters, activation: str, alpha: float, n_samples: int
    ) -> None:
        super().__init__(params, activation, alpha, n_samples)
        n_features, n_classes = params.layer_sizes[0], params.layer_sizes[-1]
        # [X^T; 1]: the row of ones (the bias input) is written once
        self.XT_batch = np.ones((n_features + 1, n_samples))
        self.YT_batch = np.empty((n_classes, n_samples))
        self._columns = np.arange(n_samples)

    def copy_in(self, X: Array, y: Array) -> tuple[Array, Array]:
        """Write a batch, X (n, n_features) and class indices y (n,), into this
        workspace's buffers as [X^T; 1] and one-hot Y^T."""
        np.copyto(self.XT_batch[:-1], X.T)
        self.YT_batch.fill(0.0)
        self.YT_batch[y, self._columns] = 1.0
        return self.XT_batch, self.YT_batch


def _validation_split(
    X: Array, y: Array, fraction: float, rng: np.random.RandomState
) -> tuple[Array, Array, Array, Array]:
    # stratified, like scikit-learn's MLP: every class appears on both sides
    try:
        return train_test_split(X, y, test_size=fraction, random_state=rng, stratify=y)
    except ValueError as error:
        # DataError is a ValueError (what scikit-learn expects) that the CLI reports
        # as bad input in one line
        raise DataError(
            f"early_stopping cannot split off validation_fraction={fraction} of "
            f"{len(y)} samples with every class on both sides ({error}); use more "
            "data, a larger validation_fraction, or early_stopping=False"
        ) from error


def _accuracy(params: Parameters, activation: str, X: Array, y: Array) -> float:
    # copies, one parameter vector per epoch: nothing beside scoring the split
    coefs, intercepts = params.coefs, params.intercepts
    correct = 0
    for start in range(0, len(X), _SCORING_CHUNK):
        Z = network.logits(
            X[start : start + _SCORING_CHUNK], coefs, intercepts, activation
        )
        y_chunk = y[start : start + _SCORING_CHUNK]
        correct += int(np.count_nonzero(Z.argmax(axis=1) == y_chunk))
    return correct / len(X)


def _diverged(
    epoch: int, loss: float, initial_loss: float, options: Hyperparameters
) -> TrainingError:
    advice = f"lower learning_rate (it is {options.learning_rate:g})"
    if options.gradient == "sum":
        advice += (
            ' or use gradient="mean" (the summed gradient makes the step grow with '
            "the number of samples)"
        )
    if math.isfinite(loss):
        what = f"rose to {loss:.4g}, from {initial_loss:.4g} before training"
    else:
        what = f"became {loss}"
    return TrainingError(
        f"training diverged at epoch {epoch}: the loss {what}",
        f"{advice}.",
        epoch=epoch,
        loss=loss,
    )
