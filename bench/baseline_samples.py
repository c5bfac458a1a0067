"""Baseline subsample benchmark (issue 15): fit time and accuracy against the cap.

A benchmark, not a test. On 1,000,000 moons points (the CLI's 80/20 split), fits the
logistic-regression baseline on stratified subsamples of several sizes and scores it
on the full validation split; medians of `--rounds` (one round for the full data):

    python bench/baseline_samples.py [--samples 1000000] [--rounds 3]

The default of --baseline-samples is where the accuracy stops improving.
"""

import argparse
import statistics
import time

from trainer.data.baseline import baseline_subsample, fit_baseline
from trainer.data.datasets import load_dataset, train_validation_split

CAPS = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    ds = load_dataset("moons", n_samples=args.samples)
    X_train, X_val, y_train, y_val = train_validation_split(ds.X, ds.y, 0.2, seed=0)
    print(f"moons, {args.samples:,} points, {len(y_train):,} for training")
    print("| cap | fit s (median) | validation accuracy |\n|---:|---:|---:|")
    for cap in (*CAPS, len(y_train)):
        seconds = []
        for _ in range(args.rounds if cap < len(y_train) else 1):
            started = time.perf_counter()
            X, y = baseline_subsample(X_train, y_train, cap, seed=0)
            model = fit_baseline(X, y, seed=0)
            seconds.append(time.perf_counter() - started)
        accuracy = model.score(X_val, y_val)
        print(f"| {cap:,} | {statistics.median(seconds):.3f} | {accuracy:.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
