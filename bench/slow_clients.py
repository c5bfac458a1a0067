"""Which worker model survives slow clients: every candidate under the same attacks.

For each candidate (gunicorn sync, gthread, gevent, alone or behind the shipped nginx
config) and each attack of tests/faults (64 connections trickling header bytes, 8 that
never read a large /boundary, 16 bodies shorter than their Content-Length), normal
one-point /predict calls and a /healthz probe run meanwhile. The table says how many
got through, their p99, and when the bad connections were cut off. A comparison, not a
test: tests/faults holds the chosen configuration to the issue's bar.

    .venv/bin/python bench/slow_clients.py [--seconds 20] [--candidates sync,gthread]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.clients import (  # noqa: E402
    NeverRead,
    ShortBodies,
    Traffic,
    TrickleHeaders,
)
from tests.faults.stack import Stack  # noqa: E402
from tests.helpers.registry_samples import publish_network  # noqa: E402
from trainer.registry import Registry  # noqa: E402

CANDIDATES = (
    "sync",
    "gthread",
    "gevent",
    "nginx+sync",
    "nginx+gthread",
)
ATTACKS = {
    "64 trickling headers": (TrickleHeaders, 64),
    "8 never reading /boundary": (NeverRead, 8),
    "16 short bodies": (ShortBodies, 16),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per attack")
    parser.add_argument(
        "--candidates", type=lambda s: s.split(","), default=list(CANDIDATES)
    )
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="scratchnet-slow-") as tmp:
        work = Path(tmp)
        registry = work / "registry"
        publish_network(Registry(registry), "moons", seed=1)
        for candidate in args.candidates:
            proxy = candidate.startswith("nginx+")
            model = candidate.removeprefix("nginx+")
            run_dir = work / candidate
            run_dir.mkdir()
            stack = Stack(run_dir, registry, model, proxy)
            try:
                for attack, (kind, n) in ATTACKS.items():
                    rows.append((candidate, attack, *_attack(stack, kind, n, args)))
                    print(_row(rows[-1]), flush=True)
            finally:
                stack.stop()
    print()
    print(
        "| candidate | attack | /predict ok / failed | p99 ms | /healthz ok / failed "
        "| bad connections cut off | median cut-off s | longest held to the end, s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(_row(row))
    return 0


def _attack(stack: Stack, kind: type, n: int, args: argparse.Namespace) -> tuple:
    with Traffic(stack.url) as traffic:
        time.sleep(1.0)  # normal traffic first, as in production
        bad = kind(stack.url, n, args.seconds).start()
        bad.join()
        report = traffic.stop()
    median = statistics.median(bad.cutoffs) if bad.cutoffs else float("nan")
    longest = max(bad.held, default=0.0)
    time.sleep(2.0)  # let the server settle before the next attack
    return report, len(bad.cutoffs), longest, median


def _row(row: tuple) -> str:
    candidate, attack, report, n_cut, longest, median = row
    return (
        f"| {candidate} | {attack} | {report.n_ok} / {report.n_failed} "
        f"| {report.p99 * 1e3:.0f} | {report.health_ok} / {report.health_failed} "
        f"| {n_cut} | {median:.1f} | {longest:.0f} |"
    )


if __name__ == "__main__":
    sys.exit(main())
