"""service.client against a real gunicorn: answers, typed errors, retries; and the
HTTP extras a browser app or a slow link needs (CORS, gzip) on the real stack.

The shared server (`service_url`) answers the plain calls. A second server of this
module's own runs with a token file, CORS origins and a low gzip threshold, over a
registry this module may break and retrain in (a model with no verified version is
how the real service says 503). The trainer's offline `predict` and `gc` are checked
against what the service answers and lists.
"""

import gzip
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests

from service.client import (
    BadRequest,
    Boundary,
    Client,
    ConnectionFailed,
    NotFound,
    Unauthorized,
    Unavailable,
)
from tests.helpers.registry_samples import forward_from_disk, publish_network
from tests.integration.conftest import ROOT, Gunicorn, free_port, wait_until
from trainer.registry import Registry
from trainer.registry.artifact import WEIGHTS_FILE

TOKEN = "client-test-token"
ORIGIN = "https://explorer.example.com"


@pytest.fixture(scope="module")
def extras(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server with tokens, CORS and gzip from 10,000 bytes; and its registry."""
    work = tmp_path_factory.mktemp("client")
    registry = work / "models"
    for seed in (1, 2, 3, 4):
        publish_network(Registry(registry), "moons", seed=seed)
    tokens = work / "tokens"
    tokens.write_text(f"{TOKEN}\n")
    server = Gunicorn(
        work,
        registry,
        workers=1,
        SCRATCHNET_API_TOKENS_FILE=str(tokens),
        SCRATCHNET_CORS_ORIGINS=f"{ORIGIN}, http://localhost:5173",
        SCRATCHNET_GZIP_MIN_BYTES="10000",
    )
    try:
        yield server.url, registry
    finally:
        server.stop()


def test_predict_equals_a_forward_pass_of_the_published_weights(
    service_url, registry_path
):
    X = np.random.default_rng(11).uniform(-1.5, 2.5, (300, 2))
    with Client(service_url) as api:
        version = api.manifest("moons")["version"]
        labels, P = api.predict(X, version=version)
    indices, expected = forward_from_disk(registry_path, "moons", version, X)
    assert labels.tolist() == indices.tolist()
    assert P.shape == (300, 2)
    np.testing.assert_allclose(P, expected, rtol=1e-12, atol=1e-15)


def test_boundary_models_and_typed_errors(service_url):
    api = Client(service_url)
    grid = api.boundary(x_min=-2, x_max=3, y_min=-1.5, y_max=2, nx=30, ny=20)
    assert isinstance(grid, Boundary) and grid.labels.shape == (20, 30)
    indices = api.boundary(version=grid.version, x_min=-2, x_max=3, y_min=-1.5,
                           y_max=2, nx=30, ny=20, format="npy")  # fmt: skip
    np.testing.assert_array_equal(indices, grid.labels)  # classes 0 and 1
    png = api.boundary(nx=30, ny=20, format="png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    xx, yy = np.meshgrid(grid.x, grid.y)
    labels, _ = api.predict(np.column_stack([xx.ravel(), yy.ravel()]),
                            version=grid.version)  # fmt: skip
    assert labels.tolist() == grid.labels.ravel().tolist()
    listing = api.models()
    assert "moons" in [model["name"] for model in listing["models"]]
    with pytest.raises(NotFound) as caught:
        api.predict([[0, 0]], model="no-such-model")
    assert caught.value.status == 404 and "no-such-model" in caught.value.message
    with pytest.raises(BadRequest) as caught:
        api.predict([[0, 0, 0]])
    assert caught.value.code == "invalid_points"
    assert "2 features" in caught.value.message


def test_nothing_listening_ends_in_connection_failed_after_bounded_retries():
    started = time.monotonic()
    api = Client(f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.05)
    with pytest.raises(ConnectionFailed, match="no answer after 3 attempts"):
        api.models()
    assert time.monotonic() - started < 10


def test_a_503_is_retried_until_a_verified_version_arrives(extras):
    url, registry = extras
    reg = Registry(registry)
    publish_network(reg, "late", seed=5)
    weights = registry / "late" / "1" / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-30] ^= 0xFF  # bit rot: v1 never verifies, so "late" has nothing to serve
    weights.write_bytes(bytes(data))
    api = Client(url, token=TOKEN, retries=1, backoff=0.05)
    wait_until(lambda: _status(api, "late") == 503, "the broken model seen")
    with pytest.raises(Unavailable) as caught:
        api.predict([[0, 0]], model="late")
    assert caught.value.status == 503 and caught.value.code
    # a patient client rides out the wait: v2 is published while it retries
    patient = Client(url, token=TOKEN, retries=60, backoff=0.2, max_backoff=0.5)
    later = threading.Timer(0.5, publish_network, (reg, "late"), {"seed": 6})
    later.start()
    labels, P = patient.predict([[0.5, 0.25]], model="late")
    later.join()
    assert labels.shape == (1,) and P.shape == (1, 2)


def _status(api: Client, model: str) -> int:
    try:
        api.predict([[0, 0]], model=model)
    except (Unavailable, NotFound) as exc:
        return exc.status
    return 200


def test_a_token_is_sent_and_its_absence_is_typed(extras):
    url, _ = extras
    assert Client(url, token=TOKEN).models()["models"]
    with pytest.raises(Unauthorized) as caught:
        Client(url).models()
    assert caught.value.code == "unauthorized"
    with pytest.raises(Unauthorized, match="not valid"):
        Client(url, token="wrong").predict([[0, 0]])


def test_a_preflight_needs_no_token_and_listed_origins_get_the_headers(extras):
    url, _ = extras
    preflight = requests.options(
        f"{url}/predict",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"},
        timeout=30,
    )  # fmt: skip
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for path, method in (
        ("/predict", "POST"),
        ("/boundary", "GET"),
        ("/models", "GET"),
    ):
        body = {"points": [[0, 0]]} if method == "POST" else None
        listed = requests.request(method, url + path, json=body, timeout=30,
                                  headers={**auth, "Origin": ORIGIN})  # fmt: skip
        assert listed.status_code == 200
        assert listed.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "X-Model-Version" in listed.headers["Access-Control-Expose-Headers"]
        other = requests.request(
            method,
            url + path,
            json=body,
            timeout=30,
            headers={**auth, "Origin": "https://other.example"},
        )
        assert other.status_code == 200
        assert "Access-Control-Allow-Origin" not in other.headers
    refused = requests.post(f"{url}/predict", json={"points": [[0, 0]]}, timeout=30,
                            headers={"Origin": ORIGIN})  # fmt: skip
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_large_answers_are_gzipped_for_clients_that_accept_it(extras):
    url, _ = extras
    auth = {"Authorization": f"Bearer {TOKEN}"}
    points = {"points": np.random.default_rng(2).uniform(-1, 2, (2000, 2)).tolist()}
    raw = requests.post(f"{url}/predict", json=points, stream=True, timeout=30,
                        headers={**auth, "Accept-Encoding": "gzip"})  # fmt: skip
    assert raw.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in raw.headers["Vary"]
    packed = raw.raw.read()  # the bytes on the wire, not decoded
    assert int(raw.headers["Content-Length"]) == len(packed)
    plain = requests.post(f"{url}/predict", json=points, timeout=30,
                          headers={**auth, "Accept-Encoding": "identity"})  # fmt: skip
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(packed) == plain.content
    assert len(packed) < len(plain.content) * 0.7
    # the client (requests decodes gzip) gets the same arrays either way
    labels, P = Client(url, token=TOKEN).predict(points["points"])
    assert labels.tolist() == plain.json()["labels"]
    small = requests.post(f"{url}/predict", json={"points": [[0, 0]]}, timeout=30,
                          headers={**auth, "Accept-Encoding": "gzip"})  # fmt: skip
    assert "Content-Encoding" not in small.headers


def test_offline_predict_answers_what_the_service_answers(extras, tmp_path):
    url, registry = extras
    X = np.random.default_rng(5).uniform(-1.5, 2.5, (500, 2))
    source = tmp_path / "points.csv"
    np.savetxt(source, X, delimiter=",", fmt="%.17g", header="x1,x2", comments="")
    output = tmp_path / "scored.csv"
    subprocess.run(
        [sys.executable, "-m", "trainer", "predict", "--registry", str(registry),
         "--version", "4", "--input", str(source), "--output", str(output)],
        cwd=ROOT, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    rows = np.loadtxt(output, delimiter=",", skiprows=1)
    labels, P = Client(url, token=TOKEN).predict(X, version=4)
    assert rows[:, 0].astype(int).tolist() == labels.tolist()
    np.testing.assert_array_equal(rows[:, 1:], P)  # the same pass, to the last bit


def test_gc_removes_versions_the_service_then_stops_listing(extras):
    url, registry = extras
    api = Client(url, token=TOKEN)
    reg = Registry(registry)
    reg.set_alias("moons", "production", 2)
    wait_until(lambda: api.manifest("moons")["version"] == 2, "production v2 served")
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "gc", "--registry", str(registry),
         "--keep", "1", "--json"],
        cwd=ROOT, check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert '"removed": [3, 1]' in result.stdout
    assert reg.versions("moons") == [2, 4]

    def listed() -> list[int]:
        models = api.models()["models"]
        return next(m["versions"] for m in models if m["name"] == "moons")

    wait_until(lambda: listed() == [2, 4], "the removed versions unlisted")
    assert api.predict([[0.5, 0.5]])[1].shape == (1, 2)
    with pytest.raises(NotFound):
        api.predict([[0.5, 0.5]], version=3)
