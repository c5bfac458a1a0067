"""Training data: the tutorial's moons, circles, blobs and CSV files, plus the split.

Everything the trainer fits goes through `load_dataset`, so bad data is caught once,
here, with a message that names the line or column, before any training or publishing.
"""

import array
import csv
import hashlib
import io
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainer.data import csv_fast
from trainer.errors import DataError

Array = np.ndarray

GENERATED = ("moons", "circles", "blobs")
DEFAULT_N_SAMPLES = 200
# moons: the tutorial's noise; circles: scikit-learn's example value; blobs: the
# standard deviation of each cluster (make_blobs' cluster_std default)
DEFAULT_NOISE = {"moons": 0.2, "circles": 0.1, "blobs": 1.0}
DEFAULT_BLOBS_CLASSES = 3
CIRCLES_FACTOR = 0.5
# float64 values in a 64-byte cache line: rows up to this wide have their feature
# ranges taken column by column (feature_range)
_FEW_COLUMNS = 8


@dataclass(frozen=True)
class Dataset:
    """Features, labels, and a JSON-able description for the manifest.

    X : (n_samples, n_features) float64
    y : (n_samples,) labels, ints or strings
    spec : how the data was made or read, e.g. {"name": "moons", "n_samples": 200, ...}
    """

    X: Array
    y: Array
    spec: dict[str, Any]


def load_dataset(
    spec: str,
    *,
    n_samples: int | None = None,
    noise: float | None = None,
    n_classes: int | None = None,
    seed: int = 0,
) -> Dataset:
    """Build a generated dataset or read a CSV file.

    spec is "moons", "circles", "blobs" or "csv:PATH". The generated datasets take
    n_samples (default 200), noise (for blobs: each cluster's standard deviation),
    n_classes (blobs only, default 3) and seed. "moons" with the defaults is the
    tutorial's data, make_moons(200, noise=0.20) after np.random.seed(0).
    """
    if spec.startswith("csv:"):
        if n_samples is not None or noise is not None or n_classes is not None:
            raise DataError(
                "n_samples, noise and n_classes apply to generated datasets only; "
                f"{spec!r} is read as it is"
            )
        path = spec.removeprefix("csv:")
        if not path:
            raise DataError("dataset 'csv:' needs a path, e.g. csv:data/points.csv")
        return _read_csv(Path(path))
    if spec not in GENERATED:
        raise DataError(
            f"unknown dataset {spec!r}; expected one of moons, circles, blobs, csv:PATH"
        )
    return _generate(spec, n_samples, noise, n_classes, seed)


def train_validation_split(
    X: Array, y: Array, validation_fraction: float = 0.2, seed: int = 0
) -> tuple[Array, Array, Array, Array]:
    """Stratified split into (X_train, X_val, y_train, y_val), reproducible by seed."""
    X, y = np.asarray(X), np.asarray(y)
    _check_xy(X, y)
    if not 0.0 < validation_fraction < 1.0:
        raise DataError(
            f"validation_fraction must be between 0 and 1, got {validation_fraction}"
        )
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise DataError(_one_class_message(classes[0]))
    for label, count in zip(classes, counts, strict=True):
        if count < 2:
            raise DataError(
                f"class {_show(label)} has only {count} sample; the stratified "
                "train/validation split needs at least 2 samples of every class"
            )
    # the same sizes train_test_split computes, checked here to say what to change
    n_validation = math.ceil(validation_fraction * len(y))
    n_train = len(y) - n_validation
    if min(n_validation, n_train) < len(classes):
        raise DataError(
            f"validation_fraction {validation_fraction} of {len(y)} samples leaves "
            f"{n_train} for training and {n_validation} for validation, and each part "
            f"needs every one of the {len(classes)} classes: add data or change "
            "validation_fraction"
        )
    # gathered once in the order [training..., validation...]: both parts are views
    # of that one copy, which a caller keeps in place of the data
    order = np.concatenate(_stratified_indices(y, n_train, n_validation, seed))
    # take, not X[order]: the same rows, 5x faster for a few columns (0.012 s
    # against 0.063 s at 1,000,000 points)
    X_split, y_split = X.take(order, axis=0), y.take(order)
    return X_split[:n_train], X_split[n_train:], y_split[:n_train], y_split[n_train:]


