"""SIGKILL a worker under load, five times: the clients lose at most the requests that
were in flight on it, and the worker gunicorn starts in its place serves the production
version from its first request.
"""

import os
import signal
import time

import requests

from tests.faults.conftest import record
from tests.faults.load import Load
from tests.faults.procfs import workers_of
from tests.helpers.registry_samples import publish_network
from tests.integration.conftest import Gunicorn, wait_until
from trainer.registry import Registry

KILLS = 5
CONNECTIONS = 4


def test_a_killed_worker_costs_at_most_its_requests_in_flight(tmp_path):
    root = tmp_path / "registry"
    registry = Registry(root)
    publish_network(registry, "moons", seed=1)
    production = publish_network(registry, "moons", seed=2)
    publish_network(registry, "moons", seed=3)  # newer, but not production
    registry.set_alias("moons", "production", production)
    server = Gunicorn(tmp_path, root, workers=2)
    replaced = []
    try:
        with Load(server.url, connections=CONNECTIONS) as load:
            for _ in range(KILLS):
                time.sleep(1.0)
                before = workers_of(server.process.pid)
                victim = before[0]
                os.kill(victim, signal.SIGKILL)
                new = wait_for_replacement(server.process.pid, before)
                replaced.append((victim, new))
                # until the new worker has loaded, gunicorn's other worker answers;
                # every answer must be production either way
                assert first_versions(server.url, 20) == {production}
            time.sleep(1.0)
        outcomes = load.snapshot()
    finally:
        server.stop()
    failures = [o for o in outcomes if o.status != 200]
    record(
        "worker_kill",
        kills=KILLS,
        connections=CONNECTIONS,
        requests=len(outcomes),
        failed=len(failures),
        failed_kinds=sorted({o.error or str(o.status) for o in failures}),
    )
    assert len(replaced) == KILLS
    # at most one request in flight per connection when its worker dies
    assert len(failures) <= KILLS * CONNECTIONS, failures
    assert {o.version for o in outcomes if o.status == 200} == {production}


def wait_for_replacement(master: int, before: list[int]) -> int:
    """The PID of the worker gunicorn starts for the killed one."""

    def replaced() -> bool:
        now = workers_of(master)
        return len(now) == len(before) and len(set(now) - set(before)) == 1

    wait_until(replaced, "a replacement worker")
    (new,) = set(workers_of(master)) - set(before)
    return new


def first_versions(url: str, n_requests: int) -> set[int]:
    """Versions answering fresh connections (each may land on either worker)."""
    versions = set()
    for _ in range(n_requests):
        response = requests.post(
            f"{url}/predict", json={"points": [[0.0, 0.0]]}, timeout=10
        )
        assert response.status_code == 200, response.text
        versions.add(response.json()["version"])
    return versions
