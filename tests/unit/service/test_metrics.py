"""Batched metrics: the same samples as direct prometheus-client calls, never lost.

service.metrics adds per-request samples up in memory and writes them in batches;
these tests pin that a batch writes exactly what one call per request would have, that
threads recording during a flush lose nothing, and that in multiprocess mode the
samples reach the files (what other workers' /metrics read) without this process
serving /metrics: from the flush thread, and at exit.
"""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.parser import text_string_to_metric_families

from service import metrics
from tests.helpers.threads import race_against

ROOT = Path(__file__).resolve().parents[3]


def samples() -> dict:
    text = metrics.exposition()[0].decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def delta(before: dict, after: dict) -> dict:
    return {
        key: after[key] - before.get(key, 0.0)
        for key in after
        if after[key] != before.get(key, 0.0)
    }


def test_a_batch_writes_what_one_observe_per_request_would():
    route = "/test-batch"
    # on a bound, between bounds, past the last one
    seconds = [0.0005, 0.0004, 0.003, 0.003, 0.7, 9.0, 0.0001]
    direct = Histogram(
        "direct",
        "",
        buckets=metrics.LATENCY._upper_bounds[:-1],
        registry=CollectorRegistry(),
    )
    before = samples()
    for value in seconds:
        metrics.observe_request(route, "POST", 200, "m", "1", value)
        direct.observe(value)
    metrics.count_points("m", 1, 7)
    metrics.count_points("m", 1, 3)
    metrics.count_cells("m", 1, 100)
    changed = delta(before, samples())

    name = "scratchnet_http_request_duration_seconds"
    labels = (("model", "m"), ("route", route))
    for sample in direct.collect()[0].samples:
        if sample.name.endswith("_created"):
            continue
        suffix = sample.name.removeprefix("direct")
        key = (name + suffix, tuple(sorted({**dict(labels), **sample.labels}.items())))
        assert abs(changed.get(key, 0.0) - sample.value) < 1e-12, key
    request = (("method", "POST"), ("model", "m"), ("route", route))
    request += (("status", "200"), ("version", "1"))
    assert changed[("scratchnet_http_requests_total", request)] == len(seconds)
    one = (("model", "m"), ("version", "1"))
    assert changed[("scratchnet_points_predicted_total", one)] == 10
    assert changed[("scratchnet_grid_cells_classified_total", one)] == 100


def test_threads_recording_during_flushes_lose_nothing():
    route = "/test-threads"
    key = (
        "scratchnet_http_requests_total",
        (
            ("method", "GET"),
            ("model", "m"),
            ("route", route),
            ("status", "200"),
            ("version", "1"),
        ),
    )
    before = samples().get(key, 0.0)

    def recording(_: int) -> None:
        for _ in range(5000):
            metrics.observe_request(route, "GET", 200, "m", "1", 0.001)

    race_against(metrics.flush, recording, 4)
    assert samples()[key] - before == 20_000


_RECORD = textwrap.dedent(
    """
    import sys, time
    from service import metrics
    if sys.argv[1] == "exit":
        metrics.FLUSH_SECONDS = 3600  # only the exit can write them
    metrics.observe_request("/predict", "POST", 200, "moons", "1", 0.001)
    metrics.count_points("moons", 1, 5)
    if sys.argv[1] == "wait":
        time.sleep(60)  # killed by the test once the files have the samples
    """
)


def _recorder(metrics_dir: Path, mode: str) -> subprocess.Popen:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    return subprocess.Popen([sys.executable, "-c", _RECORD, mode], cwd=ROOT, env=env)


def _points_in_files(metrics_dir: Path) -> float:
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(metrics_dir))
    return sum(
        sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name == "scratchnet_points_predicted_total"
    )


def test_the_flush_thread_writes_the_files_other_workers_read(tmp_path):
    process = _recorder(tmp_path, "wait")
    try:
        deadline = time.monotonic() + 30
        while _points_in_files(tmp_path) != 5:
            assert time.monotonic() < deadline, "samples never reached the files"
            assert process.poll() is None
            time.sleep(0.02)
    finally:
        process.kill()
        process.wait()


def test_samples_are_written_at_exit(tmp_path):
    process = _recorder(tmp_path, "exit")
    assert process.wait(timeout=60) == 0
    assert _points_in_files(tmp_path) == 5
