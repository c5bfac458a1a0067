"""The deployed stack under attack: nginx (deploy/k8s/nginx.conf) in front of gunicorn
(deploy/gunicorn.conf.py, 2 workers), on free 127.0.0.1 ports, against a temporary
registry with a published `moons` network. Every test here is marked `chaos`; they
need Debian's nginx (`apt-get install -y nginx`) and are skipped without it.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.stack import Stack, nginx_path
from tests.registry_helpers import publish_network
from trainer.registry import Registry


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.chaos)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if nginx_path() is None:
        pytest.skip("needs nginx, the deployed proxy: apt-get install -y nginx")
    registry = tmp_path_factory.mktemp("chaos-registry")
    publish_network(Registry(registry), "moons", seed=1)
    deployed = Stack(tmp_path_factory.mktemp("chaos"), registry, "shipped", proxy=True)
    try:
        yield deployed
    finally:
        deployed.stop()
