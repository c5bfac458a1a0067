"""Keep-alive speed of each worker model, straight to gunicorn and behind nginx.

The bare-WSGI ceiling and the service, each under gunicorn sync and gthread workers
(2 workers, deploy/gunicorn.conf.py otherwise), and each of those again behind the
shipped nginx config (deploy/k8s/nginx.conf, which keeps its connections to gunicorn
alive). wrk sends one-point POST /predict over 8 kept-alive connections; the order is
reversed every round and figures are medians over rounds, with the server's CPU per
request (gunicorn's processes; nginx's own CPU is not counted). What decided the
worker class behind the proxy; bench/serve.py holds the service to the issue's ratios.

    .venv/bin/python bench/worker_models.py [--repeats 4] [--duration 5] [--gevent]
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadgen import INSTALL_HINT, missing_tools, post_round  # noqa: E402
from servers import Server  # noqa: E402

from tests.faults.stack import Nginx, nginx_path  # noqa: E402
from tests.helpers.registry_samples import publish_network  # noqa: E402
from trainer.registry import Registry  # noqa: E402

APPS = {
    "ceiling": ("reference_apps:create_ceiling_app()", "/"),
    "service": ("service:create_app()", "/readyz"),
}
WORKER_CLASSES = {
    "sync": ["--worker-class", "sync"],
    "gthread": ["--worker-class", "gthread", "--threads", "2"],
}


class Proxied:
    """A running Server with nginx in front: wrk talks to nginx, CPU is gunicorn's."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.nginx = Nginx(server.port)
        self.url = self.nginx.url

    def cpu_seconds(self) -> float:
        return self.server.cpu_seconds()

    def drain(self, seconds_per_request: float) -> None:
        self.server.drain(seconds_per_request)

    def stop(self) -> None:
        self.nginx.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--gevent", action="store_true", help="gevent workers too")
    args = parser.parse_args(argv)
    if missing_tools() or nginx_path() is None:
        print(INSTALL_HINT + "\nand nginx: apt-get install -y nginx", file=sys.stderr)
        return 2
    classes = dict(WORKER_CLASSES)
    if args.gevent:
        classes["gevent"] = ["--worker-class", "gevent"]
    work = Path(tempfile.mkdtemp(prefix="scratchnet-models-"))
    registry = work / "registry"
    publish_network(Registry(registry), "moons", seed=1)
    body = work / "predict-1.json"
    body.write_text('{"points": [[0.5, 0.25]]}')

    targets: dict[str, Server | Proxied] = {}
    direct = []
    for app_name, (app, ready) in APPS.items():
        for class_name, options in classes.items():
            name = f"{app_name}, {class_name}"
            metrics_dir = work / f"metrics-{app_name}-{class_name}"
            metrics_dir.mkdir()
            env = {
                **os.environ,
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                "SCRATCHNET_REGISTRY": str(registry),
                "SCRATCHNET_LOG_LEVEL": "INFO",
            }
            gunicorn = ["-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
            gunicorn += ["--workers", "2", "--no-control-socket"]
            gunicorn += ["--pythonpath", str(ROOT / "bench"), *options]
            server = Server(name, app, ready, env, work / f"{name}.log", gunicorn)
            targets[name] = server
            direct.append(server)
    try:
        for server in direct:
            server.start(ROOT)
        for server in direct:
            server.wait_ready()
        for server in direct:
            targets[f"nginx -> {server.name}"] = Proxied(server)
        rps, cpu = _measure(targets, body, args)
    finally:
        for target in targets.values():
            if isinstance(target, Proxied):
                target.stop()
        for server in direct:
            server.stop()
    print("\n| path | req/s, median | per round | gunicorn CPU ms/req |")
    print("|---|---:|---|---:|")
    for name in targets:
        rounds = ", ".join(f"{r:.0f}" for r in rps[name])
        print(
            f"| {name} | {statistics.median(rps[name]):.0f} | {rounds} "
            f"| {statistics.median(cpu[name]):.3f} |"
        )
    return 0


def _measure(
    targets: dict, body: Path, args: argparse.Namespace
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    rps: dict[str, list[float]] = {name: [] for name in targets}
    cpu: dict[str, list[float]] = {name: [] for name in targets}
    names = list(targets)
    for round_index in range(args.repeats):
        for name in names if round_index % 2 == 0 else names[::-1]:
            rate, cpu_us = post_round(targets[name], "/predict", body, args.duration)
            rps[name].append(rate)
            cpu[name].append(cpu_us / 1e3)
            print(
                f"round {round_index + 1} {name:<26} "
                f"{rate:8.0f} req/s {cpu[name][-1]:.3f} ms/req",
                flush=True,
            )
    return rps, cpu


if __name__ == "__main__":
    sys.exit(main())
