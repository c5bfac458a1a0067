"""`python -m trainer`: training, publishing, the quality gate, rollback, verify.

Most tests call `trainer.cli.main` in-process (fast); a few run the real entry point
as a subprocess to check what cron sees: exit codes and one line on stderr.
"""

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.registry_samples import corrupt_copy, publish_network
from trainer.cli.main import main
from trainer.cli.options import resolve
from trainer.cli.progress import Progress
from trainer.data.datasets import data_fingerprint, load_dataset, train_validation_split
from trainer.registry import AliasConflictError, Registry
from trainer.registry.promotion import promote_if_better

ROOT = Path(__file__).resolve().parents[3]


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def train(capsys, registry: Path, *extra: str) -> tuple[int, str, str]:
    return run(capsys, "train", "--registry", str(registry), *extra)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry with versions 1-3 (seeds 0-2), trained once for the whole module."""
    root = tmp_path_factory.mktemp("template") / "models"
    for seed in ("0", "1", "2"):
        assert main(["train", "--registry", str(root), "--seed", seed]) == 0
    return root


@pytest.fixture
def trained(template: Path, tmp_path: Path) -> Path:
    """A private copy of the template registry: tests may change or break it."""
    return Path(shutil.copytree(template, tmp_path / "models"))


def test_train_with_defaults_publishes_a_good_moons_model(tmp_path, capsys):
    code, out, err = run(capsys, "train", "--registry", str(tmp_path / "models"))
    assert (code, err) == (0, "")
    assert out.startswith("Loss after iteration 0: ")
    assert "published moons v1" in out
    model = Registry(tmp_path / "models").load("moons")
    manifest = model.manifest
    assert model.version == 1 and model.kind == "mlp"
    assert manifest["architecture"]["hidden_layer_sizes"] == [3]
    assert manifest["metrics"]["validation_accuracy"] >= 0.9
    assert manifest["training"]["n_train"] + manifest["training"]["n_validation"] == 200
    # the extent the service uses for default /boundary bounds covers the data
    assert (
        manifest["data"]["feature_min"][0]
        < -0.9
        < 2.0
        < manifest["data"]["feature_max"][0]
    )


def test_loss_is_printed_every_n_epochs(tmp_path, capsys):
    code, out, _ = train(capsys, tmp_path, "--epochs", "250", "--print-every", "100")
    assert code == 0
    printed = [
        line.split(":")[0] for line in out.splitlines() if line.startswith("Loss")
    ]
    # and the last epoch, so the run is seen to finish
    assert printed == [f"Loss after iteration {i}" for i in (0, 100, 200, 249)]


def test_json_prints_one_result_and_keeps_the_loss_off_stdout(tmp_path, capsys):
    code, out, err = train(capsys, tmp_path, "--json", "--print-every", "100")
    assert code == 0
    result = json.loads(out)
    assert (result["name"], result["version"], result["promoted"]) == (
        "moons",
        1,
        False,
    )
    assert set(result["metrics"]) >= {
        "validation_accuracy",
        "baseline_validation_accuracy",
    }
    assert err.startswith("Loss after iteration 0")


def test_same_options_give_byte_identical_weights(tmp_path, capsys):
    for seed in ("7", "7", "8"):
        assert train(capsys, tmp_path, "--seed", seed, "--hidden", "4")[0] == 0
    registry = Registry(tmp_path)
    sha = [
        registry.read_manifest("moons", v)["files"]["weights.npz"] for v in (1, 2, 3)
    ]
    assert sha[0] == sha[1] != sha[2]
    weights = [
        (tmp_path / "moons" / str(v) / "weights.npz").read_bytes() for v in (1, 2)
    ]
    assert weights[0] == weights[1]


_WEIGHT_DIGESTS = """
import json, sys
from trainer.registry import artifact
from trainer.cli import training
from trainer.cli.options import resolve
runs = {
    "sgd": {"optimizer": "sgd", "batch_size": 16, "epochs": 20},
    "logreg": {"kind": "logreg"},
    "tutorial": {"preset": "tutorial"},
}
digests = {}
for key, given in runs.items():
    result = training.fit(resolve(given).recipe)
    data = artifact.weights_bytes(result.coefs, result.intercepts)
    digests[key] = artifact.sha256_hex(data)
