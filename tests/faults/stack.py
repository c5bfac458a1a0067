"""The serving stack the slow-client tests attack: gunicorn, alone or behind nginx.

gunicorn is the integration tests' `Gunicorn` (deploy/gunicorn.conf.py on a free
port); `GUNICORN_CMD_ARGS` picks another worker class for a comparison. nginx runs the
shipped deploy/k8s/nginx.conf with only its two ports replaced, unprivileged, in the
foreground from a private prefix directory, and is stopped by its own PID.
"""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from tests.integration.conftest import ROOT, Gunicorn, free_port, terminate

NGINX_CONF = ROOT / "deploy" / "k8s" / "nginx.conf"
# the ports written in the shipped file: clients, and gunicorn behind it
NGINX_LISTEN = "listen 8080;"
NGINX_UPSTREAM = "server 127.0.0.1:8000;"

# the worker models compared in docs/reliability.md, as gunicorn command-line options
# on top of deploy/gunicorn.conf.py (GUNICORN_CMD_ARGS overrides the file)
WORKER_MODELS = {
    "shipped": "",  # deploy/gunicorn.conf.py as it is
    "sync": "--worker-class sync",
    "gthread": "--worker-class gthread --threads 4",
    "gevent": "--worker-class gevent --worker-connections 1000",
}


def nginx_path() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )


class Nginx:
    """deploy/k8s/nginx.conf on a free port in front of `upstream_port`."""

    def __init__(self, upstream_port: int) -> None:
        binary = nginx_path()
        if binary is None:
            raise RuntimeError("nginx is not installed (apt-get install -y nginx)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # a private prefix readable by nginx's workers, which drop to `nobody` when
        # the tests run as root
        self.prefix = Path(tempfile.mkdtemp(prefix="scratchnet-nginx-"))
        self.prefix.chmod(0o755)
        conf = self.prefix / "nginx.conf"
        conf.write_text(render_conf(self.port, upstream_port))
        self.log_path = self.prefix / "nginx.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [binary, "-p", f"{self.prefix}/", "-c", str(conf), "-e", "stderr"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nginx not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        """SIGTERM (a fast shutdown) to the master's PID, SIGKILL if it lingers."""
        terminate(self.process, timeout=10)
        shutil.rmtree(self.prefix, ignore_errors=True)


def render_conf(listen_port: int, upstream_port: int) -> str:
    """The shipped nginx.conf with its client port and gunicorn's port replaced."""
    text = NGINX_CONF.read_text()
    for needle in (NGINX_LISTEN, NGINX_UPSTREAM):
        if text.count(needle) != 1:
            raise AssertionError(f"{NGINX_CONF} must contain {needle!r} exactly once")
    text = text.replace(NGINX_LISTEN, f"listen 127.0.0.1:{listen_port};")
    return text.replace(NGINX_UPSTREAM, f"server 127.0.0.1:{upstream_port};")


class Stack:
    """gunicorn with a worker model, optionally behind nginx; `url` is the front."""

    def __init__(
        self, work: Path, registry: Path, worker_model: str, proxy: bool
    ) -> None:
        self.name = f"nginx + {worker_model}" if proxy else worker_model
        options = WORKER_MODELS[worker_model]
        env = {"GUNICORN_CMD_ARGS": options} if options else {}
        # the integration tests' Gunicorn fails the test itself if it cannot start
        self.gunicorn = Gunicorn(work, registry, workers=2, **env)
        self.nginx = None
        try:
            if proxy:
                self.nginx = Nginx(int(self.gunicorn.url.rsplit(":", 1)[1]))
        except BaseException:
            self.gunicorn.stop()
            raise
        self.url = self.nginx.url if self.nginx else self.gunicorn.url

    def logs(self) -> str:
        parts = [f"--- gunicorn ---\n{self.gunicorn.log()}"]
        if self.nginx:
            parts.append(f"--- nginx ---\n{self.nginx.log()}")
        return "\n".join(parts)

    def stop(self) -> None:
        try:
            if self.nginx:
                self.nginx.stop()
        finally:
            self.gunicorn.stop()
