"""manifest.json: documented fields, a digest over its content, strict validation."""

import numpy as np
import pytest

from tests.helpers import registry_samples as samples
from trainer.errors import VerificationError
from trainer.nn import network
from trainer.registry import artifact
from trainer.registry.manifest import (
    build_manifest,
    check_architecture,
    manifest_bytes,
    manifest_digest,
    parse_manifest,
)
from trainer.registry.reference import probe_points, reference_section


def _manifest() -> dict:
    coefs, intercepts = samples.layers()
    data = artifact.weights_bytes(coefs, intercepts)
    fields = {
        **samples.fields(),
        "created_at": "2026-11-29T14:00:00Z",
        "trainer_version": "0.1.0",
    }
    points = probe_points(fields["data"]["feature_min"], fields["data"]["feature_max"])
    P = network.predict_proba(points, coefs, intercepts, "tanh")
    fields["reference"] = reference_section(points, P)
    return build_manifest("moons", 3, fields, artifact.sha256_hex(data))


def test_manifest_round_trips_and_lists_documented_fields_first():
    manifest = _manifest()
    assert list(manifest)[:4] == ["schema_version", "name", "version", "kind"]
    assert parse_manifest(manifest_bytes(manifest)) == manifest


def test_any_edit_to_the_manifest_breaks_its_digest():
    manifest = _manifest()
    manifest["metrics"]["validation_accuracy"] = 1.0
    with pytest.raises(VerificationError, match="manifest_digest"):
        parse_manifest(manifest_bytes(manifest))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.update(schema_version=3), "unknown schema_version 3"),
        (lambda m: m.pop("reference"), "reference must be an object"),
        (
            lambda m: m["reference"].update(points=m["reference"]["points"][:63]),
            "at least 64 rows",
        ),
        (
            lambda m: m["reference"]["points"][0].append(1.0),
            "at least 64 rows of 2 finite",
        ),
        (
            lambda m: m["reference"]["probabilities"][5].__setitem__(0, 1.5),
            "one row of 2 probabilities",
        ),
        (
            lambda m: m["reference"]["probabilities"].pop(),
            "one row of 2 probabilities",
        ),
        (lambda m: m.update(schema_version=1), "reference needs schema_version 2"),
        (
            lambda m: m.update(boundary_change={"against_version": 1}),
            "boundary_change.changed_fraction",
        ),
        (lambda m: m.pop("architecture"), "architecture must be a dict"),
        (lambda m: m.update(kind="svm"), "kind must be one of"),
        (lambda m: m.update(version=0), "version must be positive"),
        (lambda m: m.update(created_at="yesterday"), "ISO 8601"),
        (lambda m: m["architecture"].update(classes=[0]), "two or more distinct"),
        (lambda m: m["architecture"].update(activation="softplus"), "activation"),
        (lambda m: m["data"].update(feature_min=[0.0]), "2 finite numbers"),
        (lambda m: m["files"].update(extra="00" * 32), "files must map"),
        (
            lambda m: m["data"].update(feature_min=m["data"]["feature_max"][::-1]),
            "must not exceed",
        ),
        (
            lambda m: m["metrics"].pop("validation_accuracy"),
            "validation_accuracy is required",
        ),
        (
            lambda m: m["metrics"].update(validation_accuracy=7.0),
            "between 0 and 1",
        ),
        (lambda m: m["metrics"].update(train_accuracy=-0.1), "between 0 and 1"),
    ],
)
def test_manifest_schema_refusals(edit, message):
    manifest = _manifest()
    edit(manifest)
    manifest["manifest_digest"] = manifest_digest(manifest)
    with pytest.raises(VerificationError, match=message):
        parse_manifest(manifest_bytes(manifest))


def test_schema_1_manifests_without_a_reference_still_parse():
    manifest = _manifest()
    del manifest["reference"]
    manifest["schema_version"] = 1
    manifest["manifest_digest"] = manifest_digest(manifest)
    assert parse_manifest(manifest_bytes(manifest))["schema_version"] == 1


def test_the_probe_points_cover_the_extent_and_add_a_training_sample():
    sample = np.arange(100.0).reshape(50, 2)
    points = probe_points([-1.0, -2.0], [1.0, 2.0], sample)
    assert len(points) == 64 + 16
    assert points[:64].min(axis=0).tolist() == [-1.0, -2.0]
    assert points[:64].max(axis=0).tolist() == [1.0, 2.0]
    assert points[64].tolist() == [0.0, 1.0] and points[-1].tolist() == [98.0, 99.0]
    # many features: seeded draws inside the box, never a grid of 2**20 points
    wide = probe_points([0.0] * 20, [1.0] * 20)
    assert wide.shape == (64, 20) and 0 <= wide.min() and wide.max() <= 1


def test_manifest_refuses_nan_and_non_objects():
    with pytest.raises(VerificationError, match="NaN is not allowed"):
        parse_manifest(b'{"schema_version": NaN}')
    with pytest.raises(VerificationError, match="JSON object"):
        parse_manifest(b"[1, 2]")
    with pytest.raises(VerificationError, match="not valid JSON"):
        parse_manifest(b'{"schema_version": 1')


def test_shapes_must_match_the_architecture():
    manifest = _manifest()
    coefs, _ = samples.layers(hidden=(4,))
    with pytest.raises(VerificationError, match="disagree"):
        check_architecture(manifest, coefs)
    check_architecture(manifest, samples.layers(hidden=(3,))[0])
