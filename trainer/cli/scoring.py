"""`predict` and `evaluate`: a published version scored offline, as the service would.

Both load through the registry (every checksum verified; a version that does not
verify is refused with exit 4) and compute what the service computes: labels are the
argmax of the logits, probabilities their softmax (`LoadedModel.predict`). `predict`
streams a CSV of any size to a CSV written atomically; `evaluate` reports accuracy,
log loss and the confusion matrix on a dataset spelled as `train --dataset` spells it.
"""

import argparse
import csv
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from trainer.cli.commands import (
    EXIT_OK,
    _check_writable_directory,
    _highest_verified,
    _print_json,
    _registry,
)
from trainer.cli.values import OptionError
from trainer.errors import DataError
from trainer.registry import LoadedModel, Registry
from trainer.registry.atomic import fsync_dir
from trainer.registry.names import check_name


def predict(args: argparse.Namespace) -> int:
    """Score every row of --input; write labels and probabilities as CSV."""
    from trainer.data.feature_csv import FeatureCsv

    source = Path(args.input)
    output = Path(args.output) if args.output else None
    if args.json and output is None:
        raise OptionError("--json needs --output: without it the CSV goes to stdout")
    if output is not None:
        if output.exists() and source.exists() and os.path.samefile(output, source):
            raise OptionError("--output must not be the --input file")
        if not output.parent.is_dir():
            raise OptionError(f"output directory {str(output.parent)!r} does not exist")
        _check_writable_directory("output", output.parent)
    model = _load(_registry(args), args.name, args.version)
    n_rows = 0
    with FeatureCsv(source, model.n_features) as features:
        _note_columns(model, features.header)
        with _destination(output) as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["label", *(f"probability_{c}" for c in model.classes)])
            for chunk in features.chunks():
                # overflow is reported by the finiteness check, with its line
                with np.errstate(over="ignore", invalid="ignore"):
                    indices, P = model.predict(chunk.X)
                _check_finite(P, chunk.lines, source)
                labels = [model.classes[i] for i in indices.tolist()]
                writer.writerows(zip(labels, *P.T.tolist(), strict=True))
                n_rows += len(labels)
    summary = {
        "name": model.name,
        "version": model.version,
        "rows": n_rows,
        "classes": model.classes,
        "output": str(output) if output else None,
    }
    if args.json:
        _print_json(summary)
    elif output is not None:
        print(f"{model.name} v{model.version}: wrote {n_rows} predictions to {output}")
    return EXIT_OK


def evaluate(args: argparse.Namespace) -> int:
    """Accuracy, log loss and the confusion matrix of a version on a dataset."""
    from trainer.data.datasets import load_dataset

    model = _load(_registry(args), args.name, args.version)
    data = load_dataset(
        args.data,
        n_samples=args.samples,
        noise=args.noise,
        n_classes=args.classes,
        seed=args.seed,
    )
    if data.X.shape[1] != model.n_features:
        raise DataError(
            f"{model.name} v{model.version} takes {model.n_features} features; "
            f"{args.data} has {data.X.shape[1]}"
        )
    truth = _class_indices(model, data.y)
    Z = model.logits(data.X)
    # the service's labels: the argmax of the logits (softmax is monotonic)
    predicted = Z.argmax(axis=1)
    n_classes = len(model.classes)
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    trained = model.manifest.get("training", {}).get("dataset")
    report = {
        "name": model.name,
        "version": model.version,
        "data": data.spec,
        "n_samples": len(truth),
        "accuracy": float(np.mean(predicted == truth)),
        "log_loss": _log_loss(Z, truth),
        "classes": model.classes,
        # rows: the true class, columns: the predicted one, both in `classes` order
        "confusion_matrix": confusion.tolist(),
        # the data the version was trained (and validated) on: scores flatter it
        "includes_training_data": _same_data(data.spec, trained),
    }
    if args.json:
        _print_json(report)
    else:
        print(_evaluation_text(report, args.data))
    return EXIT_OK


