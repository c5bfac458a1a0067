"""`python -m trainer predict` and `evaluate`: the service's answers, offline.

Seeded networks are published without training (fast); every expected prediction is
recomputed from the published weights.npz by `forward_from_disk`, not by the code
under test.
"""

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.registry_samples import corrupt_copy, forward_from_disk
from tests.helpers.registry_samples import publish_network as publish
from trainer.cli.main import main
from trainer.data import feature_csv
from trainer.registry import LoadedModel, Registry


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    reg = Registry(root)
    publish(reg, seed=1)
    publish(reg, seed=2)
    return root


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def read_output(text: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(text.splitlines()))
    return rows[0], rows[1:]


def test_predict_to_stdout_matches_a_forward_pass_of_the_weights(
    registry, tmp_path, capsys
):
    X = np.random.default_rng(3).uniform(-1.5, 2.5, (40, 2))
    lines = ["a,b"] + [f"{x1!r},{x2!r}" for x1, x2 in X.tolist()] + [""]
    source = write(tmp_path / "in.csv", "\n".join(lines))
    code, out, err = run(
        capsys, "predict", "--registry", str(registry), "--input", str(source)
    )
    assert (code, err) == (0, "")
    header, rows = read_output(out)
    assert header == ["label", "probability_0", "probability_1"]
    indices, P = forward_from_disk(registry, "moons", 2, X)  # v2: the served one
    assert [int(r[0]) for r in rows] == indices.tolist()
    np.testing.assert_allclose([[float(v) for v in r[1:]] for r in rows], P, rtol=1e-12)


def test_predict_without_a_header_with_a_version_and_string_classes(tmp_path, capsys):
    root = tmp_path / "models"
    reg = Registry(root)
    publish(reg, "iris", seed=4, n_features=3, classes=("setosa", "versicolor", "x"))
    publish(reg, "iris", seed=5, n_features=3, classes=("setosa", "versicolor", "x"))
    source = write(tmp_path / "in.csv", "0.1,0.2,0.3\n\n 1.5 , -2,0\n")
    code, out, _ = run(capsys, "predict", "--registry", str(root), "--name", "iris",
                       "--version", "1", "--input", str(source))  # fmt: skip
    assert code == 0
    header, rows = read_output(out)
    assert header == [
        "label",
        *(f"probability_{c}" for c in ("setosa", "versicolor", "x")),
    ]
    X = np.array([[0.1, 0.2, 0.3], [1.5, -2.0, 0.0]])
    indices, P = forward_from_disk(root, "iris", 1, X)
    assert [r[0] for r in rows] == [("setosa", "versicolor", "x")[i] for i in indices]
    np.testing.assert_allclose([[float(v) for v in r[1:]] for r in rows], P, rtol=1e-12)


def test_predict_streams_in_chunks_with_the_same_answers(
    registry, tmp_path, capsys, monkeypatch
):
    X = np.random.default_rng(0).uniform(-2, 3, (1003, 2))
    source = tmp_path / "in.csv"
    np.savetxt(source, X, delimiter=",", fmt="%.17g")
    out_path = tmp_path / "out.csv"
    monkeypatch.setattr(feature_csv, "CHUNK_ROWS", 100)
    passes = []
    real_predict = LoadedModel.predict

    def counted(self: LoadedModel, X: np.ndarray) -> tuple:
        passes.append(len(X))
        return real_predict(self, X)

    monkeypatch.setattr(LoadedModel, "predict", counted)
    code, out, _ = run(capsys, "predict", "--registry", str(registry), "--input",
                       str(source), "--output", str(out_path), "--json")  # fmt: skip
    assert code == 0
    assert json.loads(out) == {"name": "moons", "version": 2, "rows": 1003,
                               "classes": [0, 1], "output": str(out_path)}  # fmt: skip
    assert out.count("\n") == 1
    assert passes == [100] * 10 + [3]  # one pass a chunk: memory stays flat
    _, rows = read_output(out_path.read_text())
    indices, P = forward_from_disk(registry, "moons", 2, X)
    assert [int(r[0]) for r in rows] == indices.tolist()
    np.testing.assert_allclose([[float(v) for v in r[1:]] for r in rows], P, rtol=1e-12)


