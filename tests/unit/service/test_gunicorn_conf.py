"""deploy/gunicorn.conf.py: every setting from the environment, with its default."""

import json
import os
import subprocess
import sys
from pathlib import Path

CONF = Path(__file__).resolve().parents[3] / "deploy" / "gunicorn.conf.py"
_PROBE = """
import json, os, runpy
conf = runpy.run_path({conf!r})
names = ("bind", "workers", "worker_class", "timeout", "graceful_timeout",
         "control_socket_disable", "accesslog", "preload_app")
print(json.dumps({{
    **{{name: conf[name] for name in names}},
    "blas": os.environ.get("OPENBLAS_NUM_THREADS"),
    "omp": os.environ.get("OMP_NUM_THREADS"),
    "metrics_dir": os.environ.get("PROMETHEUS_MULTIPROC_DIR"),
}}))
"""


# variables this config reads: the test's own values replace the caller's
_OURS = (
    "SCRATCHNET_",
    "PORT",
    "WEB_CONCURRENCY",
    "PROMETHEUS_MULTIPROC_DIR",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
)


def load(env: dict[str, str]) -> dict:
    """The config as gunicorn's master would see it, in a fresh interpreter."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(conf=str(CONF))],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_defaults_are_safe_for_a_laptop(tmp_path):
    conf = load({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    assert conf["bind"] == "127.0.0.1:8000"
    assert conf["workers"] == len(os.sched_getaffinity(0))
    assert conf["worker_class"] == "gthread" and conf["preload_app"] is False
    assert conf["graceful_timeout"] < 30  # below Kubernetes' default grace period
    assert conf["control_socket_disable"] is True
    assert conf["accesslog"] is None  # the app writes the JSON access line
    assert (conf["blas"], conf["omp"]) == ("1", "1")
    assert conf["metrics_dir"] == str(tmp_path)


def test_everything_comes_from_the_environment(tmp_path):
    conf = load(
        {
            "SCRATCHNET_BIND": "0.0.0.0:9000",
            "WEB_CONCURRENCY": "5",
            "SCRATCHNET_TIMEOUT": "12",
            "SCRATCHNET_GRACEFUL_TIMEOUT": "7",
            "SCRATCHNET_ACCESS_LOG": "-",
            "OPENBLAS_NUM_THREADS": "4",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        }
    )
    assert conf["bind"] == "0.0.0.0:9000" and conf["workers"] == 5
    assert (conf["timeout"], conf["graceful_timeout"]) == (12, 7)
    assert conf["accesslog"] == "-"
    assert conf["blas"] == "4"  # an operator's explicit choice is kept


def test_port_convention_and_a_private_metrics_directory():
    conf = load({"PORT": "8080"})
    assert conf["bind"] == "0.0.0.0:8080"
    metrics_dir = Path(conf["metrics_dir"])
    assert metrics_dir.name.startswith("scratchnet-metrics-") and metrics_dir.is_dir()
    metrics_dir.rmdir()  # on_exit removes it under gunicorn; here the probe just loaded


def test_a_worker_freezes_what_it_loaded_out_of_the_collectors_sight():
    # in a child: gc.freeze() in the test process would keep its garbage forever
    probe = (
        "import gc, runpy; from unittest import mock\n"
        f"conf = runpy.run_path({str(CONF)!r})\n"
        "with mock.patch('service.server_errors.install'):\n"
        "    conf['post_worker_init'](None)\n"
        "print(gc.get_freeze_count() > 0)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=CONF.parents[1],
    )
    assert completed.stdout.strip() == "True"
