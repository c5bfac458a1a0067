"""One training run end to end: data, split, fit, metrics, manifest, then publish.

The CLI and the sweep call these; they hold no argument parsing and print nothing, so
a run is the same whether a person, cron or joblib started it. Fitting and publishing
are separate steps: `fit` reads only the `Recipe` (no output or publishing option), and
a run that fails publishes nothing (a report directory that cannot be written is
refused before training; figures are drawn after publishing, with the version). Whether
production moves is the registry's policy (`trainer.registry.promotion`).
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np
from sklearn.linear_model import LogisticRegressionCV
from threadpoolctl import threadpool_limits

from trainer.cli import heldout
from trainer.cli.options import Recipe, RunOptions
from trainer.data.baseline import (
    BASELINE_PARAMS,
    baseline_subsample,
    export_baseline,
    fit_baseline,
)
from trainer.data.datasets import (
    data_fingerprint,
    feature_range,
    load_dataset,
    train_validation_split,
)
from trainer.errors import (
    NotFoundError,
    StorageError,
    TrainingError,
    VerificationError,
)
from trainer.nn import network
from trainer.nn.classifier import ScratchNetClassifier
from trainer.registry import Registry
from trainer.registry.manifest import downsample_loss_curve
from trainer.registry.promotion import PRODUCTION, measure_change, promote_if_better
from trainer.registry.sample import SAMPLE_FILE, build_sample, sample_bytes

Array = np.ndarray


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model, its manifest fields and the data it saw (for figures).

    X_train (n_train, n_features), X_validation (n_validation, n_features).
    """

    coefs: list[Array]
    intercepts: list[Array]
    activation: str | None
    classes: list[Any]
    manifest_fields: dict[str, Any]
    loss_curve: list[float]
    X_train: Array
    y_train: Array
    X_validation: Array
    y_validation: Array

    @property
    def metrics(self) -> dict[str, float]:
        return self.manifest_fields["metrics"]

    @property
    def files(self) -> dict[str, bytes]:
        """The version's optional files: the data sample the explorer draws."""
        # the labels are converted as the sample picks them (at most
        # MAX_SAMPLE_POINTS), not all of them first: 1.4 s of Python at 1,000,000
        sample = build_sample(
            self.X_train,
            _JsonLabels(self.y_train),
            self.X_validation,
            _JsonLabels(self.y_validation),
            seed=self.manifest_fields["training"].get("seed") or 0,
        )
        return {SAMPLE_FILE: sample_bytes(sample)}


@dataclass(frozen=True)
class PublishOutcome:
    """Where a result landed and whether production moved to it."""

    name: str
    version: int
    promoted: bool
    gate: dict[str, Any] | None = field(default=None)


@dataclass(frozen=True)
class Prepared:
    """A run's data, its split and its fitted baseline.

    They depend on the data options and the seed only, so a sweep prepares them once
    for all its networks. X_train (n_train, n_features), X_val (n_val, n_features).
    """

    # the data's spec, not its arrays: the split's parts are the only copy kept
    dataset_spec: dict[str, Any]
    X_train: Array
    X_val: Array
    y_train: Array
    y_val: Array
    baseline: LogisticRegressionCV
    baseline_seconds: float
    # the training points the baseline was fitted on (at most --baseline-samples)
    baseline_samples: int
    # what the metrics are measured on, as the manifest records it
    validation: dict[str, Any] = field(default_factory=dict)


