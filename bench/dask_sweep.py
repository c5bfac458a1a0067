"""The tutorial's hidden-size sweep on a local dask cluster and on joblib, timed.

`python -m trainer sweep --preset tutorial` (sizes 1, 2, 3, 4, 5, 20, 50; 20,000
full-batch passes each) run in this process, alternately with `--jobs 2` (joblib's
processes) and `--scheduler` on a `distributed.LocalCluster` of 2 worker processes of
one thread each: the same parallelism, so the difference is what dask's scheduling
and transfers cost. One untimed warm-up sweep of each, then medians of rounds, and a
check that both give the same networks.
`python bench/dask_sweep.py [--rounds 5]` (docs/benchmarks.md quotes its output).
"""

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.cli.main import main as trainer  # noqa: E402

WORKERS = 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="sweeps of each kind")
    parser.add_argument(
        "--sweep",
        default="--preset tutorial",
        help="sweep options (default: the tutorial's; e.g. '--epochs 2000')",
    )
    args = parser.parse_args()
    from distributed import LocalCluster

    sweep = ["sweep", *args.sweep.split(), "--json"]
    started = time.perf_counter()
    with LocalCluster(
        n_workers=WORKERS,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        cluster_seconds = time.perf_counter() - started
        kinds = {
            "joblib": [*sweep, "--jobs", str(WORKERS)],
            "dask": [*sweep, "--scheduler", cluster.scheduler_address],
        }
        seconds: dict[str, list[float]] = {kind: [] for kind in kinds}
        # each fit's own time, summed over the sizes: the work, wherever it ran
        fitting: dict[str, list[float]] = {kind: [] for kind in kinds}
        rows: dict[str, list[dict]] = {}
        # one untimed sweep of each first: joblib's process pool (loky) starts with
        # its first call and is reused after, as the cluster's workers are
        for argv in kinds.values():
            _timed(argv)
        for round_ in range(args.rounds):
            # alternate which goes first: the machine is shared and drifts
            order = list(kinds) if round_ % 2 == 0 else list(reversed(kinds))
            for kind in order:
                elapsed, table = _timed(kinds[kind])
                seconds[kind].append(elapsed)
                fitting[kind].append(sum(row["seconds"] for row in table))
                rows[kind] = table
    same = _without_times(rows["joblib"]) == _without_times(rows["dask"])
    print(f"cores: {os.cpu_count()}; sweep: {' '.join(sweep)}")
    print(
        f"LocalCluster of {WORKERS} worker processes started in {cluster_seconds:.1f} s"
    )
    for kind, times in seconds.items():
        print(
            f"{kind:>6}: sweep median {statistics.median(times):.2f} s over "
            f"{args.rounds} rounds (min {min(times):.2f}, max {max(times):.2f}); "
            f"the fits' own times summed: {statistics.median(fitting[kind]):.2f} s"
        )
    ratios = [d / j for d, j in zip(seconds["dask"], seconds["joblib"], strict=True)]
    print(
        f"dask / joblib, median of per-round ratios: {statistics.median(ratios):.3f} "
        f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
    )
    print(f"same networks (every metric of every size): {same}")
    return 0 if same else 1


def _timed(argv: list[str]) -> tuple[float, list[dict]]:
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = trainer(argv)
    elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} exited {code}")
    return elapsed, json.loads(out.getvalue())["sweep"]


def _without_times(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


if __name__ == "__main__":
    sys.exit(main())
