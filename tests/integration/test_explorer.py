"""The explorer's page and API additions over real HTTP, against gunicorn."""

import io

import numpy as np
import requests

from service.explorer import CONTENT_SECURITY_POLICY
from tests.helpers.registry_samples import fields, layers
from tests.integration.conftest import wait_until
from trainer.registry import Registry
from trainer.registry.sample import SAMPLE_FILE, build_sample, sample_bytes


def test_the_page_and_its_assets_come_with_the_policy(service_url):
    page = requests.get(f"{service_url}/", timeout=30)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert '<script type="module" src="/explorer/explorer.js">' in page.text
    for asset, kind in [
        ("explorer.js", "text/javascript"),
        ("explorer.css", "text/css"),
    ]:
        response = requests.get(f"{service_url}/explorer/{asset}", timeout=30)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith(kind)
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_published_sample_is_served_and_the_probabilities_grid_too(
    service_url, registry_path
):
    rng = np.random.default_rng(5)
    sample = build_sample(
        rng.normal(size=(50, 2)), [0, 1] * 25, rng.normal(size=(12, 2)), [0, 1] * 6
    )
    version = Registry(registry_path).publish(
        "explorer-sample",
        *layers(seed=4),
        fields(),
        {SAMPLE_FILE: sample_bytes(sample)},
    )
    url = f"{service_url}/models/explorer-sample/versions/{version}/data"
    wait_until(
        lambda: requests.get(url, timeout=30).status_code == 200,
        "every worker serves the new model's sample",
    )
    body = requests.get(url, timeout=30).json()
    assert body["points"] == sample["points"] and body["split"] == sample["split"]
    grid = requests.get(
        f"{service_url}/boundary",
        params={
            "model": "explorer-sample",
            "nx": 20,
            "ny": 10,
            "format": "npy",
            "values": "probabilities",
        },
        timeout=30,
    )
    assert grid.status_code == 200
    assert grid.headers["Content-Type"] == "application/octet-stream"
    P = np.load(io.BytesIO(grid.content), allow_pickle=False)
    assert P.shape == (10, 20, 2) and P.dtype == np.float32
    np.testing.assert_allclose(P.sum(axis=2), 1.0, rtol=1e-6)
    manifest = requests.get(
        f"{service_url}/models/explorer-sample/versions/{version}", timeout=30
    ).json()
    assert SAMPLE_FILE in manifest["files"]