def test_chunks_arrive_with_their_file_lines(tmp_path):
    source = write(tmp_path / "in.csv", "x,y\n1,2\n\n3,4\n5,6\n")
    with feature_csv.FeatureCsv(source, 2, chunk_rows=2) as features:
        assert features.header == ["x", "y"]
        chunks = list(features.chunks())
    assert [c.lines.tolist() for c in chunks] == [[2, 4], [5]]
    assert chunks[0].X.tolist() == [[1.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x,y\n1,2\n3,oops\n", "line 3, column 2 ('y'): 'oops' is not a number"),
        ("1,2\n3,\n", "line 2, column 2: empty value"),
        ("1,2\n3,1_0\n", "line 2, column 2: '1_0' is not a number"),
        ("1,2\n3,inf\n", "line 2, column 2: 'inf' is not a finite number"),
        ("1,2\n3,4,5\n", "line 2: 3 columns, expected 2"),
        (
            "1,2,0\n",
            "line 1: 3 columns, expected 2 (one per feature of the model); "
            "a label column?",
        ),
        ("1;2\n", "the file looks separated by ';' or tabs: use commas"),
        ("x,2\n", "line 1, column 1: 'x' is not a number; if this line is a header"),
        ("x,y\n", "has a header (line 1) but no data rows"),
        ("\n\n", "has no data rows"),
        ('1,"2\n', "line 1: unexpected end of data"),
    ],
)
def test_bad_input_is_named_by_line_and_column_and_writes_nothing(
    registry, tmp_path, capsys, text, message
):
    source = write(tmp_path / "in.csv", text)
    out_path = tmp_path / "out.csv"
    code, out, err = run(capsys, "predict", "--registry", str(registry), "--input",
                         str(source), "--output", str(out_path), "--json")  # fmt: skip
    assert code == 2
    assert message in err
    error = json.loads(out)["error"]
    assert error["code"] == "bad_input" and message in error["message"]
    assert sorted(os.listdir(tmp_path)) == ["in.csv", "models"]


def test_features_that_overflow_the_network_are_refused_by_line(tmp_path, capsys):
    root = tmp_path / "models"
    publish(Registry(root), "flat", seed=1, hidden=())  # logits overflow: no tanh
    source = write(tmp_path / "in.csv", "1,2\n-1.79e308,1.79e308\n1.79e308,1.79e308\n")
    code, _, err = run(capsys, "predict", "--registry", str(root), "--name", "flat",
                       "--input", str(source))  # fmt: skip
    assert code == 2
    assert "line 3: the features are too large for the network" in err


def test_a_failure_keeps_the_previous_output_whole(registry, tmp_path, capsys):
    out_path = write(tmp_path / "out.csv", "the previous run's output\n")
    good = "\n".join(["1,2"] * 5000)
    source = write(tmp_path / "in.csv", good + "\n3,x\n")
    code, _, _ = run(capsys, "predict", "--registry", str(registry), "--input",
                     str(source), "--output", str(out_path))  # fmt: skip
    assert code == 2
    assert out_path.read_text() == "the previous run's output\n"
    assert sorted(os.listdir(tmp_path)) == ["in.csv", "models", "out.csv"]


def test_predict_refusals(registry, tmp_path, capsys):
    source = write(tmp_path / "in.csv", "1,2\n")
    base = ("predict", "--registry", str(registry), "--input", str(source))
    code, out, err = run(capsys, *base, "--json")
    assert code == 2 and "--json needs --output" in json.loads(out)["error"]["message"]
    code, _, err = run(capsys, *base, "--output", str(source))
    assert code == 2 and "--output must not be the --input file" in err
    code, _, err = run(capsys, *base, "--version", "9")
    assert code == 2 and "has no version 9" in err
    code, _, err = run(capsys, *base, "--name", "nope")
    assert code == 2 and "unknown model 'nope'" in err
    code, _, err = run(capsys, *base, "--output", str(tmp_path / "no" / "dir" / "x"))
    assert code == 2 and "output directory" in err and "does not exist" in err


