"""The service on an s3:// registry: hot swaps, a store outage, its own cache.

A real gunicorn (tests/integration's fixture) reads a prefix of a real SeaweedFS. The
outage test runs its own SeaweedFS, stops it under the running service and starts it
again on the same ports and directory.
"""

import os
import subprocess
import time
import uuid

import requests

from tests.helpers.registry_samples import publish_network
from tests.helpers.seaweedfs import BUCKET, SeaweedFS
from tests.integration.conftest import (
    GUNICORN,
    ROOT,
    Gunicorn,
    free_port,
    served_versions,
    terminate,
    wait_until,
)
from trainer.registry import Registry


def _metric(url: str, name: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def test_the_service_hot_swaps_versions_published_to_s3(seaweed, tmp_path):
    location = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    registry = Registry(location)
    publish_network(registry, "moons", seed=1)
    cache = tmp_path / "cache"
    server = Gunicorn(tmp_path, location, workers=2, SCRATCHNET_CACHE_DIR=str(cache))
    try:
        assert served_versions(server.url) == {1}
        publish_network(registry, "moons", seed=2)
        wait_until(lambda: served_versions(server.url) == {2}, "v2 served")
        registry.set_alias("moons", "production", 1)
        wait_until(lambda: served_versions(server.url) == {1}, "production -> v1")
        # the verified files are on local disk, fetched once for both workers
        cached = sorted(p.parent.name for p in cache.rglob("weights.npz.*"))
        assert cached == ["1", "2"]
        body = requests.get(f"{server.url}/models/moons", timeout=10).json()
        assert body["version"] == 1
    finally:
        assert server.stop() == 0, server.log()


def test_the_service_rides_out_a_store_outage_and_catches_up(tmp_path, monkeypatch):
    store = SeaweedFS(tmp_path / "store")
    try:
        for key, value in store.env.items():
            monkeypatch.setenv(key, value)
        location = f"s3://{BUCKET}/outage"
        publish_network(Registry(location), "moons", seed=1)
        server = Gunicorn(tmp_path, location, workers=2)
        try:
            # both workers have loaded v1 (a worker booting into an outage has
            # nothing to serve: the start-up test below)
            wait_until(
                lambda: _metric(server.url, "scratchnet_model_reloads_total") >= 2,
                "v1 loaded by both workers",
            )
            store.stop()
            # polls fail; what is loaded goes on answering, and the pod stays ready
            wait_until(
                lambda: (
                    _metric(server.url, "scratchnet_registry_read_failures_total") >= 6
                ),
                "the failed polls counted",
            )
            ready = requests.get(f"{server.url}/readyz", timeout=10)
            assert ready.ok, (ready.text, server.log())
            assert served_versions(server.url) == {1}
            # every failure counted, but logged once per worker (service/outages.py)
            logged = server.log_path.read_text().count('"cannot list the registry"')
            assert 1 <= logged <= 2, server.log()
            store.start()
            publish_network(Registry(location), "moons", seed=2)
            wait_until(lambda: served_versions(server.url) == {2}, "caught up")
            assert "the registry can be listed again" in server.log_path.read_text()
        finally:
            assert server.stop() == 0, server.log()
    finally:
        store.stop()


def test_an_unreachable_store_at_start_is_not_ready_and_says_why(tmp_path, monkeypatch):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for key, value in {
        "AWS_ENDPOINT_URL": dead,
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    # Gunicorn waits for a 200 from /readyz, which never comes: start it by hand
    port = free_port()
    env = {
        **os.environ,
        "SCRATCHNET_REGISTRY": f"s3://{BUCKET}/x",
        "SCRATCHNET_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
    }
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", "service:create_app()"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        response = None
        deadline = time.monotonic() + 60
        while response is None:
            assert time.monotonic() < deadline, log.read_text()
            assert process.poll() is None, log.read_text()
            try:
                response = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=30)
            except requests.RequestException:
                time.sleep(0.2)
        assert response.status_code == 503
        assert "object store is unreachable" in response.json()["error"]["message"]
        assert "cannot list the registry" in log.read_text()
    finally:
        terminate(process, timeout=30)
