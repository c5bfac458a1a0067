"""Seeded networks and hand-made artifacts for tests: no training, so they stay fast.

Random weights rather than a training run: publishing takes milliseconds, and every
test that checks a prediction recomputes it from the published weights anyway. The
edits below reach past the registry on purpose, as a forger or an operator would.
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trainer.registry import Registry
from trainer.registry.aliases import ALIASES_FILE, aliases_bytes
from trainer.registry.artifact import WEIGHTS_FILE, sha256_hex
from trainer.registry.atomic import replace_atomically
from trainer.registry.manifest import (
    MANIFEST_FILE,
    build_manifest,
    manifest_bytes,
    manifest_digest,
)

# moons-like data extent, per feature (the service draws its default grid from it)
_LOW = (-1.2, -0.7, -1.0, -1.0)
_HIGH = (2.2, 1.3, 1.0, 1.0)


def layers(
    seed: int = 0,
    hidden: Sequence[int] = (3,),
    n_features: int = 2,
    n_classes: int = 2,
    scale: float = 1.0,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A n_features -> hidden... -> n_classes network with seeded normal weights.

    Weights are `scale` times standard normal draws, biases standard normal.
    """
    rng = np.random.default_rng(seed)
    sizes = [n_features, *hidden, n_classes]
    shapes = zip(sizes, sizes[1:], strict=False)
    coefs = [scale * rng.normal(size=shape) for shape in shapes]
    intercepts = [rng.normal(size=size) for size in sizes[1:]]
    return coefs, intercepts


def fields(
    hidden: Sequence[int] = (3,),
    n_features: int = 2,
    classes: Sequence[int | str] = (0, 1),
    activation: str = "tanh",
    validation_accuracy: float = 0.9,
) -> dict[str, Any]:
    """Manifest fields as the trainer would pass them to `Registry.publish`.

    No hidden layer makes it the logistic-regression baseline (`kind: logreg`).
    """
    extra = max(0, n_features - len(_LOW))
    return {
        "kind": "mlp" if hidden else "logreg",
        "architecture": {
            "n_features": n_features,
            "hidden_layer_sizes": list(hidden),
            "activation": activation if hidden else None,
            "classes": list(classes),
        },
        "training": {"dataset": {"name": "moons"}, "seed": 0},
        "data": {
            "sha256": "ab" * 32,
            "feature_min": [*_LOW[:n_features], *[-1.0] * extra],
            "feature_max": [*_HIGH[:n_features], *[1.0] * extra],
        },
        "metrics": {
            "train_accuracy": 0.95,
            "validation_accuracy": validation_accuracy,
            "train_loss": 0.1,
            "validation_loss": 0.2,
            "baseline_validation_accuracy": 0.85,
        },
    }


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
    # weights twice the standard normal: decision regions with visible structure
    network = layers(seed, hidden, n_features, len(classes), scale=2.0)
    return registry.publish(
        name, *network, fields(hidden, n_features, classes, activation)
    )


def forward_from_disk(registry_root: Path, name: str, version: int, X: np.ndarray):
    """Class indices and probabilities recomputed from weights.npz with numpy."""
    with np.load(registry_root / name / str(version) / WEIGHTS_FILE) as npz:
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
    manifest = json.loads((model_dir / str(source) / MANIFEST_FILE).read_text())
    kept = {
        key: value
        for key, value in manifest.items()
        if key not in ("schema_version", "name", "version", "files", "manifest_digest")
    }
    rebuilt = build_manifest(name, target, kept, manifest["files"][WEIGHTS_FILE])
    weights = bytearray((model_dir / str(source) / WEIGHTS_FILE).read_bytes())
    weights[-100] ^= 0xFF
    temp = model_dir / f".corrupt-{target}"
    temp.mkdir()
    (temp / MANIFEST_FILE).write_bytes(manifest_bytes(rebuilt))
    (temp / WEIGHTS_FILE).write_bytes(bytes(weights))
    temp.rename(model_dir / str(target))


def write_aliases(model_dir: Path, aliases: dict[str, int]) -> None:
    """Replace `aliases.json` by hand, as an operator would: no history, no checks."""
    replace_atomically(model_dir / ALIASES_FILE, aliases_bytes(aliases))


def rewrite_manifest(version_dir: Path, edit: Any) -> None:
    """Apply `edit(manifest)` and re-seal its digest, as a careful forger would.

    Tests use it to reach the checks behind the digest (shapes, schema, checksums).
    """
    path = version_dir / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    edit(manifest)
    manifest["manifest_digest"] = manifest_digest(manifest)
    path.write_bytes(manifest_bytes(manifest))


def replace_weights(version_dir: Path, data: bytes) -> None:
    """Swap in other weights and re-seal the manifest: only the array checks remain."""
    (version_dir / WEIGHTS_FILE).write_bytes(data)
    sha = sha256_hex(data)
    rewrite_manifest(version_dir, lambda m: m["files"].__setitem__(WEIGHTS_FILE, sha))
