"""The fault suite: the service and the trainer under the faults a deployment meets.

Every test here is bounded in time and count, starts its own servers on free loopback
ports and stops them by their own PID. Each records its figures with `record(...)`,
appended as one JSON line to build/fault-report.jsonl, which docs/reliability.md quotes.
"""

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.stack import Stack, nginx_path
from tests.helpers.registry_samples import publish_network
from trainer.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "build" / "fault-report.jsonl"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.faults)


def record(test: str, **figures: object) -> None:
    """Append one test's figures to the fault report (and show them with -s)."""
    REPORT.parent.mkdir(exist_ok=True)
    line = json.dumps({"test": test, "at": time.strftime("%FT%TZ"), **figures})
    with REPORT.open("a") as report:
        report.write(line + "\n")
    print(line)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The deployed stack: nginx (deploy/k8s/nginx.conf) in front of gunicorn."""
    if nginx_path() is None:
        message = "needs nginx, the deployed proxy: apt-get install -y nginx"
        if os.environ.get("CI"):
            pytest.fail(message + " (.ci/run installs it)")
        pytest.skip(message)
    registry = tmp_path_factory.mktemp("faults-registry")
    publish_network(Registry(registry), "moons", seed=1)
    deployed = Stack(tmp_path_factory.mktemp("faults"), registry, "shipped", proxy=True)
    try:
        yield deployed
    finally:
        deployed.stop()