def _stratified_indices(
    y: Array, n_train: int, n_validation: int, seed: int
) -> tuple[Array, Array]:
    """The (train, validation) indices train_test_split(stratify=y) draws.

    The same steps and random draws as scikit-learn's StratifiedShuffleSplit, which
    collects the indices in Python lists of numpy scalars: about 40 bytes a sample
    and most of the split's time at a million points; here they stay in arrays.
    tests/unit/trainer/test_datasets.py pins the equality.
    """
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    members = np.split(np.argsort(codes, kind="stable"), np.cumsum(counts)[:-1])
    del codes
    # scikit-learn costs a second to import: only the commands that draw data pay it
    from sklearn.utils.extmath import _approximate_mode

    rng = np.random.RandomState(seed)
    n_train_of = _approximate_mode(counts, n_train, rng)
    n_validation_of = _approximate_mode(counts - n_train_of, n_validation, rng)
    train, validation = [], []
    for i, class_members in enumerate(members):
        shuffled = class_members.take(rng.permutation(counts[i]), mode="clip")
        train.append(shuffled[: n_train_of[i]])
        validation.append(shuffled[n_train_of[i] : n_train_of[i] + n_validation_of[i]])
    return rng.permutation(np.concatenate(train)), rng.permutation(
        np.concatenate(validation)
    )


def data_fingerprint(X: Array, y: Array) -> dict[str, Any]:
    """sha256 of the arrays' canonical bytes and each feature's range.

    The hash covers shapes, X as little-endian float64 and y as little-endian int64
    (integer labels) or JSON strings (any other labels), so equal data gives an
    equal hash on every platform.
    """
    X, y = np.asarray(X), np.asarray(y)
    _check_xy(X, y)
    X = np.ascontiguousarray(X, dtype="<f8")
    integer_labels = y.dtype.kind in "iub"
    digest = hashlib.sha256()
    header = {"X": list(X.shape), "y": "int64" if integer_labels else "str"}
    digest.update(json.dumps(header, sort_keys=True).encode())
    # the arrays' own buffers (contiguous little-endian already): no bytes copy
    digest.update(X)
    if integer_labels:
        digest.update(np.ascontiguousarray(y, dtype="<i8"))
    else:
        digest.update(json.dumps([str(label) for label in y]).encode())
    low, high = feature_range(X)
    return {
        "sha256": digest.hexdigest(),
        "feature_min": low.tolist(),
        "feature_max": high.tolist(),
    }


def feature_range(X: Array) -> tuple[Array, Array]:
    """Each feature's (min, max) over X (n_samples, n_features): two (n_features,)."""
    if X.shape[1] > _FEW_COLUMNS:
        # wide rows: axis 0 is the fast way, and strided columns would each read
        # a cache line per value
        return X.min(axis=0), X.max(axis=0)
    # column by column: a reduction over axis 0 of a few-column array runs its
    # inner loop along the short rows, 50x slower (0.05 s against 0.001 s for the
    # four of a 1,000,000-point run); min and max are exact either way
    columns = [X[:, j] for j in range(X.shape[1])]
    return (
        np.array([column.min() for column in columns], dtype=X.dtype),
        np.array([column.max() for column in columns], dtype=X.dtype),
    )


