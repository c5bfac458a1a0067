"""ScratchNetClassifier as a user sees it: fitting, predicting, stopping, failing."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_moons
from sklearn.model_selection import GridSearchCV, cross_val_score

from trainer.errors import TrainingError
from trainer.nn.classifier import ScratchNetClassifier

# small and quick: enough epochs to learn the moons, few enough for a unit test
QUICK = {"hidden_layer_sizes": (5,), "max_iter": 300, "random_state": 0}


@pytest.fixture(scope="module")
def moons():
    return make_moons(200, noise=0.2, random_state=0)


@pytest.fixture(scope="module")
def fitted(moons):
    X, y = moons
    return ScratchNetClassifier(**QUICK).fit(X, y)


def test_learns_the_moons_with_its_defaults(moons):
    X, y = moons
    X_test, y_test = make_moons(1000, noise=0.2, random_state=1)
    clf = ScratchNetClassifier(random_state=0).fit(X, y)
    assert clf.score(X_test, y_test) > 0.95
    # a linear model tops out near 0.87 here; the hidden layer is doing its job
    assert clf.n_iter_ == len(clf.loss_curve_)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_learned_attributes(fitted):
    assert [W.shape for W in fitted.coefs_] == [(2, 5), (5, 2)]
    assert [b.shape for b in fitted.intercepts_] == [(5,), (2,)]
    assert list(fitted.classes_) == [0, 1]
    assert fitted.n_features_in_ == 2
    assert fitted.validation_scores_ is None
    assert fitted.best_validation_score_ is None


def test_probability_rows_sum_to_one_and_follow_classes(fitted, moons):
    X, _ = moons
    P = fitted.predict_proba(X)
    assert P.shape == (200, 2)
    assert np.allclose(P.sum(axis=1), 1.0)
    assert np.all((P >= 0) & (P <= 1))
    assert np.array_equal(fitted.classes_[P.argmax(axis=1)], fitted.predict(X))


def test_same_seed_gives_bit_identical_weights(moons):
    X, y = moons
    params = QUICK | {"optimizer": "adam", "batch_size": 32}  # shuffled batches
    first = ScratchNetClassifier(**params).fit(X, y)
    second = ScratchNetClassifier(**params).fit(X, y)
    other = ScratchNetClassifier(**(params | {"random_state": 1})).fit(X, y)
    first_arrays = first.coefs_ + first.intercepts_
    second_arrays = second.coefs_ + second.intercepts_
    for a, b in zip(first_arrays, second_arrays, strict=True):
        assert a.tobytes() == b.tobytes()
    assert first.coefs_[0].tobytes() != other.coefs_[0].tobytes()


def test_larger_l2_gives_smaller_weights(moons):
    X, y = moons

    def weight_norm(alpha: float) -> float:
        clf = ScratchNetClassifier(**(QUICK | {"alpha": alpha})).fit(X, y)
        return sum(float((W**2).sum()) for W in clf.coefs_)

    norms = [weight_norm(alpha) for alpha in (0.0, 1.0, 10.0, 100.0)]
    assert norms == sorted(norms, reverse=True)
    assert norms[-1] < norms[0] / 10


@pytest.mark.parametrize(
    "params",
    [
        {"optimizer": "gd", "learning_rate": 1.0},
        {"optimizer": "sgd", "learning_rate": 0.2, "batch_size": 20},
        {"optimizer": "momentum", "learning_rate": 0.05, "batch_size": 20},
        {"optimizer": "adam", "learning_rate": 0.02, "batch_size": 20},
        {"activation": "relu", "hidden_layer_sizes": (10, 10)},
        {"activation": "sigmoid", "learning_rate": 0.1},
        {
            "optimizer": "sgd",
            "learning_rate": 0.5,
            "batch_size": 20,
            "learning_rate_decay": 0.01,
        },
    ],
)
def test_every_optimizer_and_activation_learns(moons, params):
    X, y = moons
    clf = ScratchNetClassifier(**(QUICK | {"tol": 0.0} | params)).fit(X, y)
    assert clf.score(X, y) > 0.93


def test_three_string_classes():
    X, y = make_blobs(300, centers=3, cluster_std=1.0, random_state=0)
    names = np.array(["setosa", "versicolor", "virginica"])
    clf = ScratchNetClassifier(**QUICK).fit(X, names[y])
    assert list(clf.classes_) == list(names)
    predicted = clf.predict(X)
    assert predicted.dtype.kind == "U"
    assert np.mean(predicted == names[y]) > 0.9
    assert clf.predict_proba(X).shape == (300, 3)


def test_arbitrary_labels_keep_their_order():
    X, y = make_moons(100, noise=0.1, random_state=0)
    labels = np.array([7, -3])[y]  # the output columns follow sorted labels
    clf = ScratchNetClassifier(**QUICK).fit(X, labels)
    assert list(clf.classes_) == [-3, 7]
    assert set(clf.predict(X)) <= {-3, 7}
    # and each label lands on its own points: swapped columns would score ~0.12
    assert np.mean(clf.predict(X) == labels) > 0.8
    assert np.array_equal(clf.predict_proba(X)[:, 1] > 0.5, clf.predict(X) == 7)


def test_on_epoch_sees_every_epoch_with_its_loss(moons):
    X, y = moons
    seen = []
    clf = ScratchNetClassifier(**(QUICK | {"max_iter": 25, "tol": 0.0})).fit(
        X, y, on_epoch=lambda epoch, loss: seen.append((epoch, loss))
    )
    assert seen == list(enumerate(clf.loss_curve_))
    assert len(seen) == 25


def test_loss_plateau_stops_training_early(moons):
    X, y = moons
    clf = ScratchNetClassifier(
        **(QUICK | {"max_iter": 5000, "tol": 1e-2, "n_iter_no_change": 3})
    ).fit(X, y)
    assert clf.n_iter_ < 5000
    # stopped after n_iter_no_change + 1 epochs in a row that did not beat the best
    # loss so far by tol, like scikit-learn
    curve = clf.loss_curve_
    for k in range(len(curve) - 4, len(curve)):
        assert curve[k] > min(curve[:k]) - 1e-2
    assert curve[-5] <= min(curve[:-5]) - 1e-2


def test_early_stopping_keeps_the_best_validation_epoch():
    X, y = make_moons(1000, noise=0.3, random_state=0)
    clf = ScratchNetClassifier(
        hidden_layer_sizes=(20,),
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=5,
        max_iter=500,
        random_state=0,
    ).fit(X, y)
    assert clf.n_iter_ < 500
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None


def test_divergence_raises_with_what_to_change():
    # the tutorial's summed gradient: its step grows with the number of samples
    X, y = make_moons(10_000, noise=0.2, random_state=0)
    clf = ScratchNetClassifier(
        optimizer="gd", gradient="sum", learning_rate=0.01, max_iter=50, random_state=0
    )
    with pytest.raises(TrainingError, match='lower learning_rate.*gradient="mean"'):
        clf.fit(X, y)
    assert not hasattr(clf, "coefs_")


def test_non_finite_loss_raises_training_error(moons):
    X, y = moons
    clf = ScratchNetClassifier(
        activation="relu", optimizer="sgd", learning_rate=1e300, random_state=0
    )
    with pytest.raises(TrainingError, match="diverged at epoch .*became nan"):
        clf.fit(X * 1e10, y)


def test_training_error_keeps_what_happened_apart_from_the_advice(moons):
    # fields, so the CLI can give its own advice without parsing the message; and it
    # survives pickling, which is how a sweep's worker sends it back
    X, y = moons
    clf = ScratchNetClassifier(
        activation="relu", optimizer="sgd", learning_rate=1e300, random_state=0
    )
    with pytest.raises(TrainingError) as caught:
        clf.fit(X * 1e10, y)
    error = caught.value
    assert (
        error.what == f"training diverged at epoch {error.epoch}: the loss became nan"
    )
    assert np.isnan(error.loss) and error.epoch >= 0
    assert error.advice == "lower learning_rate (it is 1e+300)."
    assert str(error) == f"{error.what}; {error.advice}"
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.what, copy.advice, copy.epoch) == (
        TrainingError,
        str(error),
        error.what,
        error.advice,
        error.epoch,
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"activation": "softplus"}, "activation must be one of tanh, sigmoid, relu"),
        ({"optimizer": "lbfgs"}, "optimizer must be one of gd, sgd, momentum, adam"),
        ({"hidden_layer_sizes": (3, 0)}, "hidden_layer_sizes must be an integer >= 1"),
        ({"learning_rate": 0.0}, "learning_rate must be a finite number > 0"),
        ({"alpha": -1.0}, "alpha must be a finite number >= 0"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"max_iter": 2.5}, "max_iter must be an integer >= 1"),
        ({"validation_fraction": 1.0}, "validation_fraction must be between 0 and 1"),
        ({"init": "zeros"}, "init must be one of glorot, legacy"),
        ({"gradient": "median"}, "gradient must be one of mean, sum"),
    ],
)
def test_bad_hyperparameters_are_named(moons, params, message):
    X, y = moons
    with pytest.raises(ValueError, match=message):
        ScratchNetClassifier(**params).fit(X, y)


def test_one_class_is_refused(moons):
    X, _ = moons
    with pytest.raises(ValueError, match="at least 2 classes"):
        ScratchNetClassifier().fit(X, np.zeros(len(X)))


def test_wrong_number_of_features_at_predict(fitted):
    with pytest.raises(ValueError, match="3 features"):
        fitted.predict(np.zeros((4, 3)))


def test_works_in_cross_val_score_and_grid_search(moons):
    X, y = moons
    base = ScratchNetClassifier(**(QUICK | {"max_iter": 100}))
    scores = cross_val_score(base, X, y, cv=3)
    assert scores.shape == (3,)
    assert scores.mean() > 0.8

    search = GridSearchCV(base, {"hidden_layer_sizes": [(1,), (5,)]}, cv=3).fit(X, y)
    assert search.best_params_ == {"hidden_layer_sizes": (5,)}
    assert search.best_estimator_.score(X, y) > 0.9


def test_full_batch_loss_curve_ends_at_the_returned_models_loss(moons):
    # for "gd" each entry is the full training loss after that epoch's update
    X, y = moons
    clf = ScratchNetClassifier(
        **(QUICK | {"optimizer": "gd", "learning_rate": 1.0, "max_iter": 40})
    ).fit(X, y)
    P = clf.predict_proba(X)
    cross_entropy = -np.log(P[np.arange(len(y)), y]).mean()
    l2 = 0.01 / (2 * len(y)) * sum((W**2).sum() for W in clf.coefs_)
    assert clf.loss_curve_[-1] == pytest.approx(cross_entropy + l2, rel=1e-12)


def test_summed_gradient_is_the_mean_with_a_step_n_times_larger(moons):
    # the tutorial's 0.01 on the sum over 200 points is 2.0 on the mean
    X, y = moons
    common = {"optimizer": "gd", "init": "legacy", "max_iter": 100}
    summed = ScratchNetClassifier(
        **(QUICK | common | {"gradient": "sum", "learning_rate": 0.01})
    ).fit(X, y)
    mean = ScratchNetClassifier(
        **(QUICK | common | {"gradient": "mean", "learning_rate": 2.0})
    ).fit(X, y)
    for a, b in zip(
        summed.coefs_ + summed.intercepts_, mean.coefs_ + mean.intercepts_, strict=True
    ):
        assert np.allclose(a, b, rtol=0, atol=1e-10)


def test_no_hidden_layer_is_softmax_regression():
    X, y = make_blobs(300, centers=3, random_state=0)
    clf = ScratchNetClassifier(hidden_layer_sizes=(), max_iter=300, random_state=0)
    clf.fit(X, y)
    assert [W.shape for W in clf.coefs_] == [(2, 3)]
    assert clf.score(X, y) > 0.9
