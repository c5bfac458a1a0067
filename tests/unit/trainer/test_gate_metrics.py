"""Gate decisions counted in a Prometheus text file (`train --metrics-file`)."""

import json

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.registry_samples import publish_network
from trainer.cli import gate_metrics
from trainer.cli.main import main
from trainer.registry import Registry


def _samples(path) -> dict:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(path.read_text())
        for s in family.samples
    }


def test_counts_accumulate_by_outcome_and_reason(tmp_path):
    path = tmp_path / "gate.prom"
    gate_metrics.record(path, "moons", True, [])
    gate_metrics.record(path, "moons", False, ["accuracy", "boundary_change"])
    gate_metrics.record(path, "moons", False, ["boundary_change"])
    gate_metrics.record(path, 'odd"name', False, ["conflict"])
    samples = _samples(path)

    def count(metric: str, label: str, value: str, model: str = "moons") -> float:
        return samples[
            (f"scratchnet_gate_{metric}_total", (("model", model), (label, value)))
        ]

    assert count("decisions", "outcome", "promoted") == 1
    assert count("decisions", "outcome", "refused") == 2
    assert count("refusals", "reason", "accuracy") == 1
    assert count("refusals", "reason", "boundary_change") == 2
    assert count("refusals", "reason", "conflict", model='odd"name') == 1


def test_a_damaged_file_never_stops_a_run(tmp_path):
    path = tmp_path / "gate.prom"
    path.write_text("not metrics\n\x00\x01")
    gate_metrics.record(path, "moons", True, [])
    assert list(_samples(path).values()) == [1]


def test_train_writes_the_decision(tmp_path, capsys):
    registry = Registry(tmp_path / "models")
    publish_network(registry, "moons", seed=2)
    registry.set_alias("moons", "production", 1)
    path = tmp_path / "textfile" / "scratchnet.prom"
    path.parent.mkdir()
    argv = [
        "train", "--registry", str(registry.root), "--epochs", "50", "--print-every",
        "0", "--promote-if-better", "--tolerance", "1", "--max-boundary-change", "0",
        "--metrics-file", str(path), "--json",
    ]  # fmt: skip
    assert main(argv) == 3
    assert json.loads(capsys.readouterr().out)["gate"]["refused_by"] == [
        "boundary_change"
    ]
    samples = _samples(path)
    key = (("model", "moons"), ("reason", "boundary_change"))
    assert samples[("scratchnet_gate_refusals_total", key)] == 1


def test_the_metrics_file_needs_the_gate(tmp_path, capsys):
    code = main(["train", "--registry", str(tmp_path), "--metrics-file", "x.prom"])
    assert code == 2 and "--promote-if-better" in capsys.readouterr().err
