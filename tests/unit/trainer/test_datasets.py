"""Datasets: the tutorial's data bit for bit, CSV reading, the split, the fingerprint,
and every bad-data case with the message a user would read."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
import sklearn.datasets
from sklearn.model_selection import train_test_split

from trainer.data import csv_fast
from trainer.data.datasets import (
    Dataset,
    data_fingerprint,
    load_dataset,
    train_validation_split,
)
from trainer.errors import DataError


def write_csv(tmp_path: Path, text: str, name: str = "data.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return f"csv:{path}"


# --- generated datasets -------------------------------------------------------------


def test_moons_default_is_the_tutorials_data_bit_for_bit() -> None:
    # the tutorial:
    #   np.random.seed(0)
    #   X, y = sklearn.datasets.make_moons(200, noise=0.20)
    np.random.seed(0)
    X_tutorial, y_tutorial = sklearn.datasets.make_moons(200, noise=0.20)

    ds = load_dataset("moons")

    assert ds.X.tobytes() == X_tutorial.tobytes()
    assert np.array_equal(ds.y, y_tutorial)
    assert ds.X.dtype == np.float64 and ds.X.shape == (200, 2)
    assert ds.spec == {"name": "moons", "n_samples": 200, "noise": 0.2, "seed": 0}


def test_dataset_is_frozen() -> None:
    ds = load_dataset("moons", n_samples=10)
    with pytest.raises(AttributeError):
        ds.X = ds.X  # type: ignore[misc]
    assert isinstance(ds, Dataset)


@pytest.mark.parametrize(
    ("spec", "kwargs", "n_classes"),
    [
        ("moons", {"n_samples": 50, "noise": 0.1}, 2),
        ("circles", {"n_samples": 60}, 2),
        ("blobs", {}, 3),
        ("blobs", {"n_classes": 5, "n_samples": 100}, 5),
    ],
)
def test_generated_datasets_have_the_requested_shape_and_classes(
    spec: str, kwargs: dict, n_classes: int
) -> None:
    ds = load_dataset(spec, **kwargs)

    n_samples = kwargs.get("n_samples", 200)
    assert ds.X.shape == (n_samples, 2)
    assert ds.y.shape == (n_samples,)
    assert np.array_equal(np.unique(ds.y), np.arange(n_classes))
    assert ds.spec["name"] == spec and ds.spec["n_samples"] == n_samples


def test_same_seed_same_bytes_other_seed_other_data() -> None:
    a = load_dataset("circles", seed=3)
    b = load_dataset("circles", seed=3)
    c = load_dataset("circles", seed=4)

    assert a.X.tobytes() == b.X.tobytes()
    assert a.X.tobytes() != c.X.tobytes()
    assert a.spec == {
        "name": "circles",
        "n_samples": 200,
        "noise": 0.1,
        "factor": 0.5,
        "seed": 3,
    }


@pytest.mark.parametrize(
    ("spec", "kwargs", "message"),
    [
        ("spirals", {}, "unknown dataset 'spirals'; expected one of moons, circles"),
        ("csv:", {}, "dataset 'csv:' needs a path"),
        ("moons", {"n_samples": 0}, "n_samples must be a positive integer, got 0"),
        ("moons", {"noise": -0.1}, "noise must be a finite number >= 0, got -0.1"),
        ("moons", {"noise": float("nan")}, "noise must be a finite number >= 0"),
        ("moons", {"n_classes": 3}, "moons has exactly 2 classes, got n_classes=3"),
        ("blobs", {"n_classes": 1}, "blobs needs n_classes >= 2, got 1"),
        ("moons", {"seed": -1}, "seed must be an integer in [0, 2**32), got -1"),
        ("moons", {"n_samples": 1}, "every sample has label 1; a classifier needs"),
    ],
)
def test_bad_generated_spec_fails_clearly(
    spec: str, kwargs: dict, message: str
) -> None:
    with pytest.raises(DataError) as excinfo:
        load_dataset(spec, **kwargs)
    assert message in str(excinfo.value)


# --- CSV ----------------------------------------------------------------------------


def test_csv_with_header_and_integer_labels(tmp_path: Path) -> None:
    spec = write_csv(tmp_path, "x1,x2,label\n0.5,1,0\n-1.5,2e-3,1\n\n3,4,1\n")

    ds = load_dataset(spec)

    assert np.array_equal(ds.X, [[0.5, 1.0], [-1.5, 0.002], [3.0, 4.0]])
    assert ds.y.dtype == np.int64 and ds.y.tolist() == [0, 1, 1]
    assert ds.spec["columns"] == ["x1", "x2", "label"]
    assert ds.spec["n_samples"] == 3 and ds.spec["n_features"] == 2


def test_csv_without_header_and_string_labels(tmp_path: Path) -> None:
    spec = write_csv(tmp_path, "1,2,3,cat\n4,5,6,dog\n7,8,9,1\n")

    ds = load_dataset(spec)

    assert ds.X.shape == (3, 3)
    # one label is not an integer, so all stay strings as written
    assert ds.y.tolist() == ["cat", "dog", "1"]
    assert ds.spec["columns"] is None


def test_csv_with_byte_order_mark_and_spaces(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffx, y, class\n 1 , 2 , a\n3,4, b\n".encode())

    ds = load_dataset(f"csv:{path}")

    assert ds.spec["columns"] == ["x", "y", "class"]
    assert ds.y.tolist() == ["a", "b"]


def test_csv_spec_records_the_file_hash(tmp_path: Path) -> None:
    first = load_dataset(write_csv(tmp_path, "1,2,0\n3,4,1\n"))
    second = load_dataset(write_csv(tmp_path, "1,2,0\n3,5,1\n"))

    assert len(first.spec["sha256"]) == 64
    assert first.spec["sha256"] != second.spec["sha256"]
    # the hash of the file's bytes, so `sha256sum` on the file checks it
    content = (tmp_path / second.spec["file"]).read_bytes()
    assert second.spec["sha256"] == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty; expected feature columns, then a label"),
        ("\n\n", "is empty"),
        ("x,y,label\n", "has a header (line 1) but no data rows"),
        ("1\n2\n", "line 1: 1 column; expected at least one feature column"),
        (
            "a;b;c\n1;2;0\n",
            "1 column; expected at least one feature column, then a "
            "label column; the line is separated by ';', and scratchnet reads "
            "comma-separated files: convert it (e.g. `tr ';' ','`)",
        ),
        (
            "x\ty\tc\n1\t2\t0\n",
            "1 column; expected at least one feature column, "
            "then a label column; the line is separated by tabs",
        ),
        ("1,2,0\n3,4,0\n", "every sample has label 0; a classifier needs at least two"),
        ("1,2,a\n3,4,a\n", "every sample has label 'a'"),
        ("1,2,0\n3,4,1\n5,6\n", "line 3: 2 columns, expected 3 as on line 1"),
        ("x,y,c\n1,2,0\n\n3,4,1,9\n", "line 4: 4 columns, expected 3 as on line 1"),
        ("x,y,c\n1,2,0\n3,abc,1\n", "line 3, column 2 ('y'): 'abc' is not a number"),
        ("1,2,0\n3,abc,1\n", "line 2, column 2: 'abc' is not a number"),
        ("x,y,c\n1,2,0\nnan,4,1\n", "line 3, column 1 ('x'): 'nan' is not a finite"),
        ("x,y,c\n1,2,0\n3,-inf,1\n", "line 3, column 2 ('y'): '-inf' is not a finite"),
        ("x,y,c\n1,,0\n3,4,1\n", "line 2, column 2 ('y'): empty value"),
        ("x,y,c\n1,2,0\n3,4, \n", "line 3, column 3 ('c'): empty label"),
        ('x,y,c\n1,2,0\n3,4,"1\n', "line 3: unexpected end of data"),
        ('x,y,c\n1,2,0\n3,4,"1"x\n', "line 3: ',' expected after '\"'"),
        # float() reads "2_0" as 20; in a data file it is a typo
        ("x,y,c\n1,2_0,0\n3,4,1\n", "line 2, column 2 ('y'): '2_0' is not a number"),
        ("1,2_5,0\n3,4,1\n", "line 1, column 2: '2_5' is not a number"),
        ("x,2,c\n1,2,0\n3,4,1\n", "none of its feature names may look like a number"),
    ],
)
def test_bad_csv_fails_naming_the_line_or_column(
    tmp_path: Path, text: str, message: str
) -> None:
    spec = write_csv(tmp_path, text)
    with pytest.raises(DataError) as excinfo:
        load_dataset(spec)
    assert message in str(excinfo.value)


def test_csv_line_numbers_count_file_lines_across_quoted_newlines(
    tmp_path: Path,
) -> None:
    spec = write_csv(tmp_path, 'x,y,c\n1,2,"a\nb"\n3,oops,c\n')
    with pytest.raises(DataError, match=r"line 4, column 2 \('y'\): 'oops'"):
        load_dataset(spec)


def test_missing_csv_file_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read .*nope.csv: No such file"):
        load_dataset(f"csv:{tmp_path / 'nope.csv'}")


def test_binary_file_is_not_read_as_csv(tmp_path: Path) -> None:
    path = tmp_path / "weights.npz"
    path.write_bytes(b"PK\x03\x04\xff\xfe\x00")
    with pytest.raises(DataError, match="is not UTF-8 text"):
        load_dataset(f"csv:{path}")


def test_csv_takes_no_generator_options(tmp_path: Path) -> None:
    spec = write_csv(tmp_path, "1,2,0\n3,4,1\n")
    with pytest.raises(DataError, match="apply to generated datasets only"):
        load_dataset(spec, n_samples=10)


# --- split --------------------------------------------------------------------------


def test_split_is_stratified_disjoint_and_reproducible() -> None:
    ds = load_dataset("blobs", n_samples=300, n_classes=3)

    X_train, X_val, y_train, y_val = train_validation_split(ds.X, ds.y, 0.2, seed=1)
    again = train_validation_split(ds.X, ds.y, 0.2, seed=1)
    other = train_validation_split(ds.X, ds.y, 0.2, seed=2)

    assert len(X_val) == 60 and len(X_train) == 240
    assert np.bincount(y_val).tolist() == [20, 20, 20]
    rows = {tuple(row) for row in np.vstack([X_train, X_val])}
    assert len(rows) == 300
    assert X_val.tobytes() == again[1].tobytes()
    assert X_val.tobytes() != other[1].tobytes()


def test_split_keeps_string_labels_with_their_rows(tmp_path: Path) -> None:
    lines = [f"{i},{i * 10},{'ab'[i % 2]}" for i in range(10)]
    ds = load_dataset(write_csv(tmp_path, "\n".join(lines)))

    X_train, X_val, y_train, y_val = train_validation_split(ds.X, ds.y, 0.4)

    for X, y in ((X_train, y_train), (X_val, y_val)):
        assert y.tolist() == ["ab"[int(x) % 2] for x in X[:, 0]]


@pytest.mark.parametrize("n_samples", [7, 200, 201, 3001])
@pytest.mark.parametrize("labels", ["ab", "abc", "abcde"])
@pytest.mark.parametrize("fraction", [0.2, 0.25, 0.5])
@pytest.mark.parametrize("seed", [0, 17])
def test_split_draws_what_train_test_split_draws(
    n_samples: int, labels: str, fraction: float, seed: int
) -> None:
    # the manifest's sha256 and every metric depend on the split: it must stay the
    # one scikit-learn's stratified train_test_split makes, ties and strings included
    rng = np.random.default_rng(n_samples + seed)
    X = rng.normal(size=(n_samples, 2))
    y = np.array(list(labels))[rng.integers(0, len(labels), n_samples)]
    if len(labels) == 2:
        y = (y == "b").astype(np.int64)
    try:
        expected = train_test_split(
            X, y, test_size=fraction, stratify=y, random_state=seed
        )
    except ValueError:
        # a class too small to stratify: refused here too, in the CLI's words
        with pytest.raises(DataError):
            train_validation_split(X, y, fraction, seed=seed)
        return

    got = train_validation_split(X, y, fraction, seed=seed)

    for ours, theirs in zip(got, expected, strict=True):
        assert ours.dtype == theirs.dtype
        assert np.array_equal(ours, theirs)


def test_split_parts_are_views_of_one_copy() -> None:
    # memory bounded by the data: the split costs one copy, not two
    ds = load_dataset("moons", n_samples=1000)

    X_train, X_val, y_train, y_val = train_validation_split(ds.X, ds.y)

    assert X_train.base is X_val.base and X_train.base is not ds.X
    assert y_train.base is y_val.base
    assert X_train.flags.c_contiguous and X_val.flags.c_contiguous


@pytest.mark.parametrize(
    ("y", "fraction", "message"),
    [
        ([0, 0, 0, 1, 1, 2], 0.5, "class 2 has only 1 sample; the stratified"),
        (["a", "a", "b"], 0.5, "class 'b' has only 1 sample"),
        ([0, 0, 0, 0], 0.5, "every sample has label 0"),
        ([0, 0, 1, 1], 0.0, "validation_fraction must be between 0 and 1, got 0.0"),
        ([0, 0, 1, 1], 1.0, "validation_fraction must be between 0 and 1, got 1.0"),
        ([0, 0, 1, 1, 1, 1], 0.1, "leaves 5 for training and 1 for validation"),
    ],
)
def test_split_fails_clearly(y: list, fraction: float, message: str) -> None:
    X = np.arange(2 * len(y), dtype=float).reshape(-1, 2)
    with pytest.raises(DataError) as excinfo:
        train_validation_split(X, np.array(y), fraction)
    assert message in str(excinfo.value)


def test_split_rejects_mismatched_arrays() -> None:
    with pytest.raises(DataError, match=r"got X \(4, 2\) and y \(3,\)"):
        train_validation_split(np.zeros((4, 2)), np.array([0, 1, 0]))


# --- fingerprint --------------------------------------------------------------------


def test_fingerprint_is_stable_and_sensitive_to_every_value() -> None:
    ds = load_dataset("moons")
    base = data_fingerprint(ds.X, ds.y)

    X2 = ds.X.copy()
    X2[123, 1] = np.nextafter(X2[123, 1], np.inf)
    y2 = ds.y.copy()
    y2[7] = 1 - y2[7]

    assert data_fingerprint(ds.X.copy(), ds.y.copy()) == base
    assert data_fingerprint(X2, ds.y)["sha256"] != base["sha256"]
    assert data_fingerprint(ds.X, y2)["sha256"] != base["sha256"]
    # the same bytes in another shape are other data
    reshaped = data_fingerprint(ds.X.reshape(100, 4), ds.y[:100])
    assert reshaped["sha256"] != base["sha256"]
    assert base["feature_min"] == ds.X.min(axis=0).tolist()
    assert base["feature_max"] == ds.X.max(axis=0).tolist()


def test_fingerprint_does_not_depend_on_memory_layout_or_int_width() -> None:
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    y = np.array([0, 1, 0])

    assert data_fingerprint(X, y) == data_fingerprint(
        np.asfortranarray(X), y.astype(np.int32)
    )


def test_fingerprint_of_string_labels() -> None:
    X = np.zeros((2, 1))
    a = data_fingerprint(X, np.array(["a", "b"]))
    b = data_fingerprint(X, np.array(["a", "c"]))

    assert a["sha256"] != b["sha256"]
    assert a["feature_min"] == [0.0] and a["feature_max"] == [0.0]


def test_csv_spec_names_the_file_without_its_directory(tmp_path: Path) -> None:
    # the spec goes into the manifest, which the service serves over HTTP
    dataset = load_dataset(write_csv(tmp_path, "1,2,0\n3,4,1\n", name="points.csv"))
    assert dataset.spec["file"] == "points.csv"
    assert str(tmp_path) not in repr(dataset.spec)


# --- the CSV reader's fast path (numpy's C parser) against the line-by-line one -----

# files the fast path reads itself: it must give exactly the slow path's dataset
FAST_FILES = [
    b"x1,x2,label\n0.5,1,0\n-1.5,2e-3,1\n\n3,4,1\n",
    b"1,2,3,cat\n4,5,6,dog\n7,8,9,1\n",
    b"\xef\xbb\xbfa,b,class\n 1.5 , 2 , yes \n3,4,no\n",  # BOM, spaces
    b"x,y,c\r\n1,2,0\r\n3,4,1\r\n",  # CRLF
    b"x,y,c\n1,2,0\n3,4,1",  # no trailing newline
    b"x,y,c\n1,2,0\n3,4,1\n\n\n",  # trailing blank lines
    b"\n\nx,y,c\n1,2,+1\n3,4,-1\n",  # blank lines first, signed labels
    b"1,2,01\n3,4,2\n",  # "01" is the integer 1
    b"1,2,1.0\n3,4,2\n",  # "1.0" is a string label
    b"1e3,-.5,a\n5.,1E-2,b\n",
    b"x,y,c\n0.1,0.2,\xc3\xa9t\xc3\xa9\n0.3,0.4,hiver\n",  # UTF-8 labels
    b"1\xc2\xa0,2,\xc2\xa0yes\n3,4,no\xc2\xa0\n",  # no-break spaces, stripped
    b"1,2,\xc2\xa01\n3,4,0\xc2\xa0\n",
]

# files that must fail, with the slow path's message (or be read by it)
BAD_FILES = [
    b"",
    b"\n\n",
    b"x,y,label\n",
    b"x,y,label\n\n",
    b"1\n2\n",
    b"1,2,0\n3,4,0\n",
    b"1,2,a\n3,4,a\n",
    b"1,2,0\n3,4,1\n5,6\n",
    b"x,y,c\n1,2,0\n\n3,4,1,9\n",
    b"x,y,c\n1,2,0\n3,abc,1\n",
    b"x,y,c\n1,2,0\n3,4,1\n,,\n5,6,0\n",  # a row of empty cells is skipped
    b"x,y,c\n1,2,0\n   \n3,4,1\n",  # so is a line of spaces
    b"x,y,c\n1,2,0\nnan,4,1\n",
    b"x,y,c\n1,2,0\nNaN,4,1\n",
    b"x,y,c\n1,2,0\n3,-inf,1\n",
    b"x,y,c\n1,2,0\n3,Infinity,1\n",
    b"x,y,c\n1,2,0\n3,1e400,1\n",
    b"x,y,c\n1,,0\n3,4,1\n",
    b"x,y,c\n1,2,0\n3,4, \n",
    b"x,y,c\n1,2,0\n3,4,\n",
    b"x,y,c\n1,2,a\n3,4,\n",
    b'x,y,c\n1,2,0\n3,4,"1\n',
    b'x,y,c\n1,2,0\n3,4,"1"x\n',
    b'x,y,c\n"1",2,0\n3,"4",1\n',  # quoted cells are read by the slow path
    b'x,y,c\n1,2,"a\nb"\n3,oops,c\n',
    b"x,y,c\n1,2_0,0\n3,4,1\n",
    b"x,2,c\n1,2,0\n3,4,1\n",
    b"x;y;c\n1;2;0\n3;4;1\n",  # semicolons: one column
    b"x,y,c\n1;2,0\n3,4,1\n",
    b"x,y,c\n1,2,0\r3,4,1\r",  # old Mac line ends
    b"x,y,c\n1,2,0\n3,4,1\x00\n",
    b"x,y,c\n1,2,0\n3,4,99999999999999999999\n",
    b"x,y,c\n1,2,0\n# comment\n3,4,1\n",
    b"x,y,c\n0x10,2,0\n3,4,1\n",
    b"\xff\xfe1,2,0\n",
    "1,2,\u0663\n3,4,0\n".encode(),  # Arabic-Indic digits: int() reads them
    "\u0661,2,0\n3,4,1\n".encode(),  # ... and float()
]


def _load_both(
    tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch
) -> tuple[object, object]:
    """(fast, slow) outcome of one file: a Dataset, or the error's message."""
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    outcomes = []
    for eligible in (csv_fast.eligible, lambda text: False):
        monkeypatch.setattr(csv_fast, "eligible", eligible)
        try:
            outcomes.append(load_dataset(f"csv:{path}"))
        except (DataError, OverflowError) as e:
            outcomes.append(f"{type(e).__name__}: {e}")
    return outcomes[0], outcomes[1]


