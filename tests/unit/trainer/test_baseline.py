"""The logistic-regression baseline: pinned settings, and its export as a network with
no hidden layer that predicts exactly what the fitted scikit-learn model predicts."""

import numpy as np
import pytest

from trainer.data.baseline import (
    DEFAULT_BASELINE_SAMPLES,
    baseline_subsample,
    export_baseline,
    fit_baseline,
)
from trainer.data.datasets import load_dataset, train_validation_split
from trainer.errors import DataError
from trainer.nn.network import predict_proba


def fitted(spec: str, **kwargs: int) -> tuple:
    ds = load_dataset(spec, **kwargs)
    X_train, X_val, y_train, y_val = train_validation_split(ds.X, ds.y)
    return fit_baseline(X_train, y_train), X_val, y_val


@pytest.mark.parametrize(
    ("spec", "kwargs"),
    [("moons", {}), ("circles", {}), ("blobs", {})],
)
def test_exported_weights_predict_what_the_fitted_model_predicts(
    spec: str, kwargs: dict
) -> None:
    model, X_val, _ = fitted(spec, **kwargs)
    # beyond the data too: a wide grid exercises points far from any training sample
    grid = np.mgrid[-20:20:41j, -20:20:41j].reshape(2, -1).T
    X = np.vstack([X_val, grid])

    coefs, intercepts = export_baseline(model)
    P = predict_proba(X, coefs, intercepts, None)

    n_classes = len(model.classes_)
    assert [W.shape for W in coefs] == [(2, n_classes)]
    assert [b.shape for b in intercepts] == [(n_classes,)]
    np.testing.assert_allclose(P, model.predict_proba(X), rtol=0, atol=1e-12)
    assert np.array_equal(model.classes_[P.argmax(axis=1)], model.predict(X))


def test_binary_export_is_a_zero_column_beside_the_fitted_line() -> None:
    model, _, _ = fitted("moons")

    (W,), (b,) = export_baseline(model)

    assert np.array_equal(W[:, 0], [0.0, 0.0]) and b[0] == 0.0
    assert np.array_equal(W[:, 1], model.coef_[0]) and b[1] == model.intercept_[0]


def test_string_labels_keep_their_column_order(tmp_path) -> None:
    rng = np.random.default_rng(0)
    centres = {"setosa": (0, 0), "versicolor": (4, 0), "virginica": (0, 4)}
    lines = [
        f"{x + rng.normal()},{y + rng.normal()},{name}"
        for name, (x, y) in centres.items()
        for _ in range(30)
    ]
    path = tmp_path / "flowers.csv"
    path.write_text("\n".join(lines))
    ds = load_dataset(f"csv:{path}")
    model = fit_baseline(ds.X, ds.y)

    coefs, intercepts = export_baseline(model)
    P = predict_proba(ds.X, coefs, intercepts, None)

    assert model.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    assert np.array_equal(model.classes_[P.argmax(axis=1)], model.predict(ds.X))


def test_baseline_is_pinned_to_accuracy_and_an_l2_penalty() -> None:
    model, _, _ = fitted("moons")

    assert model.scoring == "accuracy"
    assert model.l1_ratios == (0.0,)
    assert model.cv.get_n_splits() == 5


def test_a_line_cannot_separate_the_moons() -> None:
    # the tutorial's point: logistic regression misses the moon shape, the net does not
    model, X_val, y_val = fitted("moons")

    assert 0.75 <= model.score(X_val, y_val) < 0.95


def test_same_seed_same_baseline() -> None:
    ds = load_dataset("moons")

    first = export_baseline(fit_baseline(ds.X, ds.y, seed=1))
    second = export_baseline(fit_baseline(ds.X, ds.y, seed=1))

    assert first[0][0].tobytes() == second[0][0].tobytes()
    assert first[1][0].tobytes() == second[1][0].tobytes()


def test_small_classes_use_fewer_folds() -> None:
    X = np.array(
        [[0.0, 0.1], [0.2, 0.0], [0.1, 0.3], [3.0, 3.1], [3.2, 3.0], [3.1, 3.3]]
    )
    y = np.array([0, 0, 0, 1, 1, 1])

    model = fit_baseline(X, y)

    assert model.cv.get_n_splits() == 3
    assert model.score(X, y) == 1.0


@pytest.mark.parametrize(
    ("y", "message"),
    [
        ([0, 0, 0, 0], "the baseline needs at least two classes"),
        ([0, 0, 0, 1], "needs at least 2 training samples of every class"),
    ],
)
def test_baseline_rejects_data_it_cannot_cross_validate(y: list, message: str) -> None:
    X = np.arange(8, dtype=float).reshape(4, 2)
    with pytest.raises(DataError, match=message):
        fit_baseline(X, np.array(y))


# --- the stratified subsample (--baseline-samples) ----------------------------------


def test_data_within_the_cap_is_used_as_it_is() -> None:
    ds = load_dataset("moons")
    X_train, _, y_train, _ = train_validation_split(ds.X, ds.y)
    assert len(y_train) < DEFAULT_BASELINE_SAMPLES
    X, y = baseline_subsample(X_train, y_train, DEFAULT_BASELINE_SAMPLES)
    assert X is X_train and y is y_train
    X, y = baseline_subsample(X_train, y_train, len(y_train))
    assert X is X_train and y is y_train


def test_subsample_is_stratified_reproducible_and_keeps_rows_together() -> None:
    y = np.array(["a"] * 700 + ["b"] * 200 + ["c"] * 100)
    X = np.arange(len(y), dtype=np.float64)[:, None]
    X_sub, y_sub = baseline_subsample(X, y, 150, seed=3)
    assert len(y_sub) == 150
    assert dict(zip(*np.unique(y_sub, return_counts=True), strict=True)) == {
        "a": 105,
        "b": 30,
        "c": 15,
    }
    np.testing.assert_array_equal(y[X_sub[:, 0].astype(int)], y_sub)
    assert np.all(np.diff(X_sub[:, 0]) > 0)  # in the data's order, no repeats
    again = baseline_subsample(X, y, 150, seed=3)
    np.testing.assert_array_equal(again[0], X_sub)
    assert not np.array_equal(baseline_subsample(X, y, 150, seed=4)[0], X_sub)


def test_subsample_shares_round_to_the_cap() -> None:
    y = np.array([0] * 70 + [1] * 20 + [2] * 10)
    _, y_sub = baseline_subsample(np.zeros((100, 1)), y, 15)
    assert np.bincount(y_sub).tolist() == [11, 3, 1]  # 10.5, 3, 1.5: one more for 0


def test_a_cap_too_small_to_cross_validate_is_refused() -> None:
    y = np.array([0, 1] * 50)
    with pytest.raises(DataError, match="--baseline-samples 3 is too few for 2"):
        baseline_subsample(np.zeros((100, 1)), y, 3)
