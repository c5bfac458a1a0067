"""`python -m trainer sweep`: a network per hidden size, in parallel, with a figure."""

import json

import numpy as np
import pytest

from trainer.cli import training
from trainer.cli.main import main
from trainer.cli.options import resolve
from trainer.cli.sweep import run, table
from trainer.cli.values import OptionError
from trainer.nn.presets import TUTORIAL_SIZES
from trainer.registry import Registry


def test_sweep_trains_each_size_in_parallel_and_publishes_them(tmp_path, capsys):
    registry = tmp_path / "models"
    code = main(
        ["sweep", "--registry", str(registry), "--hidden", "1,4", "--jobs", "2",
         "--publish", "--report", str(tmp_path / "figures"), "--json"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    rows = json.loads(out)["sweep"]
    assert [(r["hidden"], r["version"]) for r in rows] == [(1, 1), (4, 2)]
    # one tanh unit is a straight line through the moons; four units bend around them
    assert rows[1]["train_accuracy"] > rows[0]["train_accuracy"]
    reg = Registry(registry)
    assert [reg.load("moons", v).manifest["architecture"]["hidden_layer_sizes"]
            for v in (1, 2)] == [[1], [4]]  # fmt: skip
    assert reg.aliases("moons") == {}  # a sweep never promotes
    figure = tmp_path / "figures" / "sweep-boundaries.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_defaults_to_the_tutorial_sizes_and_prints_a_table(tmp_path):
    options = resolve(
        {"registry": str(tmp_path)}, command_defaults={"hidden": TUTORIAL_SIZES}
    )
    assert options.recipe.hyperparameters["hidden_layer_sizes"] == (
        1,
        2,
        3,
        4,
        5,
        20,
        50,
    )
    entries, baseline = run(
        resolve({"registry": str(tmp_path), "hidden": (2, 3), "epochs": 50}).recipe,
        jobs=1,
    )
    assert baseline is None
    lines = table(entries).splitlines()
    assert lines[0].split() == [
        "hidden", "train_acc", "val_acc", "train_loss", "val_loss", "epochs", "seconds",
    ]  # fmt: skip
    assert [line.split()[0] for line in lines[1:]] == ["2", "3"]
    assert [line.split()[5] for line in lines[1:]] == ["50", "50"]
    assert not (tmp_path / "moons").exists()  # nothing published without --publish


def test_sweep_entries_equal_a_run_of_each_size_alone(tmp_path):
    # the sweep fits the data's baseline once for every size; each entry must still be
    # what `train --hidden N` would have fitted and recorded
    given = {"registry": str(tmp_path), "hidden": (2, 3), "epochs": 50}
    for entry in run(resolve(given).recipe, jobs=1)[0]:
        alone = training.fit(resolve({**given, "hidden": (entry.hidden,)}).recipe)
        for ours, theirs in zip(
            (*entry.result.coefs, *entry.result.intercepts),
            (*alone.coefs, *alone.intercepts),
            strict=True,
        ):
            np.testing.assert_array_equal(ours, theirs)
        fields, alone_fields = entry.result.manifest_fields, alone.manifest_fields
        assert fields["training"].pop("duration_seconds") > 0
        alone_fields["training"].pop("duration_seconds")
        assert fields == alone_fields


def test_sweep_refuses_the_baseline_kind(tmp_path):
    with pytest.raises(OptionError, match="--kind must be mlp"):
        run(resolve({"registry": str(tmp_path), "kind": "logreg"}).recipe)


def test_sweep_bad_sizes_exit_2(tmp_path, capsys):
    code = main(["sweep", "--registry", str(tmp_path / "m"), "--hidden", "1,0"])
    assert code == 2 and "positive integers" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_the_tutorial_sweep_figure_has_the_baseline_and_every_size(tmp_path):
    from trainer.cli.report import sweep_figure

    options = resolve(
        {"registry": str(tmp_path), "preset": "tutorial", "epochs": 30},
        command_defaults={"hidden": TUTORIAL_SIZES},
    )
    entries, baseline = run(options.recipe, jobs=1, with_baseline=True)
    assert baseline.manifest_fields["kind"] == "logreg"
    figure = sweep_figure(entries, baseline)
    titles = [axes.get_title().split(":")[0] for axes in figure.axes]
    assert titles == ["Logistic regression (baseline)"] + [
        f"Hidden layer size {size}" for size in (1, 2, 3, 4, 5, 20, 50)
    ]
    for axes in figure.axes:
        # the 200 training points the tutorial plots, in one scatter; no held-out
        # points from the separate validation set
        (points,) = axes.collections[-1:]
        assert len(points.get_offsets()) == 200
        assert (axes.get_xlabel(), axes.get_ylabel()) == ("x1", "x2")
        assert axes.get_legend() is None  # one legend, below the panels
    (legend,) = figure.legends
    assert [t.get_text() for t in legend.get_texts()] == ["training"]
    assert figure.get_suptitle().startswith("Decision boundaries by hidden layer size")
