"""`/boundary/diff` and reference predictions against the real server."""

import io
import shutil

import numpy as np
import requests

from tests.helpers.registry_samples import (
    forward_from_disk,
    publish_network,
    replace_weights,
)
from tests.integration.conftest import wait_until
from trainer.registry import Registry
from trainer.registry.artifact import WEIGHTS_FILE, read_weights, weights_bytes
from trainer.registry.promotion import promote_if_better

MODEL = "diffs"


def _publish(registry_path, service_url) -> tuple[int, int, int]:
    registry = Registry(registry_path)
    a = publish_network(registry, MODEL, seed=21)
    b = publish_network(registry, MODEL, seed=22)
    registry.set_alias(MODEL, "production", a)
    three = publish_network(registry, MODEL, seed=23, classes=(0, 1, 2))
    wait_until(lambda: _known(service_url, three, a), f"{MODEL} v{three} listed")
    return a, b, three


def _known(service_url: str, version: int, production: int) -> bool:
    """Whether every worker (10 answers in a row, likely both) lists the version
    and the alias: each polls on its own."""
    for _ in range(10):
        listing = requests.get(f"{service_url}/models", timeout=30).json()["models"]
        if not any(
            m["name"] == MODEL
            and version in m["versions"]
            and m["aliases"].get("production") == production
            for m in listing
        ):
            return False
    return True


def test_the_diff_is_the_one_computed_from_both_weights(service_url, registry_path):
    a, b, three = _publish(registry_path, service_url)
    query = {"model": MODEL, "a": "production", "b": b, "nx": 120, "ny": 80}
    response = requests.get(f"{service_url}/boundary/diff", params=query, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["model"], body["a"], body["b"]) == (MODEL, a, b)
    xs, ys = np.array(body["x"]), np.array(body["y"])
    assert (len(xs), len(ys)) == (120, 80)
    # default bounds: the union of both data extents plus 0.5
    registry = Registry(registry_path)
    low = registry.read_manifest(MODEL, a)["data"]["feature_min"]
    assert xs[0] == low[0] - 0.5 and ys[0] == low[1] - 0.5
    xx, yy = np.meshgrid(xs, ys)
    X = np.column_stack([xx.ravel(), yy.ravel()])
    labels_a, _ = forward_from_disk(registry_path, MODEL, a, X)
    labels_b, _ = forward_from_disk(registry_path, MODEL, b, X)
    expected = (labels_a != labels_b).reshape(80, 120).astype(int)
    assert np.array_equal(np.array(body["changed"]), expected)
    assert body["changed_fraction"] == expected.mean() > 0

    # the same grid by POST, as npy and png
    posted = requests.post(
        f"{service_url}/boundary/diff",
        params={"model": MODEL, "a": a, "b": b},
        json={"nx": 120, "ny": 80, "format": "npy"},
        timeout=30,
    )
    assert posted.status_code == 200
    mask = np.load(io.BytesIO(posted.content), allow_pickle=False)
    assert mask.dtype == np.uint8 and np.array_equal(mask, expected)
    png = requests.get(
        f"{service_url}/boundary/diff",
        params={**query, "format": "png"},
        timeout=30,
    )
    assert png.headers["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")


def test_the_diff_refuses_what_it_cannot_compare(service_url, registry_path):
    a, b, three = _publish(registry_path, service_url)
    cases = [
        ({"a": a, "b": three}, 400, "incomparable_versions"),
        ({"a": a}, 400, "missing_parameter"),
        ({"a": a, "b": 999}, 404, "version_not_found"),
        ({"a": a, "b": b, "nx": 2000, "ny": 2001}, 413, "too_many_cells"),
        ({"a": a, "b": b, "x_min": 2, "x_max": 1}, 400, "invalid_bounds"),
    ]
    for params, status, code in cases:
        response = requests.get(
            f"{service_url}/boundary/diff",
            params={"model": MODEL, **params},
            timeout=30,
        )
        assert response.status_code == status, (params, response.text)
        assert response.json()["error"]["code"] == code


def test_a_version_off_its_reference_is_never_served(
    service_url, registry_path, tmp_path
):
    # built in a private registry and renamed in whole, like a publication, so the
    # service never sees the version before its weights drift
    private = Registry(tmp_path / "private")
    good = publish_network(private, "drifted", seed=31)
    bad = publish_network(private, "drifted", seed=32)
    version_dir = private.root / "drifted" / str(bad)
    coefs, intercepts = read_weights((version_dir / WEIGHTS_FILE).read_bytes())
    # one weight, so the logits move apart (a shift of every column would not show
    # through softmax); checksums re-sealed: only the reference can tell
    coefs[0] = coefs[0].copy()
    coefs[0][0, 0] += 1e-6
    replace_weights(version_dir, weights_bytes(coefs, intercepts))
    target = registry_path / "drifted"
    target.mkdir()
    for version in (good, bad):
        shutil.copytree(
            private.root / "drifted" / str(version), target / f".in-{version}"
        )
        (target / f".in-{version}").rename(target / str(version))

    def listed() -> dict | None:
        models = requests.get(f"{service_url}/models", timeout=30).json()["models"]
        return next((m for m in models if m["name"] == "drifted"), None)

    def refused_everywhere() -> bool:
        # every worker (10 answers in a row, likely both) verifies on its own
        return all((listed() or {}).get("failed_versions") for _ in range(10))

    wait_until(refused_everywhere, "the refusal listed by every worker")
    model = listed()
    assert model["served_version"] == good
    assert [f["version"] for f in model["failed_versions"]] == [bad]
    assert "reference predictions" in model["failed_versions"][0]["error"]
    response = requests.post(
        f"{service_url}/predict?model=drifted", json={"points": [[0, 0]]}, timeout=30
    )
    assert response.json()["version"] == good


def test_the_gate_and_the_service_measure_the_same_change(service_url, registry_path):
    registry = Registry(registry_path)
    production = publish_network(registry, "gated", seed=41)
    registry.set_alias("gated", "production", production)
    candidate = publish_network(registry, "gated", seed=42)
    decision = promote_if_better(registry, "gated", candidate, max_boundary_change=0.0)
    assert decision["promoted"] is False
    assert decision["refused_by"] == ["boundary_change"]
    change = decision["boundary_change"]
    x_min, x_max, y_min, y_max = change["bounds"]
    grid = {"x_min": x_min, "x_max": x_max, "y_min": y_min, "y_max": y_max}
    grid |= {"nx": change["nx"], "ny": change["ny"]}

    answers = []

    def answered() -> bool:
        # a worker that has not polled since the publish answers 404: ask again
        response = requests.post(
            f"{service_url}/boundary/diff",
            params={"model": "gated", "a": "production", "b": candidate},
            json=grid,
            timeout=30,
        )
        answers.append(response)
        return response.status_code == 200

    wait_until(answered, "both versions known")
    body = answers[-1].json()
    assert body["a"] == production
    assert body["changed_fraction"] == change["changed_fraction"] > 0