def prepare(recipe: Recipe) -> Prepared:
    """Load the data, hold out a validation split (or load --validation-data), fit
    the baseline on the training points.

    Raises DataError for unusable data.
    """
    dataset = load_dataset(
        recipe.dataset,
        n_samples=recipe.samples,
        noise=recipe.noise,
        n_classes=recipe.classes,
        seed=recipe.seed,
    )
    if recipe.validation_data is None:
        X_train, X_val, y_train, y_val = train_validation_split(
            dataset.X, dataset.y, recipe.holdout_fraction, seed=recipe.seed
        )
        validation = {"source": "split", "fraction": recipe.holdout_fraction}
    else:
        held_out = heldout.load(
            recipe.validation_data,
            samples=recipe.samples,
            noise=recipe.noise,
            classes=recipe.classes,
            seed=recipe.seed,
        )
        heldout.check_compatible(dataset, held_out, recipe.validation_data)
        # every point, in the dataset's order: the tutorial's full-batch run
        X_train, y_train = dataset.X, dataset.y
        X_val, y_val = held_out.X, held_out.y
        validation = {"source": "dataset", "dataset": held_out.spec}
    started = time.perf_counter()
    # a stratified subsample: the baseline's cost stops growing with the data, and
    # it is still scored on the full validation split
    X_base, y_base = baseline_subsample(
        X_train, y_train, recipe.baseline_samples, seed=recipe.seed
    )
    baseline = fit_baseline(X_base, y_base, seed=recipe.seed)
    seconds = time.perf_counter() - started
    return Prepared(
        dataset.spec,
        X_train,
        X_val,
        y_train,
        y_val,
        baseline,
        seconds,
        len(y_base),
        validation,
    )


def fit(
    recipe: Recipe,
    on_epoch: Callable[[int, float], None] | None = None,
    prepared: Prepared | None = None,
) -> TrainedModel:
    """Prepare the data and baseline (unless given), fit the model and measure it.

    `on_epoch(epoch, loss)` is called after every epoch of the network's training.
    `prepared` must come from `prepare` with the same data options and seed.
    Raises DataError for unusable data and TrainingError when training diverges.
    """
    prepared = prepared or prepare(recipe)
    baseline = prepared.baseline
    X_train, X_val = prepared.X_train, prepared.X_val
    y_train, y_val = prepared.y_train, prepared.y_val
    started = time.perf_counter()
    if recipe.kind == "mlp":
        try:
            coefs, intercepts, classes, loss_curve, optimizer = _fit_network(
                recipe, X_train, y_train, on_epoch
            )
        except TrainingError as exc:
            if recipe.preset != "tutorial":
                raise
            # the classifier's advice names parameters the preset fixes; keep what
            # happened and give advice in the command line's terms
            raise TrainingError(
                exc.what,
                f"the tutorial preset sums the gradient over all {len(y_train)} "
                "training points, so its step grows with the data: drop --preset "
                "tutorial (the default optimiser trains at any size) or use fewer "
                "--samples.",
                epoch=exc.epoch,
                loss=exc.loss,
            ) from exc
        activation = recipe.hyperparameters["activation"]
    else:
        coefs, intercepts = export_baseline(baseline)
        classes, loss_curve, activation = list(baseline.classes_), [], None
        optimizer = {"name": "lbfgs", **_jsonable(BASELINE_PARAMS)}
        optimizer["C"] = float(np.ravel(baseline.C_)[0])
    # the baseline's fit counts too, as when it is fitted here
    duration = prepared.baseline_seconds + time.perf_counter() - started

    metrics = {
        **_measure(coefs, intercepts, activation, classes, X_train, y_train, "train"),
        **_measure(coefs, intercepts, activation, classes, X_val, y_val, "validation"),
        "baseline_validation_accuracy": float(baseline.score(X_val, y_val)),
    }
    json_classes = [_json_label(c) for c in classes]
    manifest_fields = {
        "kind": recipe.kind,
        "architecture": {
            "n_features": int(X_train.shape[1]),
            "hidden_layer_sizes": (
                list(recipe.hyperparameters["hidden_layer_sizes"])
                if recipe.kind == "mlp"
                else []
            ),
            "activation": activation,
            "classes": json_classes,
        },
        "training": {
            "dataset": prepared.dataset_spec,
            "n_train": int(len(y_train)),
            "n_validation": int(len(y_val)),
            "baseline_samples": int(prepared.baseline_samples),
            # the manifest's name for the held-out share (--validation-fraction);
            # null when a separate dataset was used (`validation`)
            "validation_fraction": (
                recipe.holdout_fraction if recipe.validation_data is None else None
            ),
            "validation": prepared.validation,
            "seed": recipe.seed,
            "preset": recipe.preset,
            "optimizer": optimizer,
            "epochs": len(loss_curve) if recipe.kind == "mlp" else None,
            "duration_seconds": round(duration, 4),
        },
        "data": _data_section(X_train, y_train, X_val),
        "metrics": metrics,
    }
    if loss_curve:
        # kept with the version so it can be drawn later (GET /models/...)
        manifest_fields["loss_curve"] = downsample_loss_curve(loss_curve)
    return TrainedModel(
        coefs=[np.asarray(W, dtype=np.float64) for W in coefs],
        intercepts=[np.asarray(b, dtype=np.float64) for b in intercepts],
        activation=activation,
        classes=json_classes,
        manifest_fields=manifest_fields,
        loss_curve=[float(v) for v in loss_curve],
        X_train=X_train,
        y_train=y_train,
        X_validation=X_val,
        y_validation=y_val,
    )


