"""gunicorn settings for scratchnet's service; each can be set from the environment.

Run as `gunicorn -c deploy/gunicorn.conf.py 'service:create_app()'`. This file runs in
the master before any worker imports the app, which is what lets it fix the BLAS thread
count and the Prometheus directory for every worker.
"""

import gc
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

# --- before numpy: one BLAS thread per worker ---------------------------------------
# Workers are the parallelism. A BLAS pool per worker on top of that oversubscribes the
# cores (measured: two workers computing a big grid ran ~10x slower with default
# threads). BLAS reads these when numpy is first imported, which happens in each worker
# after the fork (no preload_app), so setting them here is early enough. setdefault: an
# operator who knows better can still choose.
for _variable in (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ.setdefault(_variable, "1")

# --- metrics across workers ---------------------------------------------------------
# prometheus-client's multiprocess mode: each worker writes its samples to files in this
# directory and /metrics sums them. It must be set before a worker imports
# prometheus_client, i.e. here. Without one configured, a private temporary directory.
_created_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _created_metrics_dir = tempfile.mkdtemp(prefix="scratchnet-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _created_metrics_dir


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _default_bind() -> str:
    # PORT is the platform convention (and gunicorn's own): listen on every interface;
    # otherwise loopback, so a laptop's service is not reachable from the network
    port = os.environ.get("PORT", "").strip()
    return f"0.0.0.0:{port}" if port else "127.0.0.1:8000"


def _default_workers() -> int:
    # CPU-bound numpy work: one worker process per core the process may run on
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


# Containers set SCRATCHNET_BIND=0.0.0.0:8000 (or PORT=8000).
bind = os.environ.get("SCRATCHNET_BIND", "").strip() or _default_bind()
# WEB_CONCURRENCY: the common name for it; in a pod, set it to the CPU limit, because
# the core count seen here is the node's.
workers = _env_int("WEB_CONCURRENCY", _default_workers())
# gthread, measured against sync and gevent (docs/reliability.md): it keeps
# connections alive, which a sync worker cannot (a new TCP connection for every
# one-point request), and its poller holds idle kept-alive connections without a
# thread. No gunicorn worker bounds how long a client may take to send its headers or
# body or to read its response, so slow clients are nginx's job: every deployment puts
# deploy/k8s/nginx.conf in front, which hands over only whole requests.
worker_class = "gthread"
# Threads per worker: Python runs one at a time under the GIL, but a second thread
# lets /healthz and small requests go on while a large /boundary holds the first.
# Measured (one-point /predict, 8 kept-alive connections, 2 workers, 3 rounds of 5 s
# on a loaded machine): medians 1,210 req/s with 1 thread, 2,050 with 2, 2,230 with 4.
# Not 4: every thread may hold a large /boundary at once, and each multiplies a
# worker's worst-case memory.
threads = 2
# A worker silent this long is killed and replaced. The largest allowed grid takes well
# under a second; 30 s only catches a wedged worker.
timeout = _env_int("SCRATCHNET_TIMEOUT", 30)
# SIGTERM: stop accepting, let in-flight requests finish for up to this long. Below
# Kubernetes' default 30 s termination grace (minus a preStop sleep) so gunicorn exits
# on its own before the kubelet's SIGKILL.
graceful_timeout = _env_int("SCRATCHNET_GRACEFUL_TIMEOUT", 20)
# Seconds an idle kept-alive connection stays open for its next request; the poller
# holds it, not a thread. Longer than nginx's upstream keepalive_timeout (1 s), so
# gunicorn never closes a connection nginx is about to reuse. 0 closes every
# connection after its response.
keepalive = _env_int("SCRATCHNET_KEEPALIVE", 2)
# The worker heartbeat file on tmpfs: a disk-backed /tmp (container overlays) can stall
# the heartbeat and get healthy workers killed.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
# gunicorn 27 opens a control socket under $HOME; a non-root user in a container has no
# writable home, and nothing here uses it.
control_socket_disable = True
# The app writes one JSON line per request (request id, model, version, latency) to
# stdout, so gunicorn's own access log would only repeat it; set SCRATCHNET_ACCESS_LOG=-
# to have it as well.
accesslog = os.environ.get("SCRATCHNET_ACCESS_LOG") or None
# gunicorn's own messages (worker boots, timeouts, signals) on stderr
errorlog = "-"
loglevel = os.environ.get("SCRATCHNET_LOG_LEVEL", "info").lower()
# Workers each build their app after the fork: every worker owns its model store and
# its poll thread (threads do not survive a fork), and BLAS starts single-threaded.
preload_app = False


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


# --- draining on SIGTERM --------------------------------------------------------------
# A load balancer routes by readiness, so stopping should fail readiness first and go
# on serving while the balancer notices, then stop as before (in-flight requests
# finish within graceful_timeout). Seconds between SIGTERM and closing the listening
# socket; 0 (a laptop, the tests) stops at once, deployments set a few probe periods.
drain_seconds = _env_float("SCRATCHNET_DRAIN_SECONDS", 0.0)
# The master creates this file on SIGTERM; every worker's /readyz answers 503 while it
# exists (service.settings.draining_file). Only with a drain: otherwise /readyz has
# nothing to look at.
_runtime_dir = None
if drain_seconds > 0:
    _runtime_dir = tempfile.mkdtemp(prefix="scratchnet-run-")
    os.environ["SCRATCHNET_DRAINING_FILE"] = str(Path(_runtime_dir) / "draining")


def on_starting(server) -> None:  # noqa: ANN001 - gunicorn's Arbiter
    # stale samples from a previous run would be summed into this one's
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()
    if drain_seconds > 0:
        _drain_on_sigterm(server, drain_seconds)
    # Ctrl-C stops as SIGTERM does (drain, then in-flight requests finish), not with
    # gunicorn's quick shutdown: `make serve` is stopped that way
    server.handle_int = server.handle_term


def _drain_on_sigterm(arbiter, seconds: float) -> None:  # noqa: ANN001
    # gunicorn has no hook between SIGTERM and closing its sockets, so wrap the
    # master's own handler: its loop calls handle_term from the main thread, and
    # while it sleeps the workers go on serving (only reaping pauses)
    stop = arbiter.handle_term

    def handle_term() -> None:
        Path(os.environ["SCRATCHNET_DRAINING_FILE"]).touch()
        arbiter.log.info("SIGTERM: readiness fails now; draining for %g s", seconds)
        time.sleep(seconds)
        stop()

    arbiter.handle_term = handle_term


def post_worker_init(worker) -> None:  # noqa: ANN001 - gunicorn's Worker
    # requests gunicorn itself refuses (a malformed request line or header, one over
    # its size limits) get the API's JSON error shape instead of an HTML page
    from gunicorn import util

    from service.server_errors import install

    install(util)
    # a terminal sends Ctrl-C's SIGINT to the workers as well, and gunicorn's workers
    # stop on it at once; the master's SIGTERM, after any drain, stops them instead
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # what the worker loaded (Flask, numpy, the models) lives as long as it does: out
    # of the collector's sight, each full collection stops walking it. A 10,000-point
    # JSON /predict allocates 10,000 lists and set several off: 1.5x the requests per
    # CPU-second with this line (issue 11, docs/benchmarks.md)
    gc.freeze()


def child_exit(server, worker) -> None:  # noqa: ANN001 - gunicorn's Arbiter, Worker
    # drop a dead worker's live gauges (served version); its counters are kept
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:  # noqa: ANN001 - gunicorn's Arbiter
    if _runtime_dir is not None:
        shutil.rmtree(_runtime_dir, ignore_errors=True)
    if _created_metrics_dir is not None:
        shutil.rmtree(_created_metrics_dir, ignore_errors=True)
