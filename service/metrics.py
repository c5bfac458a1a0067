"""Prometheus metrics, correct across gunicorn workers.

With PROMETHEUS_MULTIPROC_DIR set (deploy/gunicorn.conf.py sets it before any worker
starts) every worker writes its samples to files there and /metrics sums them;
without it (tests, `flask run`) the process's own registry is exposed. The per-request
samples are added up in memory and written out in batches (see `_Pending`).
"""

import atexit
import os
import threading
import time
from bisect import bisect_left

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# private registry: importing this module twice in tests never double-registers
_REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "scratchnet_http_requests",
    "HTTP requests answered, by route template, method, status, model and version.",
    ["route", "method", "status", "model", "version"],
    registry=_REGISTRY,
)
LATENCY = Histogram(
    "scratchnet_http_request_duration_seconds",
    "Time from request start to response, by route template and model.",
    ["route", "model"],
    buckets=(
        0.0005,
        0.001,
        0.0025,
        0.005,
        0.01,
        0.025,
        0.05,
        0.1,
        0.25,
        0.5,
        1,
        2.5,
        5,
    ),
    registry=_REGISTRY,
)
POINTS = Counter(
    "scratchnet_points_predicted",
    "Points classified by POST /predict.",
    ["model", "version"],
    registry=_REGISTRY,
)
CELLS = Counter(
    "scratchnet_grid_cells_classified",
    "Grid cells classified by /boundary (cached responses included).",
    ["model", "version"],
    registry=_REGISTRY,
)
RELOADS = Counter(
    "scratchnet_model_reloads",
    "Versions loaded, verified and swapped in as a model's served version.",
    ["model", "version"],
    registry=_REGISTRY,
)
VERIFICATION_FAILURES = Counter(
    "scratchnet_model_verification_failures",
    "Versions refused because their manifest or checksums did not verify.",
    ["model", "version"],
    registry=_REGISTRY,
)
REGISTRY_FAILURES = Counter(
    "scratchnet_registry_read_failures",
    "Polls that could not read the registry (unreachable store, I/O error); model "
    "is empty when the listing itself failed. Serving goes on with what is loaded.",
    ["model"],
    registry=_REGISTRY,
)
REFERENCE_MISMATCHES = Counter(
    "scratchnet_model_reference_mismatches",
    "Versions refused because their weights did not reproduce the manifest's "
    "reference predictions (also counted in verification failures).",
    ["model", "version"],
    registry=_REGISTRY,
)
SERVED_VERSION = Gauge(
    "scratchnet_served_version",
    "The version each model is served at (highest across live workers).",
    ["model"],
    # livemax: during a rollout the newest wins; a dead worker's value is dropped
    multiprocess_mode="livemax",
    registry=_REGISTRY,
)


class StoreEvents:
    """The store's events as metrics (implements service.catalog.Events)."""

    def reloaded(self, name: str, version: int) -> None:
        RELOADS.labels(name, str(version)).inc()
        SERVED_VERSION.labels(name).set(version)

    def verification_failed(self, name: str, version: int) -> None:
        VERIFICATION_FAILURES.labels(name, str(version)).inc()

    def registry_failed(self, name: str) -> None:
        REGISTRY_FAILURES.labels(name).inc()

    def reference_mismatch(self, name: str, version: int) -> None:
        REFERENCE_MISMATCHES.labels(name, str(version)).inc()


# How long a worker's per-request samples may wait in memory before its files (what
# another worker's /metrics reads) have them. Prometheus scrapes every 15 s or so.
FLUSH_SECONDS = 0.1


