"""Publish small, seeded networks into a registry for the service's tests.

Random weights rather than a training run: publishing takes milliseconds, and every
test that checks a prediction recomputes it from the published weights.npz anyway.
"""

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trainer.registry import Registry, artifact


def publish_network(
    registry: Registry,
    name: str = "moons",
    seed: int = 0,
    hidden: Sequence[int] = (3,),
    n_features: int = 2,
    classes: Sequence[int | str] = (0, 1),
    activation: str = "tanh",
) -> int:
    """Publish a seeded network with moons-like data extent; return its version."""
    rng = np.random.default_rng(seed)
    sizes = [n_features, *hidden, len(classes)]
    coefs = [rng.normal(0, 2, (a, b)) for a, b in zip(sizes, sizes[1:], strict=False)]
    intercepts = [rng.normal(0, 1, b) for b in sizes[1:]]
    low = [-1.2, -0.7, -1.0, -1.0][:n_features] + [-1.0] * max(0, n_features - 4)
    high = [2.2, 1.3, 1.0, 1.0][:n_features] + [1.0] * max(0, n_features - 4)
    fields = {
        "kind": "mlp" if hidden else "logreg",
        "architecture": {
            "n_features": n_features,
            "hidden_layer_sizes": list(hidden),
            "activation": activation if hidden else None,
            "classes": list(classes),
        },
        "training": {"dataset": {"name": "test", "seed": seed}, "seed": seed},
        "data": {"sha256": "0" * 64, "feature_min": low, "feature_max": high},
        "metrics": {"train_accuracy": 0.5, "validation_accuracy": 0.5},
    }
    return registry.publish(name, coefs, intercepts, fields)


def forward_from_disk(registry_root: Path, name: str, version: int, X: np.ndarray):
    """Class indices and probabilities recomputed from weights.npz with numpy."""
    with np.load(registry_root / name / str(version) / "weights.npz") as npz:
        n_layers = len(npz.files) // 2
        coefs = [npz[f"coef_{i}"] for i in range(n_layers)]
        intercepts = [npz[f"intercept_{i}"] for i in range(n_layers)]
    H = X
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        H = H @ W + b
        if i < n_layers - 1:
            H = np.tanh(H)
    Z = H - H.max(axis=1, keepdims=True)
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    return H.argmax(axis=1), P


def corrupt_copy(registry_root: Path, name: str, source: int, target: int) -> None:
    """Place a copy of version `source` as `target` with one weight byte flipped.

    The manifest is rebuilt for `target` (so it verifies on its own) and still names
    the original weights' sha256, which the flipped byte no longer matches. Built beside
    the versions and renamed in, like a publication, so a poller sees it whole.
    """
    model_dir = registry_root / name
    manifest = json.loads((model_dir / str(source) / "manifest.json").read_text())
    fields = {
        key: value
        for key, value in manifest.items()
        if key not in ("schema_version", "name", "version", "files", "manifest_digest")
    }
    rebuilt = artifact.build_manifest(
        name, target, fields, manifest["files"]["weights.npz"]
    )
    weights = bytearray((model_dir / str(source) / "weights.npz").read_bytes())
    weights[-100] ^= 0xFF
    temp = model_dir / f".corrupt-{target}"
    temp.mkdir()
    (temp / "manifest.json").write_bytes(artifact.manifest_bytes(rebuilt))
    (temp / "weights.npz").write_bytes(bytes(weights))
    temp.rename(model_dir / str(target))
