"""Scheduled retraining end to end: the quality gate in front of a live service.

What a nightly job does (deploy/retrain.sh `once`), outside containers: run
`python -m trainer train --promote-if-better` against the registry a running gunicorn
reads. A better model is promoted and served after a poll, with no restart; a worse one
is published, refused (exit 3) and the served version stays. The model has a name of
its own, so the shared session server's default model is left as other tests expect.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from tests.helpers.registry_samples import publish_network
from tests.integration.conftest import ROOT, served_versions, wait_until
from trainer.registry import Registry

MODEL = "retrain-moons"
# docs/architecture.md: published, but the gate kept production
EXIT_NOT_PROMOTED = 3


def test_a_better_retrain_is_served_and_a_worse_one_is_refused(
    service_url: str, registry_path: Path
) -> None:
    # A weak production to improve on: random weights, recorded as a coin flip (0.5
    # validation accuracy), published in-process because no training is needed.
    registry = Registry(registry_path)
    weak = publish_network(registry, MODEL, seed=5)
    registry.set_alias(MODEL, "production", weak)
    wait_until(
        lambda: served_versions(service_url, MODEL) == {weak}, f"the weak v{weak}"
    )
    weak_accuracy = accuracy(registry.read_manifest(MODEL, weak))

    better = train(registry_path, "--promote-if-better")
    assert accuracy(better) > weak_accuracy  # the premise
    assert better["promoted"] is True
    assert better["gate"]["production_version"] == weak
    wait_until(
        lambda: served_versions(service_url, MODEL) == {better["version"]},
        f"the promoted v{better['version']} served",
    )

    # One pass over the data leaves the network close to its random start.
    worse = train(
        registry_path, "--epochs", "1", "--promote-if-better", expect=EXIT_NOT_PROMOTED
    )
    assert accuracy(worse) < accuracy(better)  # the premise
    assert worse["promoted"] is False
    assert worse["gate"]["production_version"] == better["version"]
    # Once every worker lists the refused version, each has polled since it was
    # published, and still the promoted one is served.
    refused = worse["version"]
    wait_until(
        lambda: all(refused in listed_versions(service_url) for _ in range(10)),
        f"v{refused} listed by every worker",
    )
    assert served_versions(service_url, MODEL) == {better["version"]}
    # Refused is not broken: the version is published and answers when asked for.
    response = requests.post(
        f"{service_url}/predict",
        params={"model": MODEL, "version": worse["version"]},
        json={"points": [[0.0, 0.0]]},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.json()["version"] == worse["version"]


def train(registry: Path, *options: str, expect: int = 0) -> dict[str, Any]:
    """Run the trainer CLI as a scheduled job would; its --json result."""
    command = [sys.executable, "-m", "trainer", "train", "--registry", str(registry)]
    command += ["--name", MODEL, "--print-every", "0", "--json", *options]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == expect, result.stderr
    return json.loads(result.stdout)


def accuracy(result: dict[str, Any]) -> float:
    """Validation accuracy from a manifest or a `train --json` result."""
    return result["metrics"]["validation_accuracy"]


def listed_versions(url: str) -> list[int]:
    models = requests.get(f"{url}/models", timeout=30).json()["models"]
    return next((m["versions"] for m in models if m["name"] == MODEL), [])