def publish(
    registry: Registry, options: RunOptions, result: TrainedModel
) -> PublishOutcome:
    """Publish the result as a new version, then apply `--promote` or the gate.

    A storage failure (a full disk) is reported with the place and the state it left:
    before the version landed nothing is published; after, the version is there and
    production is unchanged, which is what a retry or a manual promote needs to know.
    """
    where = Path(registry.root) / options.name
    fields = result.manifest_fields
    if options.promote_if_better and options.max_boundary_change is not None:
        # measured before publishing, so the version's own manifest records it (the
        # gate measures again if production moves before it decides)
        fields = {**fields, **_boundary_record(registry, options.name, result)}
    try:
        version = registry.publish(
            options.name,
            result.coefs,
            result.intercepts,
            fields,
            result.files,
            probe_sample=result.X_train,
        )
    except OSError as exc:
        raise StorageError(
            f"cannot publish {options.name!r} in {where}: {_reason(exc)}; "
            "nothing was published"
        ) from exc
    try:
        if options.promote:
            registry.set_alias(options.name, PRODUCTION, version)
            return PublishOutcome(options.name, version, promoted=True)
        if options.promote_if_better:
            gate = promote_if_better(
                registry,
                options.name,
                version,
                options.tolerance,
                options.max_boundary_change,
            )
            return PublishOutcome(options.name, version, gate["promoted"], gate)
    except OSError as exc:
        raise StorageError(
            f"{options.name!r} version {version} was published, but production was "
            f"not changed: {_reason(exc)} writing the aliases in {where}; once there "
            f"is room, `python -m trainer promote --registry {registry.root} "
            f"--name {options.name} --version {version}`"
        ) from exc
    return PublishOutcome(options.name, version, promoted=False)


@dataclass(frozen=True)
class _Candidate:
    """A fitted result seen as the registry's LoadedModel, before it has a version."""

    name: str
    manifest: dict[str, Any]
    coefs: list[Array]
    intercepts: list[Array]
    activation: str | None
    classes: list[Any]
    n_features: int
    version: str = "new"


def _boundary_record(
    registry: Registry, name: str, result: TrainedModel
) -> dict[str, Any]:
    """`{"boundary_change": ...}` against the current production, or {} if none is
    served (or it does not verify: the gate then replaces it).

    Raises IncomparableError (bad input, nothing published) when the new model's
    features or classes differ from production's.
    """
    try:
        current = registry.aliases(name).get(PRODUCTION)
        if current is None:
            return {}
        production = registry.load(name, current)
    except (NotFoundError, VerificationError):
        return {}
    candidate = _Candidate(
        name,
        result.manifest_fields,
        result.coefs,
        result.intercepts,
        result.activation,
        result.classes,
        int(result.X_train.shape[1]),
    )
    return {"boundary_change": measure_change(production, candidate)}


