"""What keeps a training run's memory and time bounded gives the same numbers.

Metrics measured in chunks, labels mapped once per distinct value, mini-batches
written straight from the samples, feature ranges column by column and the data
sample's labels converted as they are picked must equal what the whole-array
versions computed.
"""

import numpy as np
import pytest

from trainer.cli import training
from trainer.data.datasets import feature_range
from trainer.nn import network
from trainer.nn.epochs import _BatchWorkspace
from trainer.nn.parameters import initialize
from trainer.registry.sample import SAMPLE_FILE, build_sample, sample_bytes


def _network(sizes: list[int], seed: int = 0) -> tuple[list, list]:
    params = initialize(sizes, "glorot", "tanh", np.random.RandomState(seed))
    return params.coefs, params.intercepts


@pytest.mark.parametrize("chunk", [1, 7, 64, 10_000])
def test_metrics_measured_in_chunks_equal_the_whole_array_formula(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 2))
    y = rng.integers(0, 3, 100)
    coefs, intercepts = _network([2, 5, 3])
    P = network.predict_proba(X, coefs, intercepts, "tanh")
    expected_loss = float(-np.mean(np.log(np.clip(P[np.arange(100), y], 1e-15, 1.0))))
    expected_accuracy = float(np.mean(P.argmax(axis=1) == y))
    # `chunk` rows of the widest layer (5 hidden units) a pass
    monkeypatch.setattr(training, "_MEASURE_CHUNK_VALUES", 5 * chunk)

    got = training._measure(coefs, intercepts, "tanh", [0, 1, 2], X, y, "train")

    assert got == {"train_accuracy": expected_accuracy, "train_loss": expected_loss}


@pytest.mark.parametrize(
    ("y", "classes", "expected"),
    [
        (np.array([3, 1, 3, 2]), [1, 2, 3], [2, 0, 2, 1]),
        (np.array(["b", "a", "c", "a"]), ["a", "b", "c"], [1, 0, 2, 0]),
        (np.array([1.0, 0.0]), [0, 1], [1, 0]),
        (np.array(["x"], dtype=object), ["w", "x"], [1]),
    ],
)
def test_class_indices_map_every_label_to_its_output_column(
    y: np.ndarray, classes: list, expected: list
) -> None:
    indices = training.class_indices(y, classes)

    assert indices.dtype == np.intp and indices.tolist() == expected


def test_a_batch_is_written_as_inputs_with_ones_and_one_hot_labels() -> None:
    params = initialize([2, 4, 3], "glorot", "tanh", np.random.RandomState(0))
    workspace = _BatchWorkspace(params, "tanh", 0.01, 3)
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])

    workspace.copy_in(X, np.array([2, 0, 2]))
    XT, YT = workspace.copy_in(X[::-1], np.array([1, 1, 0]))

    assert XT.tolist() == [[5.0, 3.0, 1.0], [6.0, 4.0, 2.0], [1.0, 1.0, 1.0]]
    # the previous batch's ones are gone: each column has exactly its own label
    assert YT.tolist() == [[0.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]


@pytest.mark.parametrize(
    "labels", [np.array([0, 1, 1, 0, 1]), np.array(["b", "a", "a", "b", "a"])]
)
def test_the_data_sample_is_the_one_of_all_labels_converted_first(
    labels: np.ndarray,
) -> None:
    rng = np.random.default_rng(2)
    n_train = 3000
    y = np.resize(labels, 4000)
    X = rng.normal(size=(4000, 2))
    coefs, intercepts = _network([2, 3, 2])
    result = training.TrainedModel(
        coefs,
        intercepts,
        "tanh",
        sorted({training._json_label(v) for v in labels}),
        {"training": {"seed": 7}},
        [],
        X[:n_train],
        y[:n_train],
        X[n_train:],
        y[n_train:],
    )
    eager = build_sample(
        X[:n_train],
        [training._json_label(v) for v in y[:n_train]],
        X[n_train:],
        [training._json_label(v) for v in y[n_train:]],
        seed=7,
    )

    assert result.files == {SAMPLE_FILE: sample_bytes(eager)}


@pytest.mark.parametrize("n_features", [1, 3, 40])
def test_feature_ranges_equal_the_axis_0_reductions(n_features: int) -> None:
    X = np.random.default_rng(3).normal(size=(1000, n_features))

    low, high = feature_range(X)

    assert low.tolist() == X.min(axis=0).tolist()
    assert high.tolist() == X.max(axis=0).tolist()
