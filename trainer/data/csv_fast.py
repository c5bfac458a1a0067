"""The CSV reader's fast path: numpy's C parser (loadtxt) over the whole file at once.

It only ever answers for files it reads exactly as the line-by-line reader would, and
returns None for anything else, bad data included: the caller then runs the slow
reader, which gives the same arrays or the error naming the line and column.
"""

import io
import re
import warnings

import numpy as np

Array = np.ndarray

# a label the slow reader turns into an int
INTEGER = re.compile(r"[+-]?[0-9]+")


def eligible(text: str) -> bool:
    """Whether the file has none of what numpy's parser reads differently.

    Quotes (numpy does not unquote), underscores (float("1_0") is rejected by the
    slow reader as a typo), NUL bytes (csv rejects them) and a carriage return that
    does not end a line (csv starts a new row there, numpy does not).
    """
    if '"' in text or "_" in text or "\0" in text:
        return False
    return text.count("\r") == text.count("\r\n")


def parse(text: str, skiprows: int, n_features: int) -> tuple[Array, Array] | None:
    """(X, y) of the rows after the first skiprows lines, or None to use the slow path.

    Labels are tried as integers first, the common case, in one pass over the file;
    then as Python strings, with a second pass (the first is short when the first
    label is already not an integer: numpy stops at the first cell it cannot read).
    """
    features = ("X", "f8", (n_features,))
    for label in ("i8", "O"):
        try:
            with warnings.catch_warnings():
                # "input contained no data" and any deprecation: let the slow path say
                warnings.simplefilter("error")
                rows = np.loadtxt(
                    io.StringIO(text),
                    dtype=np.dtype([features, ("y", label)]),
                    delimiter=",",
                    comments=None,
                    skiprows=skiprows,
                    ndmin=1,
                )
        except (ValueError, Warning):
            continue
        X = np.ascontiguousarray(rows["X"], dtype=np.float64)
        if len(X) == 0 or not np.isfinite(X).all():
            return None
        y = _labels(rows["y"])
        return None if y is None else (X, y)
    return None


def _labels(raw: Array) -> Array | None:
    """Labels as the slow reader makes them: int64, or str stripped of spaces."""
    if raw.dtype.kind == "i":
        return raw.astype(np.int64, copy=False)
    labels = [label.strip() for label in raw.tolist()]
    if not all(labels):
        return None  # an empty label: the slow path names its line
    if all(INTEGER.fullmatch(label) for label in labels):
        return None  # integers numpy would not read (e.g. too large): slow path
    return np.array(labels, dtype=str)
