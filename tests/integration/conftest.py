"""A real gunicorn for the integration tests, or a deployed service at SCRATCHNET_URL.

Session fixtures: `registry_path` (a temporary registry with a published `moons`
model) and `service_url` (gunicorn started with deploy/gunicorn.conf.py on a free port,
2 workers, a short poll interval; ready once /readyz answers 200). With SCRATCHNET_URL
set the tests call that URL instead, and tests that must write to the service's registry
need SCRATCHNET_TEST_REGISTRY to point at it (they are skipped otherwise).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.helpers.registry_samples import publish_network
from trainer.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
POLL_SECONDS = 0.2
READY_TIMEOUT = 60.0
# generous: each worker polls every fraction of a second, but the machine is shared
DEADLINE_SECONDS = 30.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def local_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("registry")
    publish_network(Registry(root), "moons", seed=1)
    return root


@pytest.fixture(scope="session")
def registry_path(request: pytest.FixtureRequest) -> Path:
    """The registry the service reads; tests may publish into it."""
    if os.environ.get("SCRATCHNET_URL"):
        shared = os.environ.get("SCRATCHNET_TEST_REGISTRY")
        if not shared:
            pytest.skip(
                "needs SCRATCHNET_TEST_REGISTRY: the deployed service's registry"
            )
        return Path(shared)
    return request.getfixturevalue("local_registry")


@pytest.fixture(scope="session")
def local_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator["Gunicorn | None"]:
    if os.environ.get("SCRATCHNET_URL"):
        yield None
        return
    registry = request.getfixturevalue("local_registry")
    server = Gunicorn(tmp_path_factory.mktemp("service"), registry, workers=2)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def service_url(local_server: "Gunicorn | None") -> str:
    if local_server is None:
        return os.environ["SCRATCHNET_URL"].rstrip("/")
    return local_server.url


@pytest.fixture(scope="session")
def metrics_dir(local_server: "Gunicorn | None") -> Path:
    """The prometheus multiprocess directory of the local server (local runs only)."""
    if local_server is None:
        pytest.skip("a deployed service's metric files are not visible here")
    return local_server.metrics_dir


class Gunicorn:
    """gunicorn with the production config on a free port; stopped by its own PID."""

    def __init__(
        self,
        work: Path,
        registry: Path,
        workers: int,
        own_group: bool = False,
        **env: str,
    ) -> None:
        # own_group: a process group of its own, as a terminal's foreground job has,
        # so a test can signal master and workers together (Ctrl-C)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = work / "gunicorn.log"
        self.metrics_dir = work / "metrics"
        self.metrics_dir.mkdir()
        environ = {
            **os.environ,
            "SCRATCHNET_REGISTRY": str(registry),
            "SCRATCHNET_DEFAULT_MODEL": "moons",
            "SCRATCHNET_POLL_SECONDS": str(POLL_SECONDS),
            "SCRATCHNET_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(workers),
            "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
            **env,
        }
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    str(GUNICORN),
                    "-c",
                    "deploy/gunicorn.conf.py",
                    "service:create_app()",
                ],
                cwd=ROOT,
                env=environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=own_group,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"gunicorn exited with {self.process.returncode}:\n{self.log()}"
                )
            try:
                if requests.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                # refused before the master listens, or a read that times out when
                # the master accepted before a worker has booted (a loaded machine)
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"gunicorn not ready after {READY_TIMEOUT} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> int:
        """SIGTERM (graceful), then SIGKILL if it lingers; returns the exit status."""
        return terminate(self.process, timeout=30)


def terminate(process: subprocess.Popen, timeout: float) -> int:
    """SIGTERM a server by its own PID, SIGKILL it if it outlives `timeout`."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"not within {DEADLINE_SECONDS} s: {what}"
        time.sleep(0.05)


def served_versions(url: str, model: str | None = None, n_requests: int = 10) -> set:
    """Versions answering /predict over several requests (every worker, likely).

    None stands for a request that was refused (a 404 until a worker's poll has seen
    a new model), so a wait for {version} goes on until every answer is that version.
    """
    versions = set()
    for _ in range(n_requests):
        response = requests.post(
            f"{url}/predict",
            params={"model": model} if model else None,
            json={"points": [[0.0, 0.0]]},
            timeout=30,
        )
        versions.add(response.json()["version"] if response.ok else None)
    return versions
