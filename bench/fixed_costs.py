"""What `train` spends besides the network's fit, piece by piece (issue 15's floor).

A benchmark, not a test. Times each fixed cost of `python -m trainer train --samples
1000000 --hidden 50 --epochs 5` on its own, medians of `--rounds`: the imports in
fresh interpreters (CPU seconds, steadier than wall time on a shared machine), the
rest in this process with the functions the command calls. `--overlap` also times
the baseline fitted in a forked child while this process fits the network, against
the two one after the other (the concurrency issue 15 asks about), alternated.

    python bench/fixed_costs.py [--rounds 5] [--overlap]
"""

import argparse
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from trainer.cli import commands, training
from trainer.cli.main import build_parser
from trainer.data.baseline import baseline_subsample, fit_baseline
from trainer.data.datasets import load_dataset, train_validation_split
from trainer.nn.classifier import ScratchNetClassifier
from trainer.registry.registry import open_registry

SAMPLES = 1_000_000
PARAMS = {"hidden_layer_sizes": (50,), "max_iter": 5, "random_state": 0}
ARGS = ["--name", "m", "--samples", str(SAMPLES), "--hidden", "50", "--epochs", "5"]
# what each import line brings in, measured in a fresh interpreter each
IMPORTS = {
    "interpreter alone": "pass",
    "numpy and the standard library train uses": (
        "import numpy, threadpoolctl, json, hashlib, argparse, tomllib"
    ),
    "scikit-learn, as the classifier imports it": "import sklearn.base",
    "the whole command line (trainer.cli.main)": "import trainer.cli.main",
    "the same without pandas (not installed outside the dev extra)": (
        "import sys; sys.modules['pandas'] = None; import trainer.cli.main"
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--overlap", action="store_true")
    args = parser.parse_args(argv)
    print(f"| cost | median s | rounds ({args.rounds}) |\n|---|---:|---|")
    for name, code in IMPORTS.items():
        _row(f"import: {name} (CPU s)", _import_cpu(code, args.rounds))
    for name, seconds in _in_process(args.rounds).items():
        _row(name, seconds)
    if args.overlap:
        print("\n| baseline and fit | median s | rounds |\n|---|---:|---|")
        for name, seconds in _overlap(args.rounds).items():
            _row(name, seconds)
    return 0


def _in_process(rounds: int) -> dict[str, list[float]]:
    data = load_dataset("moons", n_samples=SAMPLES, noise=0.2, seed=0)
    X_train, X_val, y_train, y_val = train_validation_split(data.X, data.y, 0.2, 0)
    X_base, y_base = baseline_subsample(X_train, y_train, 20_000, seed=0)

    with tempfile.TemporaryDirectory() as root:
        args = build_parser().parse_args(["train", "--registry", root, *ARGS])
        options = commands._options(args)
    # the command's own result (its fit, its metrics), published again each round
    result = training.fit(options.recipe)
    coefs, intercepts = result.coefs, result.intercepts

    def measure() -> None:
        for X, y, part in ((X_train, y_train, "train"), (X_val, y_val, "validation")):
            training._measure(coefs, intercepts, "tanh", [0, 1], X, y, part)

    def publish() -> None:
        with tempfile.TemporaryDirectory() as root:
            training.publish(open_registry(root), options, result)

    steps: dict[str, Callable[[], object]] = {
        "load: make_moons(1,000,000) and its checks": lambda: load_dataset(
            "moons", n_samples=SAMPLES, noise=0.2, seed=0
        ),
        "split: stratified 80/20, sklearn's draws": lambda: train_validation_split(
            data.X, data.y, 0.2, 0
        ),
        "baseline: the 20,000-point subsample": lambda: baseline_subsample(
            X_train, y_train, 20_000, seed=0
        ),
        "baseline: LogisticRegressionCV on it": lambda: fit_baseline(X_base, y_base),
        "measure: one forward pass over 1,000,000 points": measure,
        "measure: sha256 and feature ranges": lambda: training._data_section(
            X_train, y_train, X_val
        ),
        "publish: sample, reference, write": publish,
        "(the fit itself, for scale)": lambda: ScratchNetClassifier(**PARAMS).fit(
            X_train, y_train
        ),
    }
    out: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            out[name].append(time.perf_counter() - started)
    return out


def _overlap(rounds: int) -> dict[str, list[float]]:
    data = load_dataset("moons", n_samples=SAMPLES, noise=0.2, seed=0)
    X_train, X_val, y_train, y_val = train_validation_split(data.X, data.y, 0.2, 0)

    def baseline() -> float:
        X, y = baseline_subsample(X_train, y_train, 20_000, seed=0)
        return float(fit_baseline(X, y).score(X_val, y_val))

    def sequential() -> None:
        baseline()
        ScratchNetClassifier(**PARAMS).fit(X_train, y_train)

    def forked() -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: the baseline, its score back through the pipe
            os.close(read)
            with os.fdopen(write, "wb") as pipe:
                pickle.dump(baseline(), pipe)
            os._exit(0)
        os.close(write)
        ScratchNetClassifier(**PARAMS).fit(X_train, y_train)
        with os.fdopen(read, "rb") as pipe:
            pickle.load(pipe)
        os.waitpid(pid, 0)

    out: dict[str, list[float]] = {"one after the other": [], "forked child": []}
    for r in range(rounds):
        order = [("one after the other", sequential), ("forked child", forked)]
        for name, run in order if r % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            run()
            out[name].append(time.perf_counter() - started)
    return out


def _import_cpu(code: str, rounds: int) -> list[float]:
    seconds = []
    for _ in range(rounds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", code], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds.append(
            after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        )
    return seconds


def _row(name: str, seconds: list[float]) -> None:
    rounds = ", ".join(f"{s:.3f}" for s in seconds)
    print(f"| {name} | {statistics.median(seconds):.3f} | {rounds} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
