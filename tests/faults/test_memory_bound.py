"""The memory a worker can be made to use, measured: eight clients asking at once for
the largest /boundary responses the limits allow, in every format, each with other
bounds so that nothing is answered from the per-worker cache twice. The peak of every
process must fit the Deployment's memory limit (deploy/k8s/deployment.yaml).
"""

import re
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.faults.conftest import ROOT, record
from tests.faults.procfs import peak_rss, workers_of
from tests.helpers.registry_samples import publish_network
from tests.integration.conftest import Gunicorn
from trainer.registry import Registry

CLIENTS = 8
ROUNDS = 3
SIDE = 2000  # SCRATCHNET_MAX_GRID_SIDE's default: 2000 x 2000 = the cell limit


def test_the_worst_requests_fit_the_deployments_memory_limit(tmp_path):
    root = tmp_path / "registry"
    publish_network(Registry(root), "moons", seed=1, hidden=(50,))
    workers = 2
    server = Gunicorn(tmp_path, root, workers=workers)
    try:
        idle = {pid: peak_rss(pid) for pid in workers_of(server.process.pid)}
        jobs = [
            (fmt, round_, client)
            for round_ in range(ROUNDS)
            for fmt in ("json", "npy", "png")
            for client in range(CLIENTS)
        ]
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = list(pool.map(lambda job: worst_request(server.url, *job), jobs))
        peaks = {pid: peak_rss(pid) for pid in workers_of(server.process.pid)}
        master = peak_rss(server.process.pid)
    finally:
        server.stop()
    limit = deployment_memory_limit()
    total = sum(peaks.values()) + master
    record(
        "memory_bound",
        requests=len(jobs),
        idle_worker_mib=[round(v / 2**20) for v in idle.values()],
        peak_worker_mib=[round(v / 2**20) for v in peaks.values()],
        master_mib=round(master / 2**20),
        pod_peak_mib=round(total / 2**20),
        limit_mib=round(limit / 2**20),
    )
    assert set(statuses) == {200}
    assert len(peaks) == workers
    assert total < limit, f"{total / 2**20:.0f} MiB peak against {limit / 2**20} MiB"


def worst_request(url: str, fmt: str, round_: int, client: int) -> int:
    # other bounds each time: a cached answer would cost no memory
    shift = (round_ * CLIENTS + client) * 1e-3
    response = requests.get(
        f"{url}/boundary",
        params={"nx": SIDE, "ny": SIDE, "format": fmt, "x_min": -2 + shift, "x_max": 3},
        timeout=120,
    )
    return response.status_code


def deployment_memory_limit() -> int:
    text = (ROOT / "deploy" / "k8s" / "deployment.yaml").read_text()
    limits = text[text.index("limits:") :]
    mib = re.search(r"memory:\s*(\d+)Mi", limits).group(1)
    return int(mib) * 2**20