class _Pending:
    """Per-request samples added up in memory, written to the metrics in batches.

    In multiprocess mode every `inc` or `observe` of prometheus-client takes a lock,
    checks the pid and writes an mmap: four of them were ~27 us of a one-point
    /predict (a third of the service's own code). Here a request adds to a dict under
    one lock instead, and `flush` writes the sums: from a thread every FLUSH_SECONDS
    (multiprocess mode only, so other workers' /metrics see them), before this
    process's own /metrics, and at exit (gunicorn workers leave through sys.exit). A
    SIGKILLed worker loses at most its last FLUSH_SECONDS of samples.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple, int] = {}
        # (route, model) -> [observations per bucket (not cumulative)..., sum]
        self._latency: dict[tuple[str, str], list] = {}
        self._points: dict[tuple[str, int], int] = {}
        self._cells: dict[tuple[str, int], int] = {}
        self._bounds = LATENCY._upper_bounds  # the buckets, +Inf last
        self._no_latency = [0] * len(self._bounds) + [0.0]
        # held through a whole flush: a /metrics that flushes while another flush
        # is writing waits for it, so it shows every request answered before it
        self._flushing = threading.Lock()
        self._started = False

    def request(
        self,
        route: str,
        method: str,
        status: int,
        model: str,
        version: str,
        seconds: float,
    ) -> None:
        key = (route, method, status, model, version)
        bucket = bisect_left(self._bounds, seconds)  # the first bound >= seconds
        with self._lock:
            requests = self._requests
            requests[key] = requests.get(key, 0) + 1
            latency = self._latency.get((route, model))
            if latency is None:
                latency = self._latency[route, model] = self._no_latency.copy()
            latency[bucket] += 1
            latency[-1] += seconds
        if not self._started:
            self._start()

    def points(self, model: str, version: int, n: int) -> None:
        with self._lock:
            points = self._points
            points[model, version] = points.get((model, version), 0) + n
        if not self._started:
            self._start()

    def cells(self, model: str, version: int, n: int) -> None:
        with self._lock:
            cells = self._cells
            cells[model, version] = cells.get((model, version), 0) + n
        if not self._started:
            self._start()

    def flush(self) -> None:
        """Write every pending sample to the metrics (their files, in multiprocess)."""
        with self._flushing:
            with self._lock:
                requests, self._requests = self._requests, {}
                latency, self._latency = self._latency, {}
                points, self._points = self._points, {}
                cells, self._cells = self._cells, {}
            self._write(requests, latency, points, cells)

    @staticmethod
    def _write(requests: dict, latency: dict, points: dict, cells: dict) -> None:
        for (route, method, status, model, version), n in requests.items():
            REQUESTS.labels(route, method, str(status), model, version).inc(n)
        for (route, model), sums in latency.items():
            # Histogram.observe, n observations at a time: its non-cumulative bucket
            # values and its sum (tests/unit/service/test_metrics.py pins the result)
            child = LATENCY.labels(route, model)
            for bucket, n in enumerate(sums[:-1]):
                if n:
                    child._buckets[bucket].inc(n)
            child._sum.inc(sums[-1])
        for (model, version), n in points.items():
            POINTS.labels(model, str(version)).inc(n)
        for (model, version), n in cells.items():
            CELLS.labels(model, str(version)).inc(n)

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        # without other processes reading the files, /metrics' own flush is enough
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            threading.Thread(
                target=self._run, name="scratchnet-metrics", daemon=True
            ).start()

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()

    def _after_fork(self) -> None:
        # a fork copies the parent's samples (the parent's to write) but no thread:
        # the child starts its own with its first sample
        self._lock, self._flushing = threading.Lock(), threading.Lock()
        self._requests, self._latency, self._points, self._cells = {}, {}, {}, {}
        self._started = False


_PENDING = _Pending()
os.register_at_fork(after_in_child=_PENDING._after_fork)
flush = _PENDING.flush
# gunicorn workers stop through sys.exit, which runs this
atexit.register(flush)


def observe_request(
    route: str, method: str, status: int, model: str, version: str, seconds: float
) -> None:
    _PENDING.request(route, method, status, model, version, seconds)


def count_points(model: str, version: int, n_points: int) -> None:
    _PENDING.points(model, version, n_points)


def count_cells(model: str, version: int, n_cells: int) -> None:
    _PENDING.cells(model, version, n_cells)


def exposition() -> tuple[bytes, str]:
    """Text-format body and content type, summed over workers in multiprocess mode."""
    flush()  # this worker's own samples, up to this request
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(_REGISTRY), CONTENT_TYPE_LATEST
