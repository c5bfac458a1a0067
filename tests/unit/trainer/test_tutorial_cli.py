"""`python -m trainer train --preset tutorial` is the tutorial's run, from every entry.

The published weights are compared with the tutorial's own loop
(tests/helpers/tutorial_loop.py), fitted on all 200 moons points; the metrics come
from a separate held-out set (moons, 200, noise 0.2, seed 1).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_moons

from tests.helpers.tutorial_loop import tutorial_build_model
from trainer.cli.main import main
from trainer.registry import Registry

ROOT = Path(__file__).resolve().parents[3]


def _largest_difference(model, hidden: int) -> float:
    ours = [*model.coefs, *model.intercepts]
    # the tutorial's data: make_moons after np.random.seed(0) is random_state=0
    X, y = make_moons(200, noise=0.20, random_state=0)
    W1, b1, W2, b2 = tutorial_build_model(X, y, hidden)
    theirs = [W1, W2, b1, b2]
    return max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs, strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("hidden", [5, 20, 50])
def test_the_cli_preset_publishes_the_tutorials_weights(tmp_path, capsys, hidden):
    registry = tmp_path / "models"
    argv = ["train", "--registry", str(registry), "--preset", "tutorial"]
    assert main([*argv, "--hidden", str(hidden), "--print-every", "0"]) == 0
    capsys.readouterr()
    model = Registry(registry).load("moons")
    assert _largest_difference(model, hidden) < 1e-9
    training = model.manifest["training"]
    assert (training["n_train"], training["epochs"]) == (200, 20000)
    assert training["validation_fraction"] is None
    assert training["validation"] == {
        "source": "dataset",
        "dataset": {"name": "moons", "n_samples": 200, "noise": 0.2, "seed": 1},
    }
    assert training["n_validation"] == 200


@pytest.mark.slow
def test_a_toml_config_gives_the_same_run(tmp_path, capsys):
    config = tmp_path / "nightly.toml"
    config.write_text('preset = "tutorial"\nhidden = 5\nprint-every = 0\n')
    registry = tmp_path / "models"
    assert main(["train", "--registry", str(registry), "--config", str(config)]) == 0
    capsys.readouterr()
    assert _largest_difference(Registry(registry).load("moons"), 5) < 1e-9


@pytest.mark.slow
def test_the_retraining_recipe_runs_the_preset(tmp_path):
    # deploy/retrain.sh as compose and the CronJob run it: `seed` trains the first
    # version with RETRAIN_ARGS (its own seed, so the tutorial's exact weights)
    registry = tmp_path / "models"
    env = {
        **os.environ,
        "SCRATCHNET_REGISTRY": str(registry),
        "RETRAIN_ARGS": "--preset tutorial --hidden 5 --print-every 0",
    }
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"

    def retrain(step: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["sh", "deploy/retrain.sh", step],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )

    done = retrain("seed")
    assert done.returncode == 0, done.stderr
    model = Registry(registry).load("moons")
    assert model.manifest["training"]["preset"] == "tutorial"
    assert _largest_difference(model, 5) < 1e-9
    # the nightly step, new seed, same held-out set; no relabelling allowed at all
    done = retrain("once", RETRAIN_TOLERANCE="1", RETRAIN_MAX_BOUNDARY_CHANGE="0")
    assert done.returncode == 0, done.stderr
    assert "published but not promoted" in done.stdout
    nightly = Registry(registry).read_manifest("moons", 2)
    assert nightly["training"]["validation"]["dataset"]["seed"] == 1
    assert nightly["boundary_change"]["against_version"] == 1
    assert Registry(registry).aliases("moons") == {"production": 1}


def test_validation_data_replaces_the_split_for_any_run(tmp_path, capsys):
    registry = tmp_path / "models"
    argv = ["train", "--registry", str(registry), "--epochs", "20", "--print-every"]
    code = main([*argv, "0", "--validation-data", "moons:samples=90,noise=0.3"])
    assert code == 0
    capsys.readouterr()
    manifest = Registry(registry).read_manifest("moons")
    assert manifest["training"]["n_train"] == 200
    assert manifest["training"]["n_validation"] == 90
    # the run's seed 0 + 1, and the noise and size the SPEC names
    assert manifest["training"]["validation"]["dataset"] == {
        "name": "moons",
        "n_samples": 90,
        "noise": 0.3,
        "seed": 1,
    }


def test_a_csv_validation_set(tmp_path, capsys):
    held_out = tmp_path / "held-out.csv"
    X, y = make_moons(50, noise=0.2, random_state=7)
    lines = ["x1,x2,label"] + [
        f"{float(a)!r},{float(b)!r},{c}" for (a, b), c in zip(X, y, strict=True)
    ]
    held_out.write_text("\n".join(lines) + "\n")
    registry = tmp_path / "models"
    code = main(
        [
            "train", "--registry", str(registry), "--epochs", "5",
            "--print-every", "0", "--validation-data", f"csv:{held_out}", "--json",
        ]
    )  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["version"] == 1
    manifest = Registry(registry).read_manifest("moons")
    assert manifest["training"]["validation"]["dataset"]["name"] == "csv"
    assert manifest["training"]["n_validation"] == 50


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--validation-data", "blobs"], "classes differ"),
        (["--validation-data", "moons:seed=0"], "is the training data itself"),
        (["--validation-data", "moons:depth=3"], "is not a setting"),
        (["--validation-data", "moons:classes=3"], "blobs only"),
        (["--validation-data", "csv:/no/such.csv"], "no/such.csv"),
        (
            ["--validation-data", "moons", "--validation-fraction", "0.3"],
            "choose one of --validation-data",
        ),
        (["--preset", "tutorial", "--validation-fraction", "0.3"], "fits on every"),
        (["--preset", "tutorial", "--dataset", "csv:x.csv"], "give the points"),
    ],
)
def test_bad_validation_data_is_bad_input_and_writes_nothing(
    tmp_path, capsys, extra, words
):
    registry = tmp_path / "models"
    code = main(["train", "--registry", str(registry), "--epochs", "3", *extra])
    err = capsys.readouterr().err
    assert code == 2 and words in err, err
    assert not registry.exists()


def test_features_must_match_too(tmp_path, capsys):
    three = tmp_path / "three.csv"
    three.write_text(
        "a,b,c,label\n" + "".join(f"{i},{i},{i},{i % 2}\n" for i in range(9))
    )
    registry = tmp_path / "models"
    code = main(
        ["train", "--registry", str(registry), "--validation-data", f"csv:{three}"]
    )
    assert (
        code == 2 and "3 features, the training data has 2" in capsys.readouterr().err
    )
    assert not registry.exists()
