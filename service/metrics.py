"""Prometheus metrics, correct across gunicorn workers.

With PROMETHEUS_MULTIPROC_DIR set (deploy/gunicorn.conf.py sets it before any worker
starts) every worker writes its samples to files there and /metrics sums them;
without it (tests, `flask run`) the process's own registry is exposed.
"""

import os

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


def observe_request(
    route: str, method: str, status: int, model: str, version: str, seconds: float
) -> None:
    REQUESTS.labels(route, method, str(status), model, version).inc()
    LATENCY.labels(route, model).observe(seconds)


def count_points(model: str, version: int, n_points: int) -> None:
    POINTS.labels(model, str(version)).inc(n_points)


def count_cells(model: str, version: int, n_cells: int) -> None:
    CELLS.labels(model, str(version)).inc(n_cells)


def exposition() -> tuple[bytes, str]:
    """Text-format body and content type, summed over workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(_REGISTRY), CONTENT_TYPE_LATEST
