"""The tutorial's logistic-regression baseline, and its export as a network.

A linear model is a network with no hidden layer: softmax(X @ W + b). Exporting it in
that shape lets the registry and the service treat the baseline like any other model.
"""

from typing import TYPE_CHECKING, Any

import numpy as np
from threadpoolctl import threadpool_limits

from trainer.errors import DataError

if TYPE_CHECKING:  # imported where fitted: a second, which list and show never pay
    from sklearn.linear_model import LogisticRegressionCV

Array = np.ndarray

# Pinned, because scikit-learn's defaults move: scoring changes from accuracy to log
# loss in 1.11, l1_ratios and the fitted attributes change in 1.10. The tutorial's
# LogisticRegressionCV() chose C by accuracy over 10 values of C with an L2 penalty.
BASELINE_PARAMS: dict[str, Any] = {
    "Cs": 10,
    "l1_ratios": (0.0,),
    "scoring": "accuracy",
    "solver": "lbfgs",
    "max_iter": 1000,
    "use_legacy_attributes": False,
}
N_FOLDS = 5
# the training points the baseline is fitted on at most (--baseline-samples): a
# stratified subsample beyond that; chosen by measurement (docs/benchmarks.md,
# "Baseline subsample"): on 1,000,000 moons points validation accuracy stops
# improving well below it, while the fit time grows with every point
DEFAULT_BASELINE_SAMPLES = 20_000


def baseline_subsample(
    X_train: Array, y_train: Array, cap: int, seed: int = 0
) -> tuple[Array, Array]:
    """At most `cap` training points, stratified by class and in their order.

    Data of `cap` points or fewer is returned as it is, so small runs (the
    tutorial's 200 points) fit the baseline exactly as before.
    """
    if len(y_train) <= cap:
        return X_train, y_train
    _, codes, counts = np.unique(y_train, return_inverse=True, return_counts=True)
    n_classes = len(counts)
    if cap < 2 * n_classes:
        raise DataError(
            f"--baseline-samples {cap} is too few for {n_classes} classes: the "
            f"baseline's cross-validation needs at least {2 * n_classes}"
        )
    # each class keeps its share of the cap (largest remainders get the rest), its
    # points drawn by one seeded permutation: much cheaper than train_test_split's
    # stratified shuffle at a million points
    order = np.random.default_rng(seed).permutation(len(y_train))
    shares = counts * (cap / len(y_train))
    quota = np.floor(shares).astype(np.int64)
    quota[np.argsort(quota - shares, kind="stable")[: cap - quota.sum()]] += 1
    ordered_codes = codes[order]
    keep = np.concatenate(
        [order[ordered_codes == c][:n] for c, n in enumerate(quota.tolist())]
    )
    keep.sort()
    return X_train.take(keep, axis=0), y_train.take(keep)


def fit_baseline(
    X_train: Array, y_train: Array, seed: int = 0
) -> "LogisticRegressionCV":
    """LogisticRegressionCV with pinned settings, cross-validated on the training set.

    Uses 5 stratified folds, fewer when the smallest class has fewer than 5 samples.
    """
    _, counts = np.unique(y_train, return_counts=True)
    if len(counts) < 2:
        raise DataError("the baseline needs at least two classes in the training set")
    n_folds = min(N_FOLDS, int(counts.min()))
    if n_folds < 2:
        raise DataError(
            "the baseline's cross-validation needs at least 2 training samples of "
            "every class"
        )
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    model = LogisticRegressionCV(cv=cv, random_state=seed, **BASELINE_PARAMS)
    # one thread: with a handful of features every product is tiny, so BLAS/OpenMP
    # threads only synchronise, and on a busy machine their spin-waits made this
    # fit 10-20x slower (measured: 8 s against 0.4 s for 200 blobs points)
    with threadpool_limits(limits=1):
        return model.fit(X_train, y_train)


def export_baseline(model: "LogisticRegressionCV") -> tuple[list[Array], list[Array]]:
    """The fitted model as ([W], [b]) of a network with no hidden layer.

    Returns
    -------
    coefs : [W] with W (n_features, n_classes)
    intercepts : [b] with b (n_classes,)
    Columns follow model.classes_.
    """
    W = np.asarray(model.coef_, dtype=np.float64).T
    b = np.asarray(model.intercept_, dtype=np.float64)
    if len(model.classes_) == 2:
        # scikit-learn keeps one score z for class 1, P(1) = sigmoid(z); a softmax
        # over the scores [0, z] gives exactly sigmoid(z) for the second column
        W = np.hstack([np.zeros_like(W), W])
        b = np.concatenate([[0.0], b])
    return [np.ascontiguousarray(W)], [b]
