"""Reference predictions: every schema-2 version reproduces its own, or is never served.

The tampering here is consistent, as a drifted numeric environment (or a careful
forger) would leave it: the weights' sha256 and the manifest digest both match, so
only the recomputed reference can tell.
"""

import json

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import create_app
from service.settings import Settings
from tests.helpers.registry_samples import (
    fields,
    publish_network,
    replace_weights,
    rewrite_manifest,
)
from trainer.cli.main import main
from trainer.registry import Registry
from trainer.registry.artifact import WEIGHTS_FILE, read_weights, weights_bytes
from trainer.registry.reference import (
    MIN_PROBES,
    ReferenceMismatchError,
    tolerance_from_env,
)


def _drift_weights(version_dir, by: float = 1e-6) -> None:
    """Nudge one weight and re-seal sha256 and digest: only the reference differs."""
    coefs, intercepts = read_weights((version_dir / WEIGHTS_FILE).read_bytes())
    coefs[0] = coefs[0].copy()
    coefs[0][0, 0] += by
    replace_weights(version_dir, weights_bytes(coefs, intercepts))


def _drift_reference(version_dir) -> None:
    def edit(manifest):
        manifest["reference"]["probabilities"][3][0] -= 1e-6
        manifest["reference"]["probabilities"][3][1] += 1e-6

    rewrite_manifest(version_dir, edit)


def _to_schema_1(version_dir) -> None:
    def edit(manifest):
        del manifest["reference"]
        manifest["schema_version"] = 1

    rewrite_manifest(version_dir, edit)


@pytest.fixture
def registry(tmp_path) -> Registry:
    registry = Registry(tmp_path / "models")
    publish_network(registry, "moons", seed=1)
    publish_network(registry, "moons", seed=2)
    return registry


def test_a_new_version_carries_a_reference_that_its_weights_reproduce(registry):
    model = registry.load("moons", 1)
    reference = model.manifest["reference"]
    assert model.manifest["schema_version"] == 2
    assert len(reference["points"]) >= MIN_PROBES
    P = model.predict_proba(np.array(reference["points"]))
    assert np.array_equal(P, np.array(reference["probabilities"]))
    assert model.reference_difference == 0.0


def test_the_reference_spans_the_data_extent_and_the_training_sample(tmp_path):
    registry = Registry(tmp_path)
    rng = np.random.default_rng(0)
    coefs = [rng.normal(size=(2, 3)), rng.normal(size=(3, 2))]
    intercepts = [rng.normal(size=3), rng.normal(size=2)]
    sample = rng.uniform(-1, 1, size=(40, 2))
    registry.publish("m", coefs, intercepts, fields(), probe_sample=sample)
    points = np.array(registry.read_manifest("m")["reference"]["points"])
    assert len(points) == 64 + 16
    low, high = fields()["data"]["feature_min"], fields()["data"]["feature_max"]
    assert points[:64].min(axis=0).tolist() == low
    assert points[:64].max(axis=0).tolist() == high
    # the training points are the last 16, taken evenly through the sample
    assert all(any(np.array_equal(p, s) for s in sample) for p in points[64:])


@pytest.mark.parametrize("tamper", [_drift_weights, _drift_reference])
def test_a_version_that_does_not_reproduce_its_reference_is_refused(registry, tamper):
    tamper(registry.root / "moons" / "2")
    with pytest.raises(ReferenceMismatchError, match="reference predictions"):
        registry.load("moons", 2)
    # past a tolerance chosen for the fleet, the same version loads
    lenient = Registry(registry.root, reference_tolerance=1e-3)
    assert lenient.load("moons", 2).reference_difference > 1e-9


def test_a_schema_1_version_still_loads_without_a_reference(registry):
    _to_schema_1(registry.root / "moons" / "2")
    model = registry.load("moons", 2)
    assert model.manifest["schema_version"] == 1
    assert model.reference_difference is None


def test_the_service_keeps_the_previous_version_and_reports_the_refusal(registry):
    _drift_weights(registry.root / "moons" / "2")
    app = create_app(Settings(registry=registry.root, poll_seconds=0))
    client = app.test_client()
    response = client.post("/predict", json={"points": [[0.0, 0.0]]})
    assert response.status_code == 200 and response.get_json()["version"] == 1
    (moons,) = client.get("/models").get_json()["models"]
    assert moons["served_version"] == 1 and moons["served_reference"] == "verified"
    (failed,) = moons["failed_versions"]
    assert failed["version"] == 2 and "reference predictions" in failed["error"]
    assert client.get("/models/moons/versions/2").status_code == 503
    text = client.get("/metrics").get_data(as_text=True)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    key = (("model", "moons"), ("version", "2"))
    assert samples[("scratchnet_model_reference_mismatches_total", key)] >= 1
    assert samples[("scratchnet_model_verification_failures_total", key)] >= 1


def test_readiness_waits_for_a_version_that_passes(tmp_path):
    registry = Registry(tmp_path / "models")
    publish_network(registry, "moons", seed=1)
    _drift_reference(registry.root / "moons" / "1")
    client = create_app(Settings(registry=registry.root, poll_seconds=0)).test_client()
    assert client.get("/readyz").status_code == 503
    publish_network(registry, "moons", seed=3)
    client.application.extensions["scratchnet.context"].store.refresh()
    assert client.get("/readyz").status_code == 200


def test_models_says_a_schema_1_version_has_no_reference(registry):
    _to_schema_1(registry.root / "moons" / "2")
    client = create_app(Settings(registry=registry.root, poll_seconds=0)).test_client()
    (moons,) = client.get("/models").get_json()["models"]
    assert moons["served_version"] == 2 and moons["served_reference"] == "absent"


def test_verify_and_show_refuse_with_exit_4(registry, capsys, monkeypatch):
    _drift_weights(registry.root / "moons" / "2")
    root = str(registry.root)
    assert main(["verify", "--registry", root, "--json"]) == 4
    report = json.loads(capsys.readouterr().out)
    (problem,) = report["models"]["moons"]["problems"]
    assert problem["where"] == "v2" and "reference" in problem["message"]
    assert main(["show", "--registry", root, "--version", "2"]) == 4
    assert "reference predictions" in capsys.readouterr().err
    # the environment's tolerance reaches the CLI too
    monkeypatch.setenv("SCRATCHNET_REFERENCE_TOLERANCE", "1e-3")
    assert main(["verify", "--registry", root]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("raw", ["-1", "nan", "inf", "lots"])
def test_a_bad_tolerance_is_refused_everywhere(registry, capsys, monkeypatch, raw):
    with pytest.raises(ValueError, match="SCRATCHNET_REFERENCE_TOLERANCE"):
        tolerance_from_env({"SCRATCHNET_REFERENCE_TOLERANCE": raw})
    with pytest.raises(ValueError, match="SCRATCHNET_REFERENCE_TOLERANCE"):
        Settings.from_env({"SCRATCHNET_REFERENCE_TOLERANCE": raw})
    monkeypatch.setenv("SCRATCHNET_REFERENCE_TOLERANCE", raw)
    assert main(["verify", "--registry", str(registry.root)]) == 2
    assert "finite non-negative" in capsys.readouterr().err
