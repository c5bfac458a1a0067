"""One large training run in a process of its own: `python bench/_big.py MODE N`.

A fresh process per run makes its peak RSS (VmHWM) that run's alone: the parent's
memory, and other runs' high-water marks, never count. MODE is `fullbatch` (one pass
of the tutorial's loop) or `minibatch` (ScratchNetClassifier with mini-batches).
Prints one JSON line; the peak is read before the accuracy check allocates anything.
The full-batch run measures one pass only, so it reports no accuracy.
"""

import json
import re
import resource
import sys
import time
from collections.abc import Callable

import numpy as np
from sklearn.datasets import make_moons

Predict = Callable[[np.ndarray], np.ndarray]

HIDDEN = 50
# The classifier's defaults (Adam, mini-batches of 200, mean gradient), hidden 50,
# two epochs: what a user gets from `ScratchNetClassifier` on a large set.
MINIBATCH_PARAMS = {"hidden_layer_sizes": (HIDDEN,), "max_iter": 2, "random_state": 0}
CHECK_SAMPLES = 10_000


def main(mode: str, n_samples: int) -> dict[str, float | None]:
    X, y = make_moons(n_samples, noise=0.20, random_state=0)
    rss_before = _status_mb("VmRSS")
    if mode == "fullbatch":
        seconds, predict, passes = _fullbatch(X, y)
    elif mode == "minibatch":
        seconds, predict, passes = _minibatch(X, y)
    else:
        raise SystemExit(f"unknown mode {mode!r}; expected fullbatch or minibatch")
    peak = _peak_rss_mb()
    accuracy = None
    if predict is not None:
        X_check, y_check = make_moons(CHECK_SAMPLES, noise=0.20, random_state=1)
        accuracy = float(np.mean(predict(X_check) == y_check))
    return {
        "samples_per_second": passes * n_samples / seconds,
        "seconds": seconds,
        "passes": passes,
        "peak_rss_mb": peak,
        "rss_before_training_mb": rss_before,
        "accuracy": accuracy,
    }


def parse_result(stdout: str) -> dict[str, float | None]:
    """The JSON line `main` printed (the last line of the child's stdout)."""
    return json.loads(stdout.strip().splitlines()[-1])


def _fullbatch(X: np.ndarray, y: np.ndarray) -> tuple[float, None, int]:
    import _tutorial

    _tutorial.use_data(X, y)
    start = time.perf_counter()
    _tutorial.build_model(HIDDEN, num_passes=1)
    seconds = time.perf_counter() - start
    # no accuracy: one step, and at this size the summed gradient's step overshoots
    return seconds, None, 1


def _minibatch(X: np.ndarray, y: np.ndarray) -> tuple[float, Predict, int]:
    from trainer.nn.classifier import ScratchNetClassifier

    clf = ScratchNetClassifier(**MINIBATCH_PARAMS)
    start = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - start
    return seconds, clf.predict, len(clf.loss_curve_)


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        match = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{field} is not in /proc/self/status")
    return int(match.group(1)) / 1024


def _peak_rss_mb() -> float:
    try:
        return _status_mb("VmHWM")
    except (OSError, RuntimeError):
        # ru_maxrss is in kB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]))))