print(json.dumps(digests))
"""


def test_weights_are_byte_identical_across_processes():
    # separate interpreters with different hash seeds: nothing may depend on set or
    # dict order, object ids, or state left over in one process
    digests = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", _WEIGHT_DIGESTS],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        digests.append(json.loads(done.stdout))
    assert digests[0] == digests[1]
    assert len(set(digests[0].values())) == 3


def test_promote_flag_moves_production(trained, capsys):
    code, out, _ = train(capsys, trained, "--promote", "--seed", "1")
    assert code == 0 and "production -> v4" in out
    assert Registry(trained).aliases("moons") == {"production": 4}


def test_quality_gate_promotes_a_better_model_and_refuses_a_worse_one(tmp_path, capsys):
    registry = Registry(tmp_path)
    assert train(capsys, tmp_path, "--promote-if-better")[0] == 0  # no production yet
    assert registry.aliases("moons") == {"production": 1}
    # one tanh unit draws a straight line: it cannot match the 3-unit network
    code, out, err = train(
        capsys, tmp_path, "--promote-if-better", "--hidden", "1", "--json"
    )
    assert code == 3
    gate = json.loads(out)["gate"]
    assert gate["promoted"] is False and gate["production_version"] == 1
    assert gate["candidate_accuracy"] < gate["production_accuracy"]
    assert registry.versions("moons") == [1, 2]  # published all the same
    assert registry.aliases("moons") == {"production": 1}
    # the same weak model passes with a tolerance as wide as the gap
    gap = gate["production_accuracy"] - gate["candidate_accuracy"]
    code, out, _ = train(
        capsys,
        tmp_path,
        "--promote-if-better",
        "--hidden",
        "1",
        "--tolerance",
        str(gap),
    )
    assert code == 0 and "production -> v3" in out
    assert registry.aliases("moons") == {"production": 3}


def test_promote_and_rollback_commands(trained, capsys):
    reg = ["--registry", str(trained)]
    for version in ("1", "3"):
        assert run(capsys, "promote", *reg, "--version", version)[0] == 0
    code, out, _ = run(capsys, "rollback", *reg)
    assert code == 0 and out.strip() == "moons: production -> v1 (was v3)"
    code, _, err = run(capsys, "rollback", *reg)
    assert (
        code == 2
        and "alias 'production' has held only version 1: there is no "
        "earlier version to roll back to"
        in err
    ), err
    assert Registry(trained).aliases("moons") == {"production": 1}
    code, _, err = run(capsys, "rollback", *reg, "--alias", "staging")
    assert (
        code == 2
        and "alias 'staging' is not set, so there is nothing to roll "
        "back: point it at a version first (promote)"
        in err
    ), err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["promote", "--version", "9"], "no version 9"),
        (["promote", "--version", "0"], "not a positive integer"),
        (["promote", "--name", "circles", "--version", "1"], "unknown model 'circles'"),
        (["show", "--name", "circles"], "unknown model 'circles'"),
        (["show", "--version", "staging"], "no alias 'staging'"),
        (["rollback", "--name", "../etc"], "not a plain name"),
        (["verify", "--name", "circles"], "unknown model 'circles'"),
    ],
)
def test_unknown_models_versions_and_aliases_exit_2_and_change_nothing(
    trained, capsys, argv, message
):
    assert main(["promote", "--registry", str(trained), "--version", "2"]) == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in trained.rglob("*") if p.is_file()}
    code, out, err = run(capsys, *argv, "--registry", str(trained))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and message in err
    assert {p: p.read_bytes() for p in trained.rglob("*") if p.is_file()} == before


def test_promote_refuses_a_version_that_does_not_verify(trained, capsys):
    (trained / "moons" / "2" / "weights.npz").write_bytes(b"overwritten")
    code, _, err = run(capsys, "promote", "--registry", str(trained), "--version", "2")
    assert code == 4 and "does not match its sha256" in err
    assert Registry(trained).aliases("moons") == {}


def test_show_prints_the_served_manifest(trained, capsys):
    code, out, _ = run(capsys, "show", "--registry", str(trained))
    assert code == 0 and json.loads(out)["version"] == 3  # highest: no production
    run(capsys, "promote", "--registry", str(trained), "--version", "2")
    code, out, _ = run(capsys, "show", "--registry", str(trained))
    assert code == 0 and json.loads(out)["version"] == 2
    code, out, _ = run(capsys, "show", "--registry", str(trained), "--version", "1")
    assert json.loads(out)["training"]["seed"] == 0


def test_registry_defaults_to_the_environment_then_models(trained, capsys, monkeypatch):
    monkeypatch.setenv("SCRATCHNET_REGISTRY", str(trained))
    code, out, _ = run(capsys, "show")
    assert code == 0 and json.loads(out)["version"] == 3
    assert resolve({}).registry == str(trained)
    monkeypatch.delenv("SCRATCHNET_REGISTRY")
    assert resolve({}).registry == "models"


def test_list_marks_aliases_served_and_broken_versions(trained, capsys):
    train(capsys, trained, "--promote", "--hidden", "5,5")
    (trained / "moons" / "1" / "extra.txt").write_text("x")
    code, out, _ = run(capsys, "list", "--registry", str(trained))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "moons  (served: v4)"
    assert "DOES NOT VERIFY" in lines[1] and "extra.txt" in lines[1]
    assert "hidden=[5, 5]" in lines[4] and lines[4].endswith("production <- served")
    code, out, _ = run(capsys, "list", "--registry", str(trained), "--json")
    (model,) = json.loads(out)["models"]
    assert [v.get("error") is None for v in model["versions"]] == [False] + [True] * 3


def test_verify_reports_corruption_with_exit_4_and_fix_removes_stale_temp_entries(
    trained, capsys
):
    reg = ["--registry", str(trained)]
    assert run(capsys, "verify", *reg)[0] == 0
    stale = trained / "moons" / ".tmp-crashed"
    stale.mkdir()
    os.utime(stale, (0, 0))
    weights = trained / "moons" / "2" / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:-1])
    code, out, _ = run(capsys, "verify", *reg)
    assert code == 4
    # in version order, the failed one in its place
    lines = out.splitlines()
    versions = Registry(trained).versions("moons")
    assert [line.split(":")[0] for line in lines[: len(versions)]] == [
        f"moons v{v}" for v in sorted(versions)
    ]
    assert lines[1].startswith("moons v2: FAILED") and "temporary" in lines[-1]
    assert stale.exists()
    code, out, _ = run(capsys, "verify", *reg, "--fix", "--json")
    report = json.loads(out)["models"]["moons"]
    assert code == 4 and report["removed_temp_entries"] == [".tmp-crashed"]
    assert not stale.exists() and weights.exists()  # --fix never deletes versions


def test_verify_reports_a_symlinked_model_directory_and_checks_the_rest(
    trained, capsys
):
    (trained / "copy").symlink_to(trained / "moons")
    code, out, _ = run(capsys, "verify", "--registry", str(trained), "--json")
    report = json.loads(out)
    assert code == 4 and report["ok"] is False
    assert report["models"]["moons"]["verified"] == [1, 2, 3]
    assert [p["where"] for p in report["models"]["copy"]["problems"]] == ["model"]
    assert "symlink" in report["models"]["copy"]["problems"][0]["message"]


def test_gate_replaces_a_production_whose_version_was_deleted(trained, capsys):
    (trained / "moons" / "aliases.json").write_text('{"production": 9}')
    code, out, err = train(capsys, trained, "--promote-if-better", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["promoted"] is True and result["gate"]["production_invalid"]
    assert Registry(trained).aliases("moons") == {"production": 4}


def test_gate_that_keeps_losing_the_race_leaves_the_version_unpromoted(
    trained, monkeypatch
):
    registry = Registry(trained)

    def always_moved(*args, **kwargs):
        raise AliasConflictError("moved")

    monkeypatch.setattr(registry, "set_alias", always_moved)
    decision = promote_if_better(registry, "moons", 3)
    # published but not promoted: exit 3 for the CLI, never "bad input"
    assert decision["promoted"] is False and "conflict" in decision


def test_list_shows_every_version_when_aliases_json_is_damaged(trained, capsys):
    (trained / "moons" / "aliases.json").write_text("{not json")
    code, out, _ = run(capsys, "list", "--registry", str(trained), "--json")
    (model,) = json.loads(out)["models"]
    assert code == 0 and "aliases.json" in model["error"]
    assert [row["version"] for row in model["versions"]] == [1, 2, 3]
    code, out, _ = run(capsys, "list", "--registry", str(trained))
    assert code == 0 and "served: none: aliases.json" in out and "v3" in out


def test_verify_refuses_a_registry_that_does_not_exist(tmp_path, capsys):
    code, out, err = run(capsys, "verify", "--registry", str(tmp_path / "typo"))
    assert code == 2 and out == "" and "is not a directory" in err
    assert not (tmp_path / "typo").exists()


def test_logreg_baseline_is_published_as_a_network_without_hidden_layers(
    tmp_path, capsys
):
    code, out, _ = train(capsys, tmp_path, "--kind", "logreg", "--name", "moons-logreg")
    assert code == 0
    model = Registry(tmp_path).load("moons-logreg")
    arch = model.manifest["architecture"]
    assert (model.kind, arch["hidden_layer_sizes"], arch["activation"]) == (
        "logreg",
        [],
        None,
    )
    metrics = model.manifest["metrics"]
    assert metrics["validation_accuracy"] == metrics["baseline_validation_accuracy"]
    P = model.predict_proba(np.array([[0.0, 1.0], [1.5, -0.5]]))
    np.testing.assert_allclose(P.sum(axis=1), 1.0)


def test_config_file_sets_options_and_the_command_line_wins(tmp_path, capsys):
    config = tmp_path / "retrain.toml"
    config.write_text(
        'name = "nightly"\nhidden = [4]\nepochs = 200\nseed = 3\n'
        "learning-rate = 0.05\npromote = true\n"
    )
    registry = tmp_path / "models"
    code, _, _ = run(
        capsys, "train", "--registry", str(registry), "--config", str(config),
        "--seed", "4",
    )  # fmt: skip
    assert code == 0
    manifest = Registry(registry).read_manifest("nightly")
    assert manifest["architecture"]["hidden_layer_sizes"] == [4]
    assert (manifest["training"]["seed"], manifest["training"]["epochs"]) == (4, 200)
    assert Registry(registry).aliases("nightly") == {"production": 1}


def test_tutorial_preset_runs_full_batch_gradient_descent(tmp_path, capsys):
    code, out, _ = train(capsys, tmp_path, "--preset", "tutorial", "--epochs", "2001")
    assert code == 0
    assert [line.split(":")[0] for line in out.splitlines()[:3]] == [
        "Loss after iteration 0",
        "Loss after iteration 1000",
        "Loss after iteration 2000",
    ]
    optimizer = Registry(tmp_path).read_manifest("moons")["training"]["optimizer"]
    assert optimizer["name"] == "gd"
    assert (optimizer["init"], optimizer["gradient"]) == ("legacy", "sum")


def _bad_csv(tmp_path: Path) -> str:
    path = tmp_path / "bad.csv"
    path.write_text("x1,x2,label\n0.1,0.2,0\n0.3,oops,1\n")
    return f"csv:{path}"


def _one_class_csv(tmp_path: Path) -> str:
    path = tmp_path / "one.csv"
    path.write_text("".join(f"{i},{i},a\n" for i in range(10)))
    return f"csv:{path}"


BAD_INPUT = [
    (["--hidden", "0"], "positive integers"),
    (["--hidden", "3,,3"], "hidden"),
    (["--hidden", "three"], "hidden"),
    (["--learning-rate", "-0.1"], "greater than 0"),
    (["--learning-rate", "0"], "greater than 0"),
    (["--learning-rate", "nan"], "finite"),
    (["--epochs", "0"], "positive integer"),
    (["--l2", "-1"], "0 or more"),
    (["--batch-size", "0"], "positive integer"),
    (["--seed", "-1"], "between 0"),
    (["--validation-fraction", "1.5"], "between 0 and 1"),
    (["--activation", "softplus"], "tanh"),
    (["--optimizer", "rmsprop"], "adam"),
    (["--kind", "svm"], "mlp"),
    (["--preset", "keras"], "tutorial"),
    (["--dataset", "spirals"], "unknown dataset"),
    (["--dataset", "csv:/nonexistent/points.csv"], "points.csv"),
    (["--name", "../escape"], "not a plain name"),
    (["--promote", "--promote-if-better"], "choose one"),
    (["--tolerance", "-0.1"], "0 or more"),
    (["--no-such-option"], "unrecognized arguments"),
    (["--config", "/nonexistent/retrain.toml"], "does not exist"),
    (["--registry", ""], "--registry must be a non-empty string"),
    (["--learning-rate", "inf"], "finite"),
    (["--hidden", "-1"], "positive integers"),
    (["--noise", "-1"], "0 or more"),
    (["--samples", "1"], "at least two classes"),
    (["--dataset", "blobs", "--classes", "1"], "n_classes >= 2"),
    (["--early-stopping", "--samples", "10"], "early_stopping cannot split off"),
    (["--baseline-samples", "0"], "--baseline-samples: must be a positive integer"),
    (["--baseline-samples", "many"], "--baseline-samples: must be an integer"),
    (["--baseline-samples", "2.5"], "--baseline-samples: must be an integer"),
    (["--baseline-samples", "3"], "--baseline-samples 3 is too few for 2 classes"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUT)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    tmp_path, capsys, argv, message
):
    registry = tmp_path / "models"
    report = tmp_path / "report"
    code, out, err = run(
        capsys, "train", "--registry", str(registry), "--report", str(report), *argv
    )
    assert code == 2
    assert err.count("\n") == 1 and message in err, err
    assert "Traceback" not in err and out == ""
    assert not registry.exists() and not report.exists()


def test_out_of_memory_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch):
    # what --hidden 100000000 gives on a small machine; simulated, since a real one
    # could take the whole machine down with it where memory is overcommitted
    from trainer.cli import training

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(training, "fit", exhausted)
    code, out, err = train(capsys, tmp_path / "models", "--hidden", "100000000")
    assert code == 2 and err.count("\n") == 1 and "out of memory" in err, err
    assert "Traceback" not in err and not (tmp_path / "models").exists()


def _report_under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "a-file").write_text("")
    return tmp_path / "a-file" / "figures"


def _report_in_proc(tmp_path: Path) -> Path:
    # /proc refuses new entries even to root, which chmod cannot do here
    if not Path("/proc/self").is_dir():
        pytest.skip("needs Linux /proc")
    return Path("/proc/scratchnet-figures")


@pytest.mark.parametrize("report_dir", [_report_under_a_file, _report_in_proc])
def test_unwritable_report_directory_is_refused_before_training(
    tmp_path, capsys, report_dir
):
    registry = tmp_path / "models"
    code, out, err = train(
        capsys, registry, "--report", str(report_dir(tmp_path)), "--epochs", "5"
    )
    assert code == 2 and err.count("\n") == 1 and "report" in err, err
    assert out == ""  # refused before the first epoch
    assert not registry.exists()


@pytest.mark.parametrize("registry_dir", [_report_under_a_file, _report_in_proc])
def test_unwritable_registry_is_refused_before_training(tmp_path, capsys, registry_dir):
    code, out, err = train(capsys, registry_dir(tmp_path), "--epochs", "5")
    assert code == 2 and err.count("\n") == 1 and "registry" in err, err
    reason = "not a directory" if registry_dir is _report_under_a_file else (
        "'/proc' takes no new files or directories (No such file or directory)"
    )  # fmt: skip
    assert reason in err, err
    assert out == ""
    # a sweep that does not publish never writes there, so it is not refused
    code, _, _ = run(
        capsys, "sweep", "--registry", str(registry_dir(tmp_path)),
        "--hidden", "2", "--epochs", "5", "--jobs", "1",
    )  # fmt: skip
    assert code == 0


@pytest.mark.parametrize(
    ("argv", "advice"),
    [
        (["--optimizer", optimizer, "--learning-rate", "1e6", "--epochs", "20"],
         "lower learning_rate")
        for optimizer in ("gd", "sgd", "momentum", "adam")
    ]
    + [(["--preset", "tutorial", "--samples", "10000"], "drop --preset tutorial")],
)  # fmt: skip
def test_diverging_training_exits_2_says_what_to_change_and_publishes_nothing(
    tmp_path, capsys, argv, advice
):
    registry = tmp_path / "models"
    code, _, err = train(capsys, registry, "--print-every", "0", *argv)
    assert code == 2
    assert err.count("\n") == 1 and "training diverged" in err and advice in err, err
    assert 'gradient="mean"' not in err  # not an option of the command line
    assert not registry.exists()


def test_manifest_data_hashes_the_training_split_and_spans_the_whole_dataset(
    tmp_path, capsys
):
    code, _, _ = train(capsys, tmp_path, "--seed", "3", "--epochs", "5")
    assert code == 0
    data = Registry(tmp_path).read_manifest("moons")["data"]
    dataset = load_dataset("moons", seed=3)
    X_train, _, y_train, _ = train_validation_split(dataset.X, dataset.y, seed=3)
    assert data["sha256"] == data_fingerprint(X_train, y_train)["sha256"]
    assert data["sha256"] != data_fingerprint(dataset.X, dataset.y)["sha256"]
    assert data["feature_min"] == dataset.X.min(axis=0).tolist()
    assert data["feature_max"] == dataset.X.max(axis=0).tolist()


@pytest.mark.parametrize("make_dataset", [_bad_csv, _one_class_csv])
def test_bad_csv_exits_2_and_writes_nothing(tmp_path, capsys, make_dataset):
    registry = tmp_path / "models"
    code, out, err = run(
        capsys,
        "train",
        "--registry",
        str(registry),
        "--dataset",
        make_dataset(tmp_path),
    )
    assert code == 2 and err.count("\n") == 1 and out == ""
    assert not registry.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("hidden = [0]\n", "positive integers"),
        ("epochs = 'many'\n", "integer"),
        ("colour = 'blue'\n", "unknown option 'colour'"),
        ("epochs = \n", "not valid TOML"),
        ("promote = 'yes'\n", "true or false"),
        ("epochs = '100'\n", "--epochs must be a TOML integer, got '100'"),
        ("epochs = 100.0\n", "TOML integer"),
        ("learning-rate = '0.1'\n", "--learning-rate must be a TOML number"),
        ("l2 = true\n", "TOML number"),
        ("learning-rate = nan\n", "finite"),
        ("hidden = [3, 'x']\n", "hidden"),
        ("[train]\nepochs = 5\n", "unknown option 'train'"),
    ],
)
def test_bad_config_file_exits_2_and_writes_nothing(tmp_path, capsys, content, message):
    config = tmp_path / "retrain.toml"
    config.write_text(content)
    registry = tmp_path / "models"
    code, _, err = run(
        capsys, "train", "--registry", str(registry), "--config", str(config)
    )
    assert code == 2 and message in err and err.count("\n") == 1
    assert not registry.exists()


def test_report_without_matplotlib_says_how_to_install_it(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import now fails
    registry = tmp_path / "models"
    code, _, err = run(
        capsys, "train", "--registry", str(registry), "--report", str(tmp_path / "r")
    )
    assert code == 2 and "pip install 'scratchnet[plots]'" in err
    assert not registry.exists()


def test_train_report_writes_boundary_and_loss_figures(tmp_path, capsys):
    code, out, _ = train(capsys, tmp_path / "models", "--report", str(tmp_path / "fig"))
    assert code == 0
    for name in ("moons-boundary.png", "moons-loss.png"):
        assert (tmp_path / "fig" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"wrote {tmp_path / 'fig' / name}" in out


def test_real_entry_point_exit_codes_and_single_error_line(tmp_path):
    def trainer(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "trainer", *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    for command in ("train", "sweep", "list", "show", "promote", "rollback", "verify"):
        assert trainer(command, "--help").returncode == 0
    bad = trainer("train", "--registry", str(tmp_path / "m"), "--hidden", "0")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "--hidden" in bad.stderr
    assert trainer("show", "--registry", str(tmp_path / "m")).returncode == 2
    assert not (tmp_path / "m").exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("on_terminal", [True, False])
def test_progress_bar_appears_only_on_a_terminal(monkeypatch, capsys, on_terminal):
    stderr = _Terminal() if on_terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    options = resolve({"registry": "unused", "epochs": 3, "print_every": 2})
    with Progress(options) as progress:
        for epoch in range(3):
            progress(epoch, 1.0 / (epoch + 1))
    assert capsys.readouterr().out.splitlines() == [
        "Loss after iteration 0: 1.000000",
        "Loss after iteration 2: 0.333333",
    ]
    assert ("0/3" in stderr.getvalue()) is on_terminal


@pytest.mark.parametrize(
    ("epochs", "every", "printed"),
    [(4, 2, [0, 2, 3]), (3, 2, [0, 2]), (1000, 1000, [0, 999]), (5, 0, [])],
)
def test_progress_ends_with_the_last_epoch_s_loss(capsys, epochs, every, printed):
    # 1,000 epochs printed every 1,000 must not look as if training stopped at 0
    options = resolve({"registry": "unused", "epochs": epochs, "print_every": every})
    with Progress(options) as progress:
        for epoch in range(epochs):
            progress(epoch, 0.5)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"Loss after iteration {e}: 0.500000" for e in printed]


def test_progress_after_a_failed_run_prints_no_final_loss(capsys):
    options = resolve({"registry": "unused", "epochs": 10, "print_every": 5})
    with pytest.raises(RuntimeError), Progress(options) as progress:
        progress(0, 0.5)
        progress(1, 0.4)
        raise RuntimeError("diverged")
    assert capsys.readouterr().out == "Loss after iteration 0: 0.500000\n"


def test_a_reader_that_goes_away_ends_the_command_quietly(trained):
    # `python -m trainer show | head -1`: closing the pipe first makes every write fail
    with subprocess.Popen(
        [sys.executable, "-m", "trainer", "show", "--registry", str(trained)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as child:
        child.stdout.close()
        stderr = child.stderr.read().decode()
        assert child.wait(timeout=60) == 0
    assert stderr == ""


def test_json_output_is_one_line_on_success_and_on_failure(tmp_path, capsys):
    registry = str(tmp_path / "models")
    assert main(["train", "--registry", registry, "--epochs", "5", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["version"] == 1
    assert main(["show", "--registry", registry, "--name", "absent"]) == 2
    capsys.readouterr()
    assert main(["verify", "--registry", registry, "--name", "absent", "--json"]) == 2
    (line,) = capsys.readouterr().out.splitlines()
    error = json.loads(line)["error"]
    assert error["code"] == "bad_input" and "absent" in error["message"]
    assert main(["train", "--hiden", "5", "--json"]) == 2
    (line,) = capsys.readouterr().out.splitlines()
    assert "--hiden" in json.loads(line)["error"]["message"]


def test_list_and_show_serve_the_highest_version_that_verifies(tmp_path, capsys):
    # without a production alias the service skips a broken newest version; the CLI
    # must say the same, not mark the broken one served
    root = tmp_path / "models"
    good = publish_network(Registry(root), "moons", seed=1)
    corrupt_copy(root, "moons", source=good, target=good + 1)
    assert main(["list", "--registry", str(root), "--json"]) == 0
    (model,) = json.loads(capsys.readouterr().out)["models"]
    assert model["served_version"] == good
    assert [row["served"] for row in model["versions"]] == [True, False]
    assert main(["show", "--registry", str(root), "--name", "moons"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == good


def test_baseline_samples_caps_the_baseline_fit_and_is_in_the_manifest(
    tmp_path, capsys
):
    registry = tmp_path / "models"
    code, _, err = train(
        capsys, registry, "--samples", "1000", "--baseline-samples", "100",
        "--epochs", "5", "--print-every", "0",
    )  # fmt: skip
    assert (code, err) == (0, "")
    manifest = Registry(registry).read_manifest("moons")
    training = manifest["training"]
    assert (training["n_train"], training["n_validation"]) == (800, 200)
    assert training["baseline_samples"] == 100
    # scored on the full validation split: a multiple of 1/200, not of 1/25
    accuracy = manifest["metrics"]["baseline_validation_accuracy"]
    assert 0.7 < accuracy < 1.0 and round(accuracy * 200, 9).is_integer()
    # the default cap is above 200 points: the tutorial-sized run fits on all of them
    code, _, _ = train(capsys, registry, "--print-every", "0", "--epochs", "5")
    assert code == 0
    assert (
        Registry(registry).read_manifest("moons")["training"]["baseline_samples"] == 160
    )


def test_baseline_samples_from_a_config_file(tmp_path, capsys):
    config = tmp_path / "retrain.toml"
    config.write_text("samples = 500\nbaseline-samples = 50\nepochs = 5\n")
    registry = tmp_path / "models"
    code, _, err = run(
        capsys, "train", "--registry", str(registry), "--config", str(config),
        "--print-every", "0",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert (
        Registry(registry).read_manifest("moons")["training"]["baseline_samples"] == 50
    )
    config.write_text("baseline_samples = '50'\n")
    code, _, err = run(capsys, "train", "--registry", str(tmp_path / "other"),
                       "--config", str(config))  # fmt: skip
    assert code == 2 and "--baseline-samples must be a TOML integer" in err


def test_a_mistyped_flag_is_the_command_s_error_with_the_nearest_flag(capsys):
    code, out, err = run(capsys, "train", "--hiden", "5")
    assert code == 2 and out == ""
    assert err == (
        "python -m trainer train: error: unrecognized arguments: --hiden 5; "
        "did you mean --hidden? (see --help)\n"
    )
    code, _, err = run(capsys, "list", "--bogus")
    assert code == 2 and "python -m trainer list: error: unrecognized" in err
    assert "did you mean" not in err
