"""The data sample and the loss curve a version keeps for the explorer."""

import hashlib
import json

import numpy as np
import pytest

from tests.helpers import registry_samples as samples
from trainer.cli.main import main
from trainer.errors import VerificationError
from trainer.registry import Registry
from trainer.registry.manifest import (
    MAX_LOSS_POINTS,
    build_manifest,
    downsample_loss_curve,
)
from trainer.registry.sample import (
    MAX_SAMPLE_POINTS,
    SAMPLE_FILE,
    build_sample,
    sample_bytes,
)


def split_data(n_train: int, n_val: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X_train, X_val = rng.normal(size=(n_train, 2)), rng.normal(size=(n_val, 2))
    return X_train, list(np.arange(n_train) % 2), X_val, list(np.arange(n_val) % 2)


def test_a_small_dataset_is_kept_whole_with_its_split():
    X_train, y_train, X_val, y_val = split_data(160, 40)
    sample = build_sample(X_train, y_train, X_val, y_val)
    assert sample["points"] == [*X_train.tolist(), *X_val.tolist()]
    assert sample["labels"] == [*y_train, *y_val]
    assert sample["split"] == ["train"] * 160 + ["validation"] * 40
    assert (sample["n_train"], sample["n_validation"]) == (160, 40)


def test_a_large_dataset_is_capped_and_each_split_keeps_its_share():
    X_train, y_train, X_val, y_val = split_data(8000, 2000)
    sample = build_sample(X_train, y_train, X_val, y_val, seed=3)
    assert len(sample["points"]) == MAX_SAMPLE_POINTS
    assert sample["split"].count("train") == 1600
    assert sample["split"].count("validation") == 400
    # every point is a real one of its split, with its own label
    train_rows = dict(zip(map(tuple, X_train.tolist()), y_train, strict=True))
    listed = zip(sample["points"], sample["labels"], sample["split"], strict=True)
    for point, label, part in listed:
        if part == "train":
            assert train_rows[tuple(point)] == label
    again = build_sample(X_train, y_train, X_val, y_val, seed=3)
    assert sample_bytes(again) == sample_bytes(sample)


def publish_with_sample(registry: Registry, sample: dict | None = None) -> int:
    X_train, y_train, X_val, y_val = split_data(30, 10)
    sample = sample or build_sample(X_train, y_train, X_val, y_val)
    return registry.publish(
        "moons",
        *samples.layers(),
        samples.fields(),
        {SAMPLE_FILE: sample_bytes(sample)},
    )


def test_the_sample_is_listed_with_its_checksum_and_read_back(tmp_path):
    registry = Registry(tmp_path)
    version = publish_with_sample(registry)
    manifest = registry.read_manifest("moons", version)
    data = (tmp_path / "moons" / str(version) / SAMPLE_FILE).read_bytes()
    assert manifest["files"][SAMPLE_FILE] == hashlib.sha256(data).hexdigest()
    sample = registry.read_sample("moons", version, manifest)
    assert len(sample["points"]) == 40 and sample["split"].count("validation") == 10
    assert registry.check("moons") == []


def test_a_version_without_a_sample_has_none(tmp_path):
    registry = Registry(tmp_path)
    version = samples.publish_network(registry)
    manifest = registry.read_manifest("moons", version)
    assert SAMPLE_FILE not in manifest["files"]
    assert registry.read_sample("moons", version, manifest) is None


def test_an_edited_sample_fails_verification(tmp_path):
    registry = Registry(tmp_path)
    version = publish_with_sample(registry)
    path = tmp_path / "moons" / str(version) / SAMPLE_FILE
    edited = json.loads(path.read_bytes())
    edited["labels"][0] = 1 - edited["labels"][0]
    path.write_bytes(json.dumps(edited).encode())
    with pytest.raises(VerificationError, match=f"{SAMPLE_FILE} does not match"):
        registry.load("moons", version)
    assert registry.check("moons")


def test_a_sample_file_the_manifest_does_not_list_fails_verification(tmp_path):
    registry = Registry(tmp_path)
    version = samples.publish_network(registry)
    (tmp_path / "moons" / str(version) / SAMPLE_FILE).write_bytes(b"{}")
    with pytest.raises(VerificationError, match="unexpected files"):
        registry.load("moons", version)


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda s: s["points"][0].append(1.0), "2 finite numbers"),
        (lambda s: s["labels"].__setitem__(0, 7), "one of architecture.classes"),
        (lambda s: s["split"].__setitem__(0, "test"), "split must name"),
        (lambda s: s["labels"].pop(), "equally long"),
        (lambda s: s.__setitem__("n_train", -1), "n_train must be a count"),
    ],
)
def test_a_malformed_sample_is_refused_at_publication(tmp_path, edit, words):
    X_train, y_train, X_val, y_val = split_data(30, 10)
    sample = build_sample(X_train, y_train, X_val, y_val)
    edit(sample)
    with pytest.raises(VerificationError, match=words):
        publish_with_sample(Registry(tmp_path), sample)
    assert (
        not (tmp_path / "moons").exists() or Registry(tmp_path).versions("moons") == []
    )


def test_the_loss_curve_is_downsampled_evenly_keeping_both_ends():
    losses = [1.0 / (epoch + 1) for epoch in range(20_000)]
    curve = downsample_loss_curve(losses)
    assert len(curve["epochs"]) == MAX_LOSS_POINTS == len(curve["loss"])
    assert curve["epochs"][0] == 1 and curve["epochs"][-1] == 20_000
    gaps = np.diff(curve["epochs"])
    assert gaps.min() >= 19 and gaps.max() <= 21
    assert all(curve["loss"][k] == losses[e - 1] for k, e in enumerate(curve["epochs"]))
    short = downsample_loss_curve([0.5, 0.25])
    assert short == {"epochs": [1, 2], "loss": [0.5, 0.25]}


@pytest.mark.parametrize(
    "curve",
    [
        [0.1, 0.2],
        {"epochs": [1, 2], "loss": [0.1]},
        {"epochs": [2, 1], "loss": [0.1, 0.2]},
        {"epochs": [1], "loss": ["0.5"]},
        {"epochs": list(range(1, 1002)), "loss": [0.1] * 1001},
    ],
)
def test_a_malformed_loss_curve_is_refused(curve):
    fields = {**samples.fields(), "loss_curve": curve, "created_at": "2026-01-01"}
    fields["trainer_version"] = "0"
    with pytest.raises(VerificationError, match="loss_curve"):
        build_manifest("moons", 1, fields, "ab" * 32)


def test_train_stores_the_sample_and_the_loss_curve(tmp_path, capsys):
    root = tmp_path / "models"
    argv = ["train", "--registry", str(root), "--epochs", "1500", "--json"]
    assert main([*argv, "--samples", "300"]) == 0
    registry = Registry(root)
    manifest = registry.read_manifest("moons", 1)
    curve = manifest["loss_curve"]
    assert len(curve["loss"]) == MAX_LOSS_POINTS
    assert (
        curve["epochs"][0] == 1
        and curve["epochs"][-1] == manifest["training"]["epochs"]
    )
    sample = registry.read_sample("moons", 1, manifest)
    assert sample["split"].count("train") == manifest["training"]["n_train"] == 240
    assert sample["split"].count("validation") == 60
    assert set(sample["labels"]) == {0, 1}