def _generate(
    name: str,
    n_samples: int | None,
    noise: float | None,
    n_classes: int | None,
    seed: int,
) -> Dataset:
    n_samples = DEFAULT_N_SAMPLES if n_samples is None else n_samples
    noise = DEFAULT_NOISE[name] if noise is None else noise
    if not _is_int(n_samples) or n_samples < 1:
        raise DataError(f"n_samples must be a positive integer, got {n_samples!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise DataError(f"noise must be a finite number >= 0, got {noise!r}")
    if not _is_int(seed) or not 0 <= seed < 2**32:
        raise DataError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    from sklearn.datasets import make_blobs, make_circles, make_moons  # a second

    spec: dict[str, Any] = {"name": name, "n_samples": n_samples, "noise": noise}
    if name == "blobs":
        n_classes = DEFAULT_BLOBS_CLASSES if n_classes is None else n_classes
        if not _is_int(n_classes) or n_classes < 2:
            raise DataError(f"blobs needs n_classes >= 2, got {n_classes!r}")
        X, y = make_blobs(
            n_samples,
            n_features=2,
            centers=n_classes,
            cluster_std=noise,
            random_state=seed,
        )
        spec["n_classes"] = n_classes
    else:
        if n_classes not in (None, 2):
            raise DataError(f"{name} has exactly 2 classes, got n_classes={n_classes}")
        if name == "moons":
            X, y = make_moons(n_samples, noise=noise, random_state=seed)
        else:
            X, y = make_circles(
                n_samples, noise=noise, factor=CIRCLES_FACTOR, random_state=seed
            )
            spec["factor"] = CIRCLES_FACTOR
    spec["seed"] = seed
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = y.astype(np.int64)
    # one class when every label is the first: no sort of a million labels
    if not (y != y[0]).any():
        where = f"{name} with n_samples={n_samples}"
        raise DataError(f"{where}: {_one_class_message(y[0])}")
    return Dataset(X=X, y=y, spec=spec)


def _read_csv(path: Path) -> Dataset:
    """Feature columns then a label column; the first row is a header when none of
    its feature cells is a number. Blank lines are skipped; line numbers are 1-based
    lines of the file.

    The whole file is first parsed by numpy's C parser (csv_fast); only when that
    cannot answer (bad data, quotes...) are rows parsed one by one, straight into a
    flat float buffer, to read them or to name the line and column of the problem.
    """
    content = _read_bytes(path)
    text = _decode(path, content)
    rows = _csv_rows(path, text)
    first_line, first = next(rows, (0, []))
    if not first:
        raise DataError(f"{path} is empty; expected feature columns, then a label")
    n_columns = len(first)
    if n_columns < 2:
        raise DataError(
            f"{path}, line {first_line}: 1 column; expected at least one feature "
            f"column, then a label column{_delimiter_hint(first[0])}"
        )
    header = None
    if all(_number_or_none(cell) is None for cell in first[:-1]):
        header = [cell.strip() for cell in first]
    else:
        for j, cell in enumerate(first[:-1]):
            if _number_or_none(cell) is None:
                # half numbers, half names: a header with a numeric-looking name, or
                # a data row with a typo; either way, say what the rule is
                raise DataError(
                    f"{path}, line {first_line}, {_column(j, None)}: {cell.strip()!r} "
                    "is not a number; if this line is a header, none of its feature "
                    "names may look like a number"
                )
        rows = itertools.chain([(first_line, first)], rows)
    n_features = n_columns - 1
    # the header's line, or the blank lines before the first data row
    skiprows = first_line if header else first_line - 1
    fast = (
        csv_fast.parse(text, skiprows, n_features) if csv_fast.eligible(text) else None
    )
    X, y = (
        fast
        if fast is not None
        else _parse_rows(path, rows, first_line, n_columns, header)
    )
    if len(np.unique(y)) < 2:
        raise DataError(f"{path}: " + _one_class_message(y[0]))
    spec = {
        "name": "csv",
        # the file's name, not its path: manifests are served over HTTP and a path
        # tells a caller about the training machine; the sha256 identifies the bytes
        "file": path.name,
        # the bytes that were parsed: a file replaced meanwhile cannot mislabel them
        "sha256": hashlib.sha256(content).hexdigest(),
        "n_samples": len(y),
        "n_features": n_features,
        "columns": header,
    }
    return Dataset(X=X, y=y, spec=spec)


def _parse_rows(
    path: Path,
    rows: Iterator[tuple[int, list[str]]],
    first_line: int,
    n_columns: int,
    header: list[str] | None,
) -> tuple[Array, Array]:
    """The slow path: (X, y) row by row, or the DataError naming line and column."""
    values = array.array("d")
    labels: list[str] = []
    for line, row in rows:
        if len(row) != n_columns:
            raise DataError(
                f"{path}, line {line}: {len(row)} columns, expected {n_columns} "
                f"as on line {first_line}"
            )
        for j, cell in enumerate(row[:-1]):
            values.append(_parse_feature(cell, path, line, j, header))
        label = row[-1].strip()
        if not label:
            raise DataError(
                f"{path}, line {line}, {_column(n_columns - 1, header)}: empty label"
            )
        labels.append(label)
    if not labels:
        raise DataError(f"{path} has a header (line {first_line}) but no data rows")
    X = np.frombuffer(values, dtype=np.float64).reshape(len(labels), n_columns - 1)
    if all(csv_fast.INTEGER.fullmatch(label) for label in labels):
        y = np.array([int(label) for label in labels], dtype=np.int64)
    else:
        y = np.array(labels, dtype=str)
    return X, y


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}") from e