def _reason(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return f"{reason} ({exc.filename})" if exc.filename else reason


def _fit_network(
    recipe: Recipe,
    X: Array,
    y: Array,
    on_epoch: Callable[[int, float], None] | None,
) -> tuple[list[Array], list[Array], list[Any], list[float], dict[str, Any]]:
    params = recipe.classifier_params()
    model = ScratchNetClassifier(**params).fit(X, y, on_epoch=on_epoch)
    optimizer = {
        "name": params.pop("optimizer"),
        **{k: v for k, v in _jsonable(params).items() if k != "hidden_layer_sizes"},
    }
    if optimizer["name"] == "gd":
        del optimizer["batch_size"]  # full batch: the classifier ignores it
    return (
        list(model.coefs_),
        list(model.intercepts_),
        list(model.classes_),
        list(model.loss_curve_),
        optimizer,
    )


def _data_section(X_train: Array, y_train: Array, X_val: Array) -> dict[str, Any]:
    """The manifest's `data`: what the model learned from, and where the data lies.

    `sha256` covers the training split exactly as the model was fitted on it, so equal
    digests mean equal training data. The extent covers the whole dataset (training
    and validation): the service draws its default `/boundary` over it, and a
    validation point outside the training extent is where a boundary is worth seeing.
    X_train (n_train, n_features), X_val (n_validation, n_features).
    """
    fingerprint = data_fingerprint(X_train, y_train)
    val_low, val_high = feature_range(np.asarray(X_val))
    return {
        "sha256": fingerprint["sha256"],
        "feature_min": np.minimum(fingerprint["feature_min"], val_low).tolist(),
        "feature_max": np.maximum(fingerprint["feature_max"], val_high).tolist(),
    }


# values in the widest layer of one forward pass when measuring: the hidden layer
# of a whole split would be (n_samples, units) float64, 1 GB for 2,400,000 points
# and 50 units. 2**18 (2 MB) stays in cache: 5,242 rows of 50 units measured both
# splits of 1,000,000 points in 0.24 s against 0.40 s in chunks of 65,536 rows
# (medians of 9 rounds, alternated; 2**16 and 2**17 no faster, 2**19 0.27 s)
_MEASURE_CHUNK_VALUES = 2**18


def _measure(
    coefs: list[Array],
    intercepts: list[Array],
    activation: str | None,
    classes: list[Any],
    X: Array,
    y: Array,
    part: str,
) -> dict[str, float]:
    """Accuracy and mean cross-entropy (without the L2 term) of a network on X, y."""
    X = np.asarray(X, dtype=np.float64)
    y_index = class_indices(y, classes)
    p_true = np.empty(len(y_index))
    hit = np.empty(len(y_index), dtype=bool)
    # one BLAS thread, as in training: on chunks this size a second thread cost 3.5x
    # the CPU and 3x the wall time (800,000 rows, hidden 50, two busy cores)
    widest = max(W.shape[1] for W in coefs)
    chunk = max(1, _MEASURE_CHUNK_VALUES // widest)
    with threadpool_limits(limits=1, user_api="blas"):
        for start in range(0, len(y_index), chunk):
            rows = slice(start, start + chunk)
            P = network.predict_proba(X[rows], coefs, intercepts, activation)
            truth = y_index[rows]
            p_true[rows] = P[np.arange(len(truth)), truth]
            hit[rows] = P.argmax(axis=1) == truth
    # clip: one confident mistake must give a large loss, not an infinite one
    loss = float(-np.mean(np.log(np.clip(p_true, 1e-15, 1.0))))
    return {f"{part}_accuracy": float(np.mean(hit)), f"{part}_loss": loss}


def class_indices(y: Array, classes: list[Any]) -> Array:
    """Each label's column in the output layer: y (n_samples,) -> (n_samples,) ints."""
    index = {_json_label(c): i for i, c in enumerate(classes)}
    # each distinct label looked up once, not each of a million samples
    distinct, inverse = np.unique(np.asarray(y), return_inverse=True)
    column = np.array([index[_json_label(label)] for label in distinct], dtype=np.intp)
    return column[inverse.reshape(-1)]


class _JsonLabels(Sequence[int | str]):
    """Labels y (n_samples,) seen as JSON scalars, each converted when it is read."""

    def __init__(self, y: Array) -> None:
        self._y = y

    def __len__(self) -> int:
        return len(self._y)

    @overload
    def __getitem__(self, i: int) -> int | str: ...
    @overload
    def __getitem__(self, i: slice) -> list[int | str]: ...
    def __getitem__(self, i: int | slice) -> int | str | list[int | str]:
        if isinstance(i, slice):
            return [_json_label(label) for label in self._y[i]]
        return _json_label(self._y[i])


def _json_label(label: Any) -> int | str:
    """A class label as the JSON scalar the manifest stores (int or string)."""
    value = label.item() if isinstance(label, np.generic) else label
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int | str):
        return value
    return str(value)


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    """Settings as JSON values: tuples become lists, numpy scalars plain numbers."""
    out = {}
    for key, value in params.items():
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out
