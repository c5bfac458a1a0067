"""CSV loading benchmark (issue 15): load_dataset("csv:...") against numpy.loadtxt.

A benchmark, not a test. Writes a 1,000,000-row moons file (about 20 MB, a header,
integer labels), then times A and B alternated, medians of `--rounds`, in one run:

    python bench/csv_load.py [--rows 1000000] [--rounds 5]

The slow line-by-line reader is timed too (fast path switched off), for the record.
"""

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.datasets import make_moons

from trainer.data import csv_fast
from trainer.data.datasets import load_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    medians, size = compare(args.rows, args.rounds)
    base = medians["numpy.loadtxt"]
    print(f"{args.rows:,} rows, {size:.1f} MB, medians of {args.rounds} rounds")
    print("| reader | median s | x numpy.loadtxt |\n|---|---:|---:|")
    for name, median in medians.items():
        print(f"| {name} | {median:.3f} | {median / base:.2f} |")
    return 0


def compare(
    rows: int, rounds: int, slow: bool = True
) -> tuple[dict[str, float], float]:
    """Median seconds of each reader on one file of `rows` rows, and its size in MB.

    The readers alternate within each round, so load on the machine hits all alike.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "points.csv"
        _write(path, rows)
        size = path.stat().st_size / 1e6
        runs: dict[str, Callable[[], object]] = {
            "numpy.loadtxt": lambda: np.loadtxt(path, delimiter=",", skiprows=1),
            "load_dataset": lambda: load_dataset(f"csv:{path}"),
        }
        if slow:
            runs["load_dataset, slow path"] = lambda: _slow(path)
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(rounds):
            for name, run in runs.items():
                started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(t) for name, t in times.items()}, size


def _write(path: Path, rows: int) -> None:
    X, y = make_moons(rows, noise=0.2, random_state=0)
    table = np.column_stack([X, y])
    np.savetxt(
        path,
        table,
        fmt=("%.6f", "%.6f", "%d"),
        delimiter=",",
        header="x1,x2,label",
        comments="",
    )


def _slow(path: Path) -> object:
    eligible = csv_fast.eligible
    csv_fast.eligible = lambda text: False  # type: ignore[assignment]
    try:
        return load_dataset(f"csv:{path}")
    finally:
        csv_fast.eligible = eligible  # type: ignore[assignment]


if __name__ == "__main__":
    raise SystemExit(main())