def _load(registry: Registry, name: str, version: str | None) -> LoadedModel:
    """The version asked for, or the one the service serves: production if set,
    else the highest version that verifies."""
    check_name(name)
    if version is None and "production" not in registry.aliases(name):
        version = _highest_verified(registry, name)
        if version is None and registry.versions(name):
            # every version fails: load the newest to report why (exit 4)
            version = registry.versions(name)[-1]
    return registry.load(name, version)


def _same_data(spec: dict[str, Any], trained: object) -> bool:
    """Whether `spec` is the dataset a manifest's training recorded: the same
    generator and settings, or a CSV file with the same bytes."""
    if not isinstance(trained, dict):
        return False
    if spec.get("name") == "csv":
        return spec.get("sha256") is not None and spec["sha256"] == trained.get(
            "sha256"
        )
    return spec == trained


def _note_columns(model: LoadedModel, header: list[str] | None) -> None:
    """Say so when the header names other columns than the training data had."""
    dataset = model.manifest.get("training", {}).get("dataset", {})
    columns = dataset.get("columns") if isinstance(dataset, dict) else None
    if header and isinstance(columns, list) and header != columns[:-1]:
        print(
            f"trainer: note: the input's columns {header} are not the training "
            f"data's {columns[:-1]}; they are taken in order",
            file=sys.stderr,
        )


def _check_finite(P: np.ndarray, lines: np.ndarray, source: Path) -> None:
    bad = ~np.isfinite(P).all(axis=1)
    if bad.any():
        line = int(lines[bad.argmax()])
        raise DataError(
            f"{source}, line {line}: the features are too large for the network "
            "(its probabilities overflow); scale them to the training data's range"
        )


@contextmanager
def _destination(output: Path | None) -> Iterator[TextIO]:
    """stdout, or a temporary file beside `output` renamed onto it when complete:
    a reader of `output` sees the old file or the whole new one, never a part."""
    if output is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    temporary = output.with_name(f".{output.name}.tmp-{uuid.uuid4().hex}")
    try:
        with open(temporary, "w", encoding="utf-8", newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, output)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_dir(output.parent)


def _class_indices(model: LoadedModel, y: np.ndarray) -> np.ndarray:
    """Each label's column in the model's output; DataError naming unknown labels."""
    column = {c: i for i, c in enumerate(model.classes)}
    values = y.tolist()
    unknown = sorted({v for v in values if v not in column}, key=str)
    if unknown:
        shown = ", ".join(repr(v) for v in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise DataError(
            f"labels {shown}{more} are not classes of {model.name} v{model.version} "
            f"(classes {model.classes})"
        )
    return np.fromiter((column[v] for v in values), dtype=np.int64, count=len(values))


def _log_loss(Z: np.ndarray, truth: np.ndarray) -> float:
    """Mean cross-entropy from the logits: log-sum-exp minus the true class's logit,
    finite even where a probability underflows to 0."""
    top = Z.max(axis=1, keepdims=True)
    log_sums = np.log(np.exp(Z - top).sum(axis=1)) + top[:, 0]
    return float(np.mean(log_sums - Z[np.arange(len(truth)), truth]))


def _evaluation_text(report: dict[str, Any], spec: str) -> str:
    classes = [str(c) for c in report["classes"]]
    width = max(8, *(len(c) + 2 for c in classes))
    n_correct = round(report["accuracy"] * report["n_samples"])
    lines = [
        f"{report['name']} v{report['version']} on {spec} "
        f"({report['n_samples']} samples)",
        f"accuracy  {report['accuracy']:.4f}  ({n_correct} of {report['n_samples']})",
        f"log loss  {report['log_loss']:.4f}",
        "confusion matrix (rows: true class, columns: predicted class)",
        " " * width + "".join(c.rjust(width) for c in classes),
    ]
    for label, row in zip(classes, report["confusion_matrix"], strict=True):
        lines.append(label.rjust(width) + "".join(str(n).rjust(width) for n in row))
    if report["includes_training_data"]:
        lines.append(
            "note: this is the dataset the version was trained on, so the scores "
            "flatter it; another --seed (or a held-out file) measures it"
        )
    return "\n".join(lines)
