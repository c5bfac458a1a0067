"""The boundary change: `trainer diff`, and the gate's `--max-boundary-change`."""

import json

import numpy as np
import pytest

from tests.helpers.registry_samples import forward_from_disk, publish_network
from trainer.cli.main import main
from trainer.registry import Registry
from trainer.registry.boundary_change import MARGIN, union_bounds
from trainer.registry.promotion import promote_if_better


@pytest.fixture
def registry(tmp_path) -> Registry:
    registry = Registry(tmp_path / "models")
    publish_network(registry, "moons", seed=1)  # v1
    publish_network(registry, "moons", seed=1)  # v2: the same weights
    publish_network(registry, "moons", seed=2)  # v3: other decisions
    publish_network(registry, "moons", seed=3, classes=(0, 1, 2))  # v4
    registry.set_alias("moons", "production", 1)
    return registry


def _expected_fraction(registry: Registry, a: int, b: int, n: int = 200) -> float:
    """The diff recomputed here from both versions' weights.npz, on the same grid."""
    bounds = union_bounds(registry.read_manifest("moons", a))
    xs = np.linspace(bounds.x_min, bounds.x_max, n)
    ys = np.linspace(bounds.y_min, bounds.y_max, n)
    xx, yy = np.meshgrid(xs, ys)
    X = np.column_stack([xx.ravel(), yy.ravel()])
    labels_a, _ = forward_from_disk(registry.root, "moons", a, X)
    labels_b, _ = forward_from_disk(registry.root, "moons", b, X)
    return float(np.mean(labels_a != labels_b))


def test_diff_prints_the_share_of_changed_cells(registry, capsys):
    root = str(registry.root)
    assert (
        main(["diff", "--registry", root, "--name", "moons", "1", "3", "--json"]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["changed_fraction"] == pytest.approx(
        _expected_fraction(registry, 1, 3)
    )
    assert 0.05 < result["changed_fraction"] < 0.95
    low = registry.read_manifest("moons", 1)["data"]["feature_min"]
    assert result["bounds"][0] == pytest.approx(low[0] - MARGIN)
    assert main(["diff", "--registry", root, "--name", "moons", "production", "2"]) == 0
    assert "0.00% of the 200x200 grid" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["1", "4"], "different classes"),
        (["1", "9"], "no version 9"),
        (["1", "stable"], "no alias 'stable'"),
        (["1", "2", "--nx", "0"], "--nx must be from 1 to 2000"),
    ],
)
def test_diff_refuses_what_it_cannot_compare(registry, capsys, argv, words):
    code = main(["diff", "--registry", str(registry.root), "--name", "moons", *argv])
    assert code == 2 and words in capsys.readouterr().err


def test_the_gate_refuses_a_big_change_even_when_accuracy_passes(registry):
    decision = promote_if_better(registry, "moons", 3, max_boundary_change=0.01)
    assert decision["promoted"] is False and decision["refused_by"] == [
        "boundary_change"
    ]
    change = decision["boundary_change"]
    assert change["against_version"] == 1
    assert change["changed_fraction"] == pytest.approx(
        _expected_fraction(registry, 1, 3)
    )
    assert registry.aliases("moons")["production"] == 1


def test_the_gate_admits_a_change_within_the_limit(registry):
    decision = promote_if_better(registry, "moons", 2, max_boundary_change=0.0)
    assert decision["promoted"] is True and decision["refused_by"] == []
    assert decision["boundary_change"]["changed_fraction"] == 0.0
    assert registry.aliases("moons")["production"] == 2
    # off by default: the same big change passes on accuracy alone
    assert promote_if_better(registry, "moons", 3)["promoted"] is True


def test_manual_promotion_takes_the_same_limit(registry, capsys):
    root = str(registry.root)
    argv = ["promote", "--registry", root, "--name", "moons"]
    assert main([*argv, "--version", "3", "--max-boundary-change", "0.01"]) == 3
    assert "over the limit" in capsys.readouterr().out
    assert registry.aliases("moons")["production"] == 1
    assert main([*argv, "--version", "2", "--max-boundary-change", "0"]) == 0
    assert main([*argv, "--version", "3", "--max-boundary-change", "2"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err


@pytest.mark.slow
def test_train_records_the_measured_change_and_exits_3(tmp_path, capsys):
    root = str(tmp_path / "models")
    base = ["train", "--registry", root, "--epochs", "300", "--print-every", "0"]
    assert main([*base, "--promote"]) == 0
    capsys.readouterr()
    gated = [*base, "--seed", "5", "--promote-if-better", "--tolerance", "1"]
    assert main([*gated, "--max-boundary-change", "0", "--json"]) == 3
    gate = json.loads(capsys.readouterr().out)["gate"]
    assert gate["refused_by"] == ["boundary_change"]
    registry = Registry(root)
    record = registry.read_manifest("moons", 2)["boundary_change"]
    assert record["against_version"] == 1
    assert record["changed_fraction"] == gate["boundary_change"]["changed_fraction"]
    assert registry.aliases("moons")["production"] == 1
    # a generous limit admits the next one; TOML spells it the same
    config = tmp_path / "gate.toml"
    config.write_text("promote-if-better = true\nmax-boundary-change = 0.5\n")
    code = main([*base, "--seed", "6", "--tolerance", "1", "--config", str(config)])
    assert code == 0 and registry.aliases("moons")["production"] == 3
    capsys.readouterr()


def test_the_limit_needs_the_gate(tmp_path, capsys):
    code = main(["train", "--registry", str(tmp_path), "--max-boundary-change", "0.1"])
    assert code == 2 and "--promote-if-better" in capsys.readouterr().err
