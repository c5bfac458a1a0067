"""Every route over real HTTP against gunicorn: shapes, rejections, limits, metrics."""

import io
import math
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from service.client import Client
from service.metrics import FLUSH_SECONDS
from tests.helpers.api_cases import JSON, REJECTIONS
from tests.helpers.registry_samples import forward_from_disk
from tests.integration.conftest import wait_until


def predict(url: str, points: list, query: str = "") -> requests.Response:
    return requests.post(f"{url}/predict{query}", json={"points": points}, timeout=30)


def assert_error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (status, code)
    assert error["message"]
    return error["message"]


@pytest.mark.parametrize("case", REJECTIONS, ids=lambda case: case.id)
def test_every_rejection_over_http(service_url, case):
    response = requests.request(
        case.method,
        service_url + case.path,
        data=case.body,
        headers=case.headers,
        timeout=30,
    )
    assert_error(response, case.status, case.code)


def test_too_many_points_with_the_default_limit(service_url):
    body = b'{"points": [' + b",".join([b"[0,0]"] * 100_001) + b"]}"
    response = requests.post(
        f"{service_url}/predict", data=body, headers=JSON, timeout=60
    )
    assert "100001 points sent; the limit is 100000" in assert_error(
        response, 413, "too_many_points"
    )


def test_a_body_over_the_byte_limit_is_refused_before_it_is_read(service_url):
    # a declared 20 MB body: the answer comes without the body ever being sent
    parts = urlsplit(service_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: test\r\n"
            b"Content-Type: application/json\r\nContent-Length: 20000000\r\n"
            b"Connection: close\r\n\r\n"
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b'"code":"body_too_large"' in body


def test_predictions_equal_a_forward_pass_of_the_published_weights(
    service_url, registry_path
):
    X = np.random.default_rng(7).uniform(-1.5, 2.5, (500, 2))
    response = predict(service_url, X.tolist())
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"model", "version", "classes", "labels", "probabilities"}
    assert body["model"] == "moons" and body["classes"] == [0, 1]
    assert response.headers["X-Model-Version"] == str(body["version"])
    indices, P = forward_from_disk(registry_path, "moons", body["version"], X)
    np.testing.assert_allclose(body["probabilities"], P, rtol=1e-12, atol=1e-15)
    assert body["labels"] == indices.tolist()


def test_boundary_labels_equal_predict_on_the_same_points(service_url):
    grid = requests.get(
        f"{service_url}/boundary",
        params={"x_min": -2, "x_max": 3, "y_min": -1.5, "y_max": 2, "nx": 60, "ny": 40},
        timeout=30,
    ).json()
    assert set(grid) == {"model", "version", "classes", "x", "y", "labels"}
    assert len(grid["x"]) == 60 and len(grid["y"]) == 40
    xx, yy = np.meshgrid(grid["x"], grid["y"])
    points = np.column_stack([xx.ravel(), yy.ravel()])
    labels, _ = Client(service_url).predict(points, version=grid["version"])
    assert np.array(grid["labels"]).ravel().tolist() == labels.tolist()


