"""One `python -m trainer train` timed by phase: `python bench/_end_to_end.py ARGS`.

Runs the command line's own `main()` (what `python -m trainer` runs) in this fresh
process, with timers around the phases of `trainer.cli.training`, so the shares add up
to the command's time and the peak RSS (VmHWM) is this run's alone. ARGS are `train`'s
arguments. Prints one JSON line of seconds per phase, peak and post-import RSS.
"""

import time

STARTED = time.perf_counter()

import contextlib  # noqa: E402  (the clock starts before the imports it measures)
import io  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402

from _big import _peak_rss_mb, _status_mb  # noqa: E402

from trainer.cli import training  # noqa: E402
from trainer.cli.main import main  # noqa: E402

# each phase and the functions of trainer.cli.training whose time it is
PHASES = {
    "load": ("load_dataset",),
    "split": ("train_validation_split",),
    "baseline": ("baseline_subsample", "fit_baseline"),
    "fit": ("_fit_network",),
    "measure": ("_measure", "_data_section"),
    "publish": ("publish",),
}


def run(argv: list[str]) -> dict[str, float]:
    seconds = dict.fromkeys(PHASES, 0.0)
    for phase, names in PHASES.items():
        for name in names:
            setattr(training, name, _timed(getattr(training, name), seconds, phase))
    imports = time.perf_counter() - STARTED
    rss_after_imports = _status_mb("VmRSS")
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = main(["train", *argv, "--json"])
    total = time.perf_counter() - STARTED
    if code != 0:
        raise SystemExit(f"train exited {code}: {out.getvalue()}")
    return {
        "seconds": total,
        "imports": imports,
        **seconds,
        "other": total - imports - sum(seconds.values()),
        "peak_rss_mb": _peak_rss_mb(),
        "rss_after_imports_mb": rss_after_imports,
    }


def _timed(f: Callable, seconds: dict[str, float], phase: str) -> Callable:
    def timed(*args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return f(*args, **kwargs)
        finally:
            seconds[phase] += time.perf_counter() - started

    return timed


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1:])))
