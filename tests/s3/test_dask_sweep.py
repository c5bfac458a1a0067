"""`sweep --scheduler`: the fits on a real dask cluster give the local sweep's networks.

A scheduler and two worker processes are started here (`dask scheduler`, `dask
worker`) on free ports of 127.0.0.1 and stopped by their process groups.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import free_port
from trainer.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).with_name("dask")
SWEEP = ["--hidden", "2,3", "--epochs", "40", "--samples", "120", "--seed", "3"]


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not DASK.exists():
        message = "needs dask.distributed: pip install 'scratchnet[dask]'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    procs = [
        _start(work / "scheduler.log", "scheduler", "--host", "127.0.0.1",
               "--port", port, "--no-dashboard"),
        *(
            _start(work / f"worker{i}.log", "worker", address, "--nworkers", "1",
                   "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1")
            for i in range(2)
        ),
    ]  # fmt: skip
    try:
        _wait_for_workers(address, 2, procs, work)
        yield address
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _start(log: Path, *args: str) -> subprocess.Popen:
    """A dask process in its own group (stopped whole), its output in `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [str(DASK), *args],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for_workers(address: str, n: int, procs: list, work: Path) -> None:
    from distributed import Client

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in procs), _logs(work)
        try:
            with Client(address, timeout=5) as client:
                client.wait_for_workers(n, timeout=60)
                return
        except (OSError, TimeoutError):
            time.sleep(0.5)
    pytest.fail(f"no dask cluster with {n} workers:\n{_logs(work)}")


def _logs(work: Path) -> str:
    return "\n".join(p.read_text(errors="replace")[-1500:] for p in work.glob("*.log"))


def _sweep(registry: Path, *extra: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "sweep", *SWEEP, "--publish", "--json",
         "--registry", str(registry), "--name", "sweep", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_sweep_on_dask_gives_the_local_sweeps_networks(scheduler, tmp_path):
    local = _sweep(tmp_path / "local", "--jobs", "2")
    remote = _sweep(tmp_path / "dask", "--scheduler", scheduler)
    drop = ("seconds",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in remote["sweep"]] == [
        {k: v for k, v in r.items() if k not in drop} for r in local["sweep"]
    ]
    for version in (1, 2):
        a = Registry(tmp_path / "local").read_manifest("sweep", version)
        b = Registry(tmp_path / "dask").read_manifest("sweep", version)
        assert a["files"] == b["files"]  # the same weights, byte for byte


def test_an_unreachable_scheduler_is_bad_input(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "sweep", *SWEEP,
         "--scheduler", f"tcp://127.0.0.1:{free_port()}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "cannot connect to a dask scheduler" in result.stderr
