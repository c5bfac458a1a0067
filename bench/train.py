"""Training benchmark: scratchnet against the tutorial's own loop and scikit-learn,
and the whole `train` command at 300,000, 1,000,000 and 3,000,000 points.

A benchmark, not a test. Every figure is a ratio measured in this run, A and B
alternated, medians of `--repeats`, because the machines are shared and noisy. The
1,000,000-point runs each get their own process so that each peak RSS is its own.

    python bench/train.py [--repeats 5] [--quick] [--scale] [--write]

`--write` replaces the "## Training" and "## Training at scale" sections of
docs/benchmarks.md with the tables (`--scale`: runs and rewrites the second only).
"""

import argparse
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import _big
import _scaling
import _tutorial
import numpy as np
from _report import Row, machine, render, write_section
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from trainer.nn.classifier import ScratchNetClassifier
from trainer.nn.presets import TUTORIAL_PASSES, tutorial_params

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
BIG_SAMPLES = 1_000_000
CSV_ROWS = 1_000_000


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    repeats = args.repeats or (1 if args.quick else 5)
    passes = 2_000 if args.quick else TUTORIAL_PASSES
    n_big = 100_000 if args.quick else BIG_SAMPLES

    command = "python bench/train.py" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:])
    )
    text = None
    if not args.scale:
        print(f"tutorial run: hidden 3, 200 points, {passes} passes, {repeats} repeats")
        small = tutorial_run(passes, repeats)
        print(f"{n_big:,} points, hidden 50: {repeats} repeats, one process each")
        big = big_run(n_big, repeats)
        text = render(
            small,
            big,
            passes=passes,
            n_big=n_big,
            repeats=repeats,
            command=command,
            machine=machine(),
        )
        print(text)
    sizes = _scaling.QUICK_SIZES if args.quick else _scaling.SIZES
    csv_rows = 100_000 if args.quick else CSV_ROWS
    print(f"the train command at {[n for n, _ in sizes]} points, {repeats} repeats")
    scaling = _scaling.scaling_run(sizes, repeats)
    csv = _scaling.csv_run(csv_rows, repeats)
    scale_text = _scaling.render(scaling, csv, csv_rows, repeats)
    run = "this section's own run" if args.scale else "the Training section's run"
    scale_text += f"\n\nMeasured with `{command}` ({run}; {machine()}).\n"
    print(scale_text)
    if args.write:
        if text is not None:
            write_section(DOC, "Training", text)
        write_section(DOC, "Training at scale", scale_text)
        print(f"wrote the Training sections of {DOC}")
    return 0


def tutorial_run(passes: int, repeats: int) -> list[Row]:
    """(a) and (b): the same 200 moons points, hidden 3, the same number of passes."""
    X, y = make_moons(200, noise=0.20, random_state=0)
    contenders: dict[str, Callable[[], Callable[[np.ndarray], np.ndarray]]] = {
        "plain tutorial loop (bench/_tutorial.py)": lambda: _plain(X, y, passes),
        "scikit-learn MLPClassifier, same update": lambda: _sklearn(X, y, passes),
        "ScratchNetClassifier(**tutorial_params(3))": lambda: _preset(X, y, passes),
    }
    names = list(contenders)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    accuracy: dict[str, float] = {}
    for r in range(repeats):
        # rotate the order each round so drift on a shared machine hits all alike
        for name in names[r % 3 :] + names[: r % 3]:
            start = time.perf_counter()
            predict = contenders[name]()
            seconds[name].append(time.perf_counter() - start)
            accuracy[name] = float(np.mean(predict(X) == y))
            print(f"  {name}: {seconds[name][-1]:.3f} s", flush=True)
    return [Row(name, tuple(seconds[name]), passes, accuracy[name]) for name in names]


def big_run(n_samples: int, repeats: int) -> dict[str, list[dict[str, float | None]]]:
    """(c): samples per second and peak RSS of each run, one process per run."""
    results: dict[str, list[dict[str, float | None]]] = {
        "fullbatch": [],
        "minibatch": [],
    }
    for r in range(repeats):
        for mode in ("fullbatch", "minibatch")[:: 1 if r % 2 == 0 else -1]:
            out = _child(mode, n_samples)
            results[mode].append(out)
            print(
                f"  {mode}: {out['samples_per_second']:,.0f} samples/s, "
                f"peak RSS {out['peak_rss_mb']:.0f} MB",
                flush=True,
            )
    return results


def _plain(X: np.ndarray, y: np.ndarray, passes: int) -> Callable:
    _tutorial.use_data(X, y)
    model = _tutorial.build_model(3, num_passes=passes)
    return lambda X_new: _tutorial.predict(model, X_new)


def _sklearn(X: np.ndarray, y: np.ndarray, passes: int) -> Callable:
    # the closest equivalent update: one full batch per epoch, no shuffling, step
    # 2.0 on the mean gradient = the tutorial's 0.01 on the sum over 200 points, and
    # alpha 0.01 because scikit-learn divides the L2 term by n_samples as well
    clf = MLPClassifier(
        hidden_layer_sizes=(3,),
        activation="tanh",
        solver="sgd",
        batch_size=200,
        learning_rate_init=2.0,
        momentum=0,
        alpha=0.01,
        max_iter=passes,
        tol=0,
        n_iter_no_change=passes,
        shuffle=False,
        random_state=0,
    )
    with warnings.catch_warnings():
        # max_iter is reached on purpose: the tutorial runs a fixed number of passes
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    return clf.predict


def _preset(X: np.ndarray, y: np.ndarray, passes: int) -> Callable:
    params = tutorial_params(3) | {"max_iter": passes}
    return ScratchNetClassifier(**params).fit(X, y).predict


def _child(mode: str, n_samples: int) -> dict[str, float | None]:
    proc = subprocess.run(
        [sys.executable, str(Path(_big.__file__)), mode, str(n_samples)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{proc.stderr}")
    return _big.parse_result(proc.stdout)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="runs of each (default 5, quick 1)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 2,000 passes and 100,000 points, one repeat",
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="only the whole-command runs and the CSV load (Training at scale)",
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="rewrite the '## Training' section of docs/benchmarks.md",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