def test_a_version_that_does_not_verify_is_refused_with_exit_4(
    registry, tmp_path, capsys
):
    corrupt_copy(registry, "moons", 2, 3)
    source = write(tmp_path / "in.csv", "1,2\n")
    code, out, err = run(capsys, "predict", "--registry", str(registry), "--input",
                         str(source), "--version", "3", "--json", "--output",
                         str(tmp_path / "o.csv"))  # fmt: skip
    assert code == 4
    assert json.loads(out)["error"]["code"] == "verification_failed"
    # without --version: the highest version that verifies, as the service serves
    code, out, _ = run(capsys, "predict", "--registry", str(registry), "--input",
                       str(source))  # fmt: skip
    assert code == 0
    indices, _ = forward_from_disk(registry, "moons", 2, np.array([[1.0, 2.0]]))
    assert read_output(out)[1][0][0] == str(indices[0])


def test_evaluate_reports_accuracy_log_loss_and_the_confusion_matrix(
    registry, tmp_path, capsys
):
    code, out, err = run(capsys, "evaluate", "--registry", str(registry), "--data",
                         "moons", "--samples", "300", "--seed", "4",
                         "--json")  # fmt: skip
    assert (code, err) == (0, "")
    assert out.count("\n") == 1
    report = json.loads(out)
    from trainer.data.datasets import load_dataset

    data = load_dataset("moons", n_samples=300, seed=4)
    indices, P = forward_from_disk(registry, "moons", 2, data.X)
    expected = np.zeros((2, 2), dtype=int)
    for true, predicted in zip(data.y, indices, strict=True):
        expected[true, predicted] += 1
    assert report["confusion_matrix"] == expected.tolist()
    assert report["accuracy"] == pytest.approx(np.mean(indices == data.y))
    loss = -np.mean(np.log(P[np.arange(300), data.y]))
    assert report["log_loss"] == pytest.approx(loss, rel=1e-9)
    assert (report["name"], report["version"], report["n_samples"]) == ("moons", 2, 300)
    assert report["data"] == data.spec
    assert report["includes_training_data"] is False
    code, out, _ = run(capsys, "evaluate", "--registry", str(registry), "--data",
                       "moons", "--samples", "300", "--seed", "4")  # fmt: skip
    assert code == 0
    assert f"accuracy  {report['accuracy']:.4f}" in out
    assert f"log loss  {report['log_loss']:.4f}" in out
    counts = " ".join(str(n) for n in expected[0])
    assert counts in " ".join(out.split())


def test_evaluate_a_csv_with_string_labels_and_its_refusals(tmp_path, capsys):
    root = tmp_path / "models"
    publish(Registry(root), "colours", seed=3, classes=("blue", "red"))
    data = write(tmp_path / "d.csv", "x,y,colour\n0,0,blue\n1,1,red\n2,0,red\n")
    code, out, _ = run(capsys, "evaluate", "--registry", str(root), "--name",
                       "colours", "--data", f"csv:{data}", "--json")  # fmt: skip
    assert code == 0
    report = json.loads(out)
    assert report["classes"] == ["blue", "red"]
    assert sum(map(sum, report["confusion_matrix"])) == 3
    bad = write(tmp_path / "b.csv", "0,0,blue\n1,1,green\n")
    code, out, err = run(capsys, "evaluate", "--registry", str(root), "--name",
                         "colours", "--data", f"csv:{bad}", "--json")  # fmt: skip
    assert code == 2
    assert "labels 'green' are not classes of colours v1" in err
    wide = write(tmp_path / "w.csv", "0,0,0,blue\n1,1,1,red\n")
    code, _, err = run(capsys, "evaluate", "--registry", str(root), "--name",
                       "colours", "--data", f"csv:{wide}")  # fmt: skip
    assert code == 2 and "takes 2 features" in err
    code, out, err = run(capsys, "evaluate", "--registry", str(root), "--name",
                         "colours", "--data", "spirals", "--json")  # fmt: skip
    assert code == 2 and json.loads(out)["error"]["code"] == "bad_input"
