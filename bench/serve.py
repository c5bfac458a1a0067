"""Serving benchmark: the service against a bare-WSGI ceiling and a plain Flask handler.

All run at once under the same gunicorn configuration (deploy/gunicorn.conf.py, 2
workers of its class, gthread with keep-alive; the service with its production
settings), the service and the ceiling also with sync workers for comparison, and wrk
drives them in turn,
the order reversed every round so a noisy shared machine skews them alike. Figures are
medians over rounds; targets are ratios taken within a round. Installs nothing: it
needs `wrk` on PATH and says how to get it.

    .venv/bin/python bench/serve.py [--quick] [--repeats N] [--duration S] [--write]
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
from _report import cpu_model, write_section
from loadgen import INSTALL_HINT, missing_tools, run_wrk
from report import (
    Measurement,
    Results,
    render_section,
    render_summary,
    target_ratios,
)
from same_work import check_same_v2_answers, check_same_work
from scenarios import (
    CEILING,
    CEILING_SYNC,
    PLAIN,
    SERVICE,
    SERVICE_SYNC,
    Load,
    Scenario,
    build_scenarios,
)
from servers import Server
from v2_bodies import write_v2_bodies

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
RESULTS_DIR = ROOT / "bench" / "results"
# numpy reads these once, at import: the plain reference gets one BLAS thread per
# worker, as the issue specifies. The service must limit its own threads (not set here).
ONE_BLAS_THREAD = {
    name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
}
BODY_SIZES = (1, 100, 10_000)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if missing := missing_tools():
        print(
            INSTALL_HINT if "wrk" in missing else f"missing: {missing}", file=sys.stderr
        )
        return 2
    work = Path(tempfile.mkdtemp(prefix="scratchnet-bench-"))
    try:
        return _run(args, work)
    finally:
        if args.keep:
            print(f"kept {work} (registry, bodies, server logs)", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, work: Path) -> int:
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    registry = args.registry or _train(work / "registry", args.model)
    model_dir = _served_version_dir(registry, args.model)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    bodies = _write_bodies(work, manifest)
    v2_bodies = write_v2_bodies(work, bodies)
    bounds = _default_bounds(manifest)
    servers = _make_servers(work, registry, model_dir, args)
    scenarios = build_scenarios(
        bodies, bounds, set(servers), args.only, v2_bodies, args.model
    )
    n_runs = sum(len(s.loads) for s in scenarios)
    estimate = n_runs * (args.repeats * args.duration + args.warmup)
    print(f"{n_runs} loads x {args.repeats} rounds, about {estimate / 60:.1f} min")
    try:
        for server in servers.values():
            server.start(ROOT)
        for server in servers.values():
            server.wait_ready()
        check_same_work(servers, bodies, bounds)
        check_same_v2_answers(servers, bodies, v2_bodies, args.model)
        results = _measure(scenarios, servers, args)
    except BaseException:
        for server in servers.values():
            print(
                f"--- {server.name} log tail ---\n{server.log_tail()}", file=sys.stderr
            )
        raise
    finally:
        for server in servers.values():
            server.stop()

    ratios = target_ratios(results)
    meta = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git_commit(),
        "command": "python bench/serve.py " + " ".join(sys.argv[1:]),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "repeats": args.repeats,
        "duration": args.duration,
        "warmup": args.warmup,
        "threads": args.threads,
        "connections": args.connections,
        "machine": _machine(),
    }
    print(render_summary(scenarios, results, ratios))
    _save_raw(meta, results, ratios, started)
    n_failed = sum(r.wrk.n_errors for runs in results.values() for r in runs)
    if n_failed:
        print(
            f"{n_failed} requests failed: figures invalid, not written", file=sys.stderr
        )
        return 1
    if args.write:
        section = render_section(scenarios, results, ratios, meta)
        write_section(DOC, args.section, section)
        print(f"wrote the {args.section} section of {DOC.relative_to(ROOT)}")
    return 0


def _measure(
    scenarios: list[Scenario], servers: dict[str, Server], args: argparse.Namespace
) -> Results:
    """Every load of every scenario once a round; A/B/C then C/B/A, and so on."""
    results: Results = defaultdict(list)
    total = args.repeats * sum(len(s.loads) for s in scenarios)
    done = 0
    for round_index in range(args.repeats):
        for scenario in scenarios:
            loads = scenario.loads if round_index % 2 == 0 else scenario.loads[::-1]
            for load in loads:
                server = servers[load.server]
                if round_index == 0 and args.warmup > 0:
                    _drive(server, load, args.warmup, args)
                result = _drive(server, load, args.duration, args)
                results[(scenario.key, load.label)].append(result)
                done += 1
                print(_progress(done, total, scenario.key, load.label, result))
    return results


def _drive(
    server: Server, load: Load, duration: float, args: argparse.Namespace
) -> Measurement:
    """One wrk run against `server`, then let it finish what wrk left queued."""
    cpu_before = server.cpu_seconds()
    result = run_wrk(
        server.url + load.path,
        load.script,
        load.script_args,
        duration=duration,
        threads=args.threads,
        connections=args.connections,
    )
    cpu = server.cpu_seconds() - cpu_before
    # a worker's time per request: 2 workers share the measured throughput
    server.drain(2 / max(result.requests_per_second, 1e-3))
    return Measurement(result, 1e3 * cpu / max(result.n_requests, 1))


def _progress(done: int, total: int, key: str, label: str, run: Measurement) -> str:
    wrk = run.wrk
    failed = f"  {wrk.n_errors} FAILED" if wrk.n_errors else ""
    return (
        f"[{done:>3}/{total}] {key:<14} {label:<20} "
        f"{wrk.requests_per_second:8.1f} req/s  p50 {wrk.p50_ms:7.2f} ms  "
        f"p99 {wrk.p99_ms:7.2f} ms  cpu {run.server_cpu_ms_per_request:6.2f} ms/req"
        f"{failed}"
    )


def _make_servers(
    work: Path, registry: Path, model_dir: Path, args: argparse.Namespace
) -> dict[str, Server]:
    # identical gunicorn settings for all: the shipped worker class (gthread, with
    # keep-alive); the command line pins 2 workers and gives each server its own port
    # and no shared control socket. The "-sync" twins run sync workers, which close
    # every connection: the other ceiling the issue names, and the service as it was.
    gunicorn = ["-c", str(args.gunicorn_conf), "--workers", "2", "--no-control-socket"]
    sync = ["--worker-class", "sync"]
    references = [*gunicorn, "--pythonpath", str(ROOT / "bench")]

    def env(name: str, extra: dict[str, str]) -> dict[str, str]:
        metrics_dir = work / f"prometheus-{name}"
        metrics_dir.mkdir()
        return {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), **extra}

    service_env = {
        "SCRATCHNET_REGISTRY": str(registry),
        "SCRATCHNET_DEFAULT_MODEL": args.model,
        # production logging: one JSON line per request, here into the server's log file
        "SCRATCHNET_LOG_LEVEL": "INFO",
    }
    reference_env = {**ONE_BLAS_THREAD, "SCRATCHNET_BENCH_MODEL_DIR": str(model_dir)}
    specs = {
        SERVICE: ("service:create_app()", "/readyz", gunicorn, service_env),
        SERVICE_SYNC: (
            "service:create_app()",
            "/readyz",
            [*gunicorn, *sync],
            service_env,
        ),
        PLAIN: (
            "reference_apps:create_plain_app()",
            "/healthz",
            references,
            reference_env,
        ),
        CEILING: (
            "reference_apps:create_ceiling_app()",
            "/",
            references,
            reference_env,
        ),
        CEILING_SYNC: (
            "reference_apps:create_ceiling_app()",
            "/",
            [*references, *sync],
            reference_env,
        ),
    }
    return {
        name: Server(name, app, ready, env(name, extra), work / f"{name}.log", options)
        for name, (app, ready, options, extra) in specs.items()
        if name in args.servers
    }


def _train(registry: Path, name: str) -> Path:
    """Publish a small moons network (3 hidden units) into a fresh registry."""
    command = [
        sys.executable,
        "-m",
        "trainer",
        "train",
        "--registry",
        str(registry),
        "--name",
        name,
        "--dataset",
        "moons",
        "--hidden",
        "3",
        "--seed",
        "0",
        "--promote",
    ]
    began = time.monotonic()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"training failed:\n{completed.stdout}\n{completed.stderr}")
    print(f"trained {name} in {time.monotonic() - began:.1f} s")
    return registry


def _served_version_dir(registry: Path, name: str) -> Path:
    from trainer.registry import Registry

    version = Registry(registry).served_version(name)
    if version is None:
        raise RuntimeError(f"no version of {name!r} in {registry}")
    return registry / name / str(version)


def _write_bodies(work: Path, manifest: dict) -> dict[int, Path]:
    """One /predict body per size, points drawn uniformly over the training extent."""
    rng = np.random.default_rng(0)
    low, high = manifest["data"]["feature_min"], manifest["data"]["feature_max"]
    bodies = {}
    for n_points in BODY_SIZES:
        X = rng.uniform(low, high, size=(n_points, len(low)))
        path = work / f"predict-{n_points}.json"
        path.write_text(json.dumps({"points": X.tolist()}))
        bodies[n_points] = path
    return bodies


def _default_bounds(manifest: dict) -> tuple[float, float, float, float]:
    # the service's own default: the training data's extent plus 0.5
    low, high = manifest["data"]["feature_min"], manifest["data"]["feature_max"]
    return (low[0] - 0.5, high[0] + 0.5, low[1] - 0.5, high[1] + 0.5)


def _machine() -> str:
    """CPU, cores and the versions that shape the figures, for the report."""
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    wrk_version = (wrk.stdout + wrk.stderr).split()[1:2] or ["?"]
    packages = ", ".join(
        f"{name} {version(name)}" for name in ("gunicorn", "flask", "numpy", "orjson")
    )
    return (
        f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{packages}, wrk {wrk_version[0]}"
    )


def _git_commit() -> str:
    completed = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return completed.stdout.strip() or "unknown"


def _save_raw(meta: dict, results: Results, ratios: dict, started: datetime) -> None:
    RESULTS_DIR.mkdir(exist_ok=True)
    raw = {
        "meta": meta,
        "ratios": ratios,
        "runs": [
            {"scenario": key, "load": label, "rounds": [asdict(run) for run in runs]}
            for (key, label), runs in results.items()
        ],
    }
    path = RESULTS_DIR / f"serve-{started:%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(raw, indent=1))
    print(f"raw results: {path.relative_to(ROOT)}")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, help="rounds, medians over them (3)")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (10)")
    parser.add_argument("--warmup", type=float, help="seconds, before round 1 (2)")
    parser.add_argument(
        "--quick", action="store_true", help="1 round of 3 s runs: a smoke test"
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument(
        "--write", action="store_true", help="rewrite the Serving section of the doc"
    )
    parser.add_argument(
        "--section",
        default="Serving",
        help="the docs/benchmarks.md section --write replaces (Serving)",
    )
    parser.add_argument(
        "--registry", type=Path, help="benchmark this registry instead of training one"
    )
    parser.add_argument("--model", default="moons", help="model name (moons)")
    parser.add_argument(
        "--gunicorn-conf", type=Path, default=ROOT / "deploy" / "gunicorn.conf.py"
    )
    parser.add_argument(
        "--servers",
        type=lambda s: s.split(","),
        default=[SERVICE, SERVICE_SYNC, PLAIN, CEILING, CEILING_SYNC],
        help=f"subset of {SERVICE},{SERVICE_SYNC},{PLAIN},{CEILING},{CEILING_SYNC}"
        " to start (all)",
    )
    parser.add_argument(
        "--only", type=lambda s: s.split(","), help="scenario keys, e.g. predict-1"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work dir and server logs"
    )
    args = parser.parse_args(argv)
    quick = {"repeats": 1, "duration": 3.0, "warmup": 1.0}
    full = {"repeats": 3, "duration": 10.0, "warmup": 2.0}
    for name, default in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    return args


if __name__ == "__main__":
    sys.exit(main())