def _assert_same_dataset(fast: Dataset, slow: Dataset) -> None:
    assert fast.X.dtype == slow.X.dtype == np.float64
    assert fast.X.shape == slow.X.shape and fast.X.flags.c_contiguous
    np.testing.assert_array_equal(fast.X, slow.X)
    assert fast.X.tobytes() == slow.X.tobytes()
    assert fast.y.dtype == slow.y.dtype
    assert fast.y.tolist() == slow.y.tolist()
    assert fast.spec == slow.spec


@pytest.mark.parametrize("content", FAST_FILES)
def test_fast_path_reads_what_the_slow_path_reads(
    tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered = []
    parse = csv_fast.parse

    def spy(*args: object) -> object:
        answered.append(parse(*args) is not None)  # type: ignore[arg-type]
        return parse(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(csv_fast, "parse", spy)
    fast, slow = _load_both(tmp_path, content, monkeypatch)
    assert answered == [True]  # the fast path read it, not the fallback
    assert isinstance(fast, Dataset) and isinstance(slow, Dataset)
    _assert_same_dataset(fast, slow)


@pytest.mark.parametrize("content", BAD_FILES)
def test_fast_path_fails_or_reads_exactly_as_the_slow_path(
    tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = _load_both(tmp_path, content, monkeypatch)
    if isinstance(slow, Dataset):
        assert isinstance(fast, Dataset)
        _assert_same_dataset(fast, slow)
    else:
        assert fast == slow


def test_fast_path_on_a_large_file_matches_the_slow_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = sklearn.datasets.make_moons(5_000, noise=0.2, random_state=0)
    lines = [
        f"{float(a)!r},{b:.6f},{label}" for (a, b), label in zip(X, y, strict=True)
    ]
    content = ("x1,x2,label\n" + "\n".join(lines) + "\n").encode()
    fast, slow = _load_both(tmp_path, content, monkeypatch)
    assert isinstance(fast, Dataset) and isinstance(slow, Dataset)
    _assert_same_dataset(fast, slow)
    assert fast.X[:, 0].tolist() == X[:, 0].tolist()  # repr round-trips exactly
