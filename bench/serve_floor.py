"""Where a one-point /predict spends its time: the service with its duties removed.

The keep-alive target (issue 9) compares the service with a bare-WSGI ceiling whose
application does nothing. This benchmark runs the ceiling beside the service and the
variants of `bench/floor_apps.py` (each removes one more duty: the forward pass, the
access line, the metrics, the whole handler), all under the shipped gunicorn
configuration with 2 workers, and reports each against the ceiling within a round:
how close to the ceiling a service could come without each duty.

    .venv/bin/python bench/serve_floor.py [--rounds N] [--duration S]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from floor_apps import VARIANTS
from loadgen import INSTALL_HINT, missing_tools, post_round
from serve import ONE_BLAS_THREAD, ROOT, _served_version_dir, _train, _write_bodies
from servers import Server

CEILING = "bare WSGI (ceiling)"
MODEL = "moons"


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if missing_tools():
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="scratchnet-floor-") as tmp:
        work = Path(tmp)
        registry = _train(work / "registry", MODEL)
        model_dir = _served_version_dir(registry, MODEL)
        manifest = json.loads((model_dir / "manifest.json").read_text())
        body = _write_bodies(work, manifest)[1]
        servers = _servers(work, registry, model_dir)
        try:
            for server in servers.values():
                server.start(ROOT)
            for server in servers.values():
                server.wait_ready()
            results = _measure(servers, body, args)
        finally:
            for server in servers.values():
                server.stop()
    print(_table(results, args))
    return 0


def _servers(work: Path, registry: Path, model_dir: Path) -> dict[str, Server]:
    options = [
        "-c",
        str(ROOT / "deploy" / "gunicorn.conf.py"),
        "--workers",
        "2",
        "--no-control-socket",
        "--pythonpath",
        str(ROOT / "bench"),
    ]
    servers = {}
    for name in (CEILING, *VARIANTS):
        metrics_dir = work / f"prometheus-{len(servers)}"
        metrics_dir.mkdir()
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        if name == CEILING:
            app, ready = "reference_apps:create_ceiling_app()", "/"
            env |= {**ONE_BLAS_THREAD, "SCRATCHNET_BENCH_MODEL_DIR": str(model_dir)}
        else:
            app, ready = "floor_apps:create_app()", "/readyz"
            env |= {
                "SCRATCHNET_REGISTRY": str(registry),
                "SCRATCHNET_DEFAULT_MODEL": MODEL,
                "SCRATCHNET_LOG_LEVEL": "INFO",
                "SCRATCHNET_FLOOR_VARIANT": name,
            }
        log = work / f"server-{len(servers)}.log"
        servers[name] = Server(name, app, ready, env, log, options)
    return servers


def _measure(
    servers: dict[str, Server], body: Path, args: argparse.Namespace
) -> dict[str, list[tuple[float, float]]]:
    """(req/s, server CPU us per request) of every server in every round."""
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in servers}
    for round_index in range(args.rounds):
        order = list(servers) if round_index % 2 == 0 else list(servers)[::-1]
        for name in order:
            path = "/" if name == CEILING else "/predict"
            rate, cpu_us = post_round(servers[name], path, body, args.duration)
            results[name].append((rate, cpu_us))
            print(
                f"round {round_index + 1} {name:<22} {rate:8.0f}"
                f" req/s {cpu_us:6.0f} us CPU/request",
                flush=True,
            )
    return results


def _table(
    results: dict[str, list[tuple[float, float]]], args: argparse.Namespace
) -> str:
    ceiling = results[CEILING]
    lines = [
        f"{args.rounds} rounds of {args.duration:g} s, `wrk -t2 -c8`, one-point body;"
        " ratios to the ceiling taken within each round, then the median",
        "",
        "| server | req/s | CPU us/request | req/s / ceiling | ceiling CPU / CPU |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, runs in results.items():
        rates = [rate for rate, _ in runs]
        cpus = [cpu for _, cpu in runs]
        rate_ratio = statistics.median(
            r / c[0] for r, c in zip(rates, ceiling, strict=True)
        )
        cpu_ratio = statistics.median(
            c[1] / cpu for cpu, c in zip(cpus, ceiling, strict=True)
        )
        label = name if name in (CEILING, "service") else f"service, {_removed(name)}"
        lines.append(
            f"| {label} | {statistics.median(rates):,.0f} | "
            f"{statistics.median(cpus):.0f} | {rate_ratio:.2f}x | {cpu_ratio:.2f}x |"
        )
    return "\n".join(lines)


def _removed(variant: str) -> str:
    return ", ".join(VARIANTS[1 : VARIANTS.index(variant) + 1])


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per run")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
