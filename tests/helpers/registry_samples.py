"""Small hand-made artifacts for registry tests: no training, so the tests stay fast."""

import json
from pathlib import Path
from typing import Any

import numpy as np

from trainer.registry import artifact
from trainer.registry.manifest import manifest_bytes, manifest_digest


def layers(seed: int = 0, hidden: int = 3) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A 2 -> hidden -> 2 network with seeded random weights."""
    rng = np.random.default_rng(seed)
    coefs = [rng.normal(size=(2, hidden)), rng.normal(size=(hidden, 2))]
    intercepts = [rng.normal(size=hidden), rng.normal(size=2)]
    return coefs, intercepts


def fields(hidden: int = 3, validation_accuracy: float = 0.9) -> dict[str, Any]:
    """Manifest fields as the trainer would pass them to `Registry.publish`."""
    return {
        "kind": "mlp",
        "architecture": {
            "n_features": 2,
            "hidden_layer_sizes": [hidden],
            "activation": "tanh",
            "classes": [0, 1],
        },
        "training": {"dataset": {"name": "moons"}, "seed": 0},
        "data": {
            "sha256": "ab" * 32,
            "feature_min": [-1.5, -1.0],
            "feature_max": [2.5, 1.5],
        },
        "metrics": {
            "train_accuracy": 0.95,
            "validation_accuracy": validation_accuracy,
            "train_loss": 0.1,
            "validation_loss": 0.2,
            "baseline_validation_accuracy": 0.85,
        },
    }


def rewrite_manifest(version_dir: Path, edit: Any) -> None:
    """Apply `edit(manifest)` and re-seal its digest, as a careful forger would.

    Tests use it to reach the checks behind the digest (shapes, schema, checksums).
    """
    path = version_dir / artifact.MANIFEST_FILE
    manifest = json.loads(path.read_text())
    edit(manifest)
    manifest["manifest_digest"] = manifest_digest(manifest)
    path.write_bytes(manifest_bytes(manifest))


def replace_weights(version_dir: Path, data: bytes) -> None:
    """Swap in other weights and re-seal the manifest: only the array checks remain."""
    (version_dir / artifact.WEIGHTS_FILE).write_bytes(data)
    sha = artifact.sha256_hex(data)
    rewrite_manifest(
        version_dir, lambda m: m["files"].__setitem__(artifact.WEIGHTS_FILE, sha)
    )