def _decode(path: Path, content: bytes) -> str:
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not UTF-8 text (byte {e.start})") from e


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows of the file's text, with the file line each ends on."""
    # strict: a stray or unclosed quote is an error, not a silently odd row
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                yield reader.line_num, row
    except csv.Error as e:
        raise DataError(f"{path}, line {reader.line_num}: {e}") from e


def _parse_feature(
    cell: str, path: Path, line: int, j: int, header: list[str] | None
) -> float:
    """One feature cell as a float; the place is only spelled out for an error."""
    value = _number_or_none(cell)
    if value is None:
        text = cell.strip()
        problem = "empty value" if not text else f"{text!r} is not a number"
        raise DataError(f"{path}, line {line}, {_column(j, header)}: {problem}")
    if not math.isfinite(value):
        raise DataError(
            f"{path}, line {line}, {_column(j, header)}: {cell.strip()!r} is not a "
            "finite number"
        )
    return value


def _number_or_none(cell: str) -> float | None:
    """float(cell), or None where it is not a number (surrounding spaces allowed)."""
    # Python's float() also reads "1_000" as 1000: in a data file that is a typo
    if "_" in cell:
        return None
    try:
        return float(cell)
    except ValueError:
        return None


def _is_int(value: Any) -> bool:
    # bool is an int subclass, but n_samples=True is a mistake, not 1
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _delimiter_hint(cell: str) -> str:
    """What to do when a lone column holds another delimiter: say which one."""
    for delimiter, name in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
        if delimiter in cell:
            return (
                f"; the line is separated by {name}, and scratchnet reads "
                "comma-separated files: convert it (e.g. `tr ';' ','`)"
                if delimiter == ";"
                else f"; the line is separated by {name}, and scratchnet reads "
                "comma-separated files: convert it to commas"
            )
    return ""


def _column(j: int, header: list[str] | None) -> str:
    return f"column {j + 1}" + (f" ({header[j]!r})" if header else "")


def _check_xy(X: Array, y: Array) -> None:
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise DataError(
            f"X must be (n_samples, n_features) and y (n_samples,), got X {X.shape} "
            f"and y {y.shape}"
        )
    if len(y) == 0:
        raise DataError("the dataset has no samples")


def _one_class_message(label: Any) -> str:
    return (
        f"every sample has label {_show(label)}; a classifier needs at least two "
        "classes"
    )


def _show(label: Any) -> str:
    """A label as the user wrote it: 1 or 'a', not np.int64(1)."""
    return repr(label.item() if isinstance(label, np.generic) else label)