def test_boundary_formats(service_url):
    as_json = requests.post(
        f"{service_url}/boundary", json={"nx": 50, "ny": 30}, timeout=30
    ).json()
    npy = requests.get(f"{service_url}/boundary?nx=50&ny=30&format=npy", timeout=30)
    assert npy.status_code == 200
    assert npy.headers["X-Model-Version"] == str(as_json["version"])
    indices = np.load(io.BytesIO(npy.content), allow_pickle=False)
    assert indices.dtype == np.uint8 and indices.shape == (30, 50)
    np.testing.assert_array_equal(indices, np.array(as_json["labels"]))  # classes 0, 1
    png = requests.get(f"{service_url}/boundary?nx=50&ny=30&format=png", timeout=30)
    assert png.headers["Content-Type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(png.content[16:20], "big") == 50


def test_models_and_manifests(service_url):
    api = Client(service_url)
    listing = api.models()
    moons = next(model for model in listing["models"] if model["name"] == "moons")
    assert moons["served_version"] in moons["versions"]
    served = moons["served_version"]
    manifest = api.manifest("moons")
    assert (manifest["name"], manifest["version"]) == ("moons", served)
    assert manifest["architecture"]["n_features"] == 2
    assert api.manifest("moons", served) == manifest


def test_health_readiness_openapi(service_url):
    assert requests.get(f"{service_url}/healthz", timeout=30).json() == {"status": "ok"}
    ready = requests.get(f"{service_url}/readyz", timeout=30).json()
    assert ready["status"] == "ready" and ready["model"] == "moons"
    doc = requests.get(f"{service_url}/openapi.json", timeout=30).json()
    assert "/predict" in doc["paths"] and "/boundary" in doc["paths"]


def test_request_id_is_echoed(service_url):
    response = requests.get(
        f"{service_url}/healthz", headers={"X-Request-ID": "trace-42"}, timeout=30
    )
    assert response.headers["X-Request-ID"] == "trace-42"


def test_metrics_count_requests_of_both_workers(service_url, metrics_dir):
    def count() -> float:
        text = requests.get(f"{service_url}/metrics", timeout=30).text
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "scratchnet_http_requests_total"
            and sample.labels["route"] == "/boundary"
        )

    def per_worker() -> dict[str, float]:
        # each worker process keeps its own samples file
        return {
            path.name: sum(
                value
                for key, value, *_ in MmapedDict.read_all_values_from_file(str(path))
                if '"scratchnet_http_requests_total"' in key and '"/boundary"' in key
            )
            for path in metrics_dir.glob("counter_*.db")
        }

    def slow_grid(i: int) -> requests.Response:
        # a large uncached grid keeps a sync worker busy, so overlapping requests
        # must be accepted by the other worker too (quick ones can all land on one)
        params = {"nx": 1500, "ny": 1500, "format": "npy", "x_min": -2 - i * 1e-3}
        return requests.get(f"{service_url}/boundary", params=params, timeout=60)

    # a worker writes its samples to its file within FLUSH_SECONDS of a request
    # (service.metrics), so the other worker's file may still lack the last requests
    # of the tests before: take the baseline once the files stop changing
    wait_until(files_settled(per_worker), "the workers' metric files settled")
    before = count()
    sent = 0
    for _ in range(5):  # bounded: overlapping requests nearly always split at once
        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(slow_grid, range(sent, sent + 16)))
        assert [r.status_code for r in responses] == [200] * 16
        sent += 16
        wait_until(
            lambda: count() - before == sent,  # noqa: B023 - called right here
            f"/metrics counting all {sent} requests",
        )
        if sum(1 for n in per_worker().values() if n > 0) >= 2:
            break
    assert count() - before == sent
    assert sum(1 for n in per_worker().values() if n > 0) >= 2, per_worker()


def files_settled(read: Callable[[], object]) -> Callable[[], bool]:
    """A wait_until condition: `read()` gave the same value over a flush period."""
    seen: list = []
    # wait_until checks every 0.05 s; compare readings more than a period apart
    apart = math.ceil(FLUSH_SECONDS / 0.05) + 1

    def settled() -> bool:
        seen.append(read())
        return len(seen) > apart and seen[-1] == seen[-1 - apart]

    return settled


def test_a_chunked_body_is_read(service_url):
    # a generator makes requests send Transfer-Encoding: chunked, no Content-Length
    chunks = iter([b'{"points": ', b"[[0.5, 0.25],", b" [1, 2]]}"])
    response = requests.post(
        f"{service_url}/predict", data=chunks, headers=JSON, timeout=30
    )
    assert response.status_code == 200 and len(response.json()["labels"]) == 2
    # the whole body was read, not a prefix: the same answer as with a Content-Length
    body = response.json()
    plain = predict(service_url, [[0.5, 0.25], [1, 2]], f"?version={body['version']}")
    assert body == plain.json()
