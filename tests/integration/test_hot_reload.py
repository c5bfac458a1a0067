"""New versions go live without a restart or a failed request; corrupt ones never do."""

import threading

import requests

from service.client import Client
from tests.helpers.registry_samples import corrupt_copy, publish_network, write_aliases
from tests.integration.conftest import served_versions, wait_until
from trainer.registry import Registry


class Traffic:
    """Requests from a thread while a change happens; records their statuses."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Traffic":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            response = requests.post(
                f"{self.url}/predict", json={"points": [[0.5, 0.5]] * 50}, timeout=30
            )
            self.statuses.append(response.status_code)


def test_a_new_version_is_served_without_restart_or_failed_requests(
    service_url, registry_path
):
    registry = Registry(registry_path)
    old = registry.served_version("moons")
    with Traffic(service_url) as traffic:
        new = publish_network(registry, "moons", seed=11)
        assert new > old
        wait_until(lambda: served_versions(service_url) == {new}, f"v{new} served")
    assert traffic.statuses and set(traffic.statuses) == {200}
    listing = Client(service_url).models()
    moons = next(model for model in listing["models"] if model["name"] == "moons")
    assert moons["served_version"] == new and new in moons["versions"]


def test_an_alias_change_is_followed(service_url, registry_path):
    registry = Registry(registry_path)
    if len(registry.versions("moons")) < 2:
        publish_network(registry, "moons", seed=12)
    oldest, newest = registry.versions("moons")[0], registry.versions("moons")[-1]
    before = registry.aliases("moons")
    try:
        registry.set_alias("moons", "production", oldest)  # a rollback
        wait_until(lambda: served_versions(service_url) == {oldest}, "the rollback")
    finally:
        # leave the session's registry as it was (no API unsets an alias)
        write_aliases(registry_path / "moons", before)
        wait_until(lambda: served_versions(service_url) == {newest}, "the reset")


def test_a_corrupt_version_is_refused_and_the_old_keeps_serving(
    service_url, registry_path
):
    registry = Registry(registry_path)
    good = registry.served_version("moons")
    bad = registry.versions("moons")[-1] + 1
    with Traffic(service_url) as traffic:
        corrupt_copy(registry_path, "moons", source=good, target=bad)

        def both_workers_refused() -> bool:
            listings = [
                requests.get(f"{service_url}/models", timeout=30).json()
                for _ in range(10)
            ]
            return all(
                bad
                in [
                    f["version"]
                    for m in listing["models"]
                    for f in m["failed_versions"]
                ]
                for listing in listings
            )

        wait_until(both_workers_refused, f"v{bad} refused by every worker")
    assert set(traffic.statuses) == {200}
    assert served_versions(service_url) == {good}
    response = requests.post(
        f"{service_url}/predict?version={bad}", json={"points": [[0, 0]]}, timeout=30
    )
    assert response.status_code == 503
    assert "failed verification" in response.json()["error"]["message"]
    metrics = requests.get(f"{service_url}/metrics", timeout=30).text
    assert (
        f'scratchnet_model_verification_failures_total{{model="moons",version="{bad}"}}'
        in metrics
    )
