"""A/B of the workers' gc.freeze() (deploy/gunicorn.conf.py) on a 10,000-point /predict.

Two services side by side, the same gunicorn config except that B's workers skip the
freeze (`post_worker_init` wrapped to unfreeze), driven in turn by wrk with the same
JSON body, the order reversed every round. Prints the per-round ratios of requests a
second and per CPU-second, and their medians. Needs `wrk`, like bench/serve.py.

    .venv/bin/python bench/gc_freeze.py [--repeats 5] [--duration 5]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from loadgen import run_wrk
from servers import Server

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "deploy" / "gunicorn.conf.py"
# the shipped config, its freeze undone as soon as it is done
_UNFROZEN = """
import gc
exec(compile(open({conf!r}).read(), {conf!r}, "exec"))
_shipped = post_worker_init
def post_worker_init(worker):
    _shipped(worker)
    gc.unfreeze()
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="scratchnet-gc-"))
    try:
        return _run(work, args.repeats, args.duration)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(work: Path, repeats: int, duration: float) -> int:
    registry = work / "registry"
    subprocess.run(
        [sys.executable, "-m", "trainer", "train", "--registry", str(registry),
         "--name", "moons", "--hidden", "3", "--seed", "0", "--promote"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    X = np.random.default_rng(0).uniform(-1.2, 2.2, size=(10_000, 2))
    body = work / "predict-10000.json"
    body.write_text(json.dumps({"points": X.tolist()}))
    unfrozen = work / "unfrozen.conf.py"
    unfrozen.write_text(_UNFROZEN.format(conf=str(CONF)))
    servers = {}
    for name, conf in (("frozen", CONF), ("unfrozen", unfrozen)):
        metrics = work / f"prometheus-{name}"
        metrics.mkdir()
        env = {
            **os.environ,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            "SCRATCHNET_REGISTRY": str(registry),
        }
        options = ["-c", str(conf), "--workers", "2", "--no-control-socket"]
        servers[name] = Server(
            name, "service:create_app()", "/readyz", env, work / f"{name}.log", options
        )
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in servers}
    try:
        for server in servers.values():
            server.start(ROOT)
        for server in servers.values():
            server.wait_ready()
        for round_index in range(repeats):
            order = list(servers) if round_index % 2 == 0 else list(servers)[::-1]
            for name in order:
                server = servers[name]
                cpu_before = server.cpu_seconds()
                wrk = run_wrk(
                    server.url + "/predict", "post.lua", (str(body),),
                    duration=duration, threads=2, connections=8,
                )  # fmt: skip
                cpu_ms = 1e3 * (server.cpu_seconds() - cpu_before) / wrk.n_requests
                runs[name].append((wrk.requests_per_second, cpu_ms))
                rate = wrk.requests_per_second
                print(f"round {round_index + 1} {name:9} {rate:7.1f} req/s "
                      f"{cpu_ms:6.2f} ms CPU/req")  # fmt: skip
    finally:
        for server in servers.values():
            server.stop()
    pairs = list(zip(runs["frozen"], runs["unfrozen"], strict=True))
    rate = [a[0] / b[0] for a, b in pairs]
    cpu = [b[1] / a[1] for a, b in pairs]
    print(
        f"frozen / unfrozen: {statistics.median(rate):.2f}x req/s "
        f"(rounds {', '.join(f'{r:.2f}' for r in rate)}), "
        f"{statistics.median(cpu):.2f}x per CPU-second"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
