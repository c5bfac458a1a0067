"""The training scaling curve (issue 15): the whole `train` command at growing sizes.

Each size runs in a fresh process (bench/_end_to_end.py) so its peak RSS is its own;
the CSV reader is timed against numpy.loadtxt in the same run. The targets: at
3,000,000 points the peak RSS stays within 3x the raw arrays plus 250 MB, at
1,000,000 the command takes at most 1.3x the network's own fit, and the CSV file
loads in under 1.5x numpy.loadtxt's time.
"""

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import csv_load

HERE = Path(__file__).resolve().parent
# (samples, epochs): the runs issue 15 measured, hidden 50 each
SIZES = ((300_000, 2), (1_000_000, 5), (3_000_000, 2))
QUICK_SIZES = ((30_000, 2), (100_000, 5), (300_000, 2))
RAW_BYTES_PER_SAMPLE = 2 * 8 + 8  # X float64 (2 features) and y int64
RSS_ALLOWANCE_MB = 250.0
TARGET_RSS_FACTOR = 3.0
TARGET_WALL_PER_FIT = 1.3
TARGET_CSV_VS_LOADTXT = 1.5
PHASES = ("imports", "load", "split", "baseline", "fit", "measure", "publish", "other")


def scaling_run(sizes: tuple[tuple[int, int], ...], repeats: int) -> dict:
    runs: dict[int, list[dict[str, float]]] = {n: [] for n, _ in sizes}
    for r in range(repeats):
        for n, epochs in sizes[:: 1 if r % 2 == 0 else -1]:
            runs[n].append(_child(n, epochs))
            last = runs[n][-1]
            print(
                f"  train {n:,} points, {epochs} epochs: {last['seconds']:.1f} s, "
                f"fit {last['fit']:.1f} s, peak RSS {last['peak_rss_mb']:.0f} MB",
                flush=True,
            )
    return {"sizes": sizes, "runs": runs}


def csv_run(rows: int, repeats: int) -> dict[str, float]:
    medians, _ = csv_load.compare(rows, repeats, slow=False)
    print(f"  csv {rows:,} rows: {medians}", flush=True)
    return medians


def render(scaling: dict, csv: dict[str, float], csv_rows: int, repeats: int) -> str:
    lines = [
        f"**The whole command**: `python -m trainer train --samples N --hidden 50 "
        f"--epochs E --json` (moons), each run in its own process, medians of "
        f"{repeats}. Seconds are wall time from the interpreter's start; RSS is the "
        "process's peak (VmHWM); bytes per sample count the peak above the RSS after "
        "imports; the phases are the shares of the command's time.",
        "",
        "| samples | epochs | seconds | peak RSS MB | bytes/sample | "
        + " | ".join(PHASES)
        + " |",
        "|---:|---:|---:|---:|---:|" + "---:|" * len(PHASES),
    ]
    medians = {}
    for n, epochs in scaling["sizes"]:
        runs = scaling["runs"][n]
        m = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        medians[n] = m
        per_sample = (m["peak_rss_mb"] - m["rss_after_imports_mb"]) * 2**20 / n
        shares = " | ".join(f"{m[p] / m['seconds']:.0%}" for p in PHASES)
        lines.append(
            f"| {n:,} | {epochs} | {m['seconds']:.2f} | {m['peak_rss_mb']:.0f} | "
            f"{per_sample:.0f} | {shares} |"
        )
    (n_rss, _), (n_wall, _) = scaling["sizes"][-1], scaling["sizes"][1]
    raw_mb = n_rss * RAW_BYTES_PER_SAMPLE / 2**20
    limit = TARGET_RSS_FACTOR * raw_mb + RSS_ALLOWANCE_MB
    peak = medians[n_rss]["peak_rss_mb"]
    wall = [run["seconds"] / run["fit"] for run in scaling["runs"][n_wall]]
    work = [
        (run["seconds"] - run["imports"]) / run["fit"]
        for run in scaling["runs"][n_wall]
    ]
    csv_ratio = csv["load_dataset"] / csv["numpy.loadtxt"]
    lines += [
        "",
        "| target | figure | per round | met |",
        "|---|---:|---|:-:|",
        f"| peak RSS at {n_rss:,} points <= 3 x {raw_mb:.0f} MB raw + 250 = "
        f"{limit:.0f} MB | {peak:.0f} MB | "
        + ", ".join(f"{run['peak_rss_mb']:.0f}" for run in scaling["runs"][n_rss])
        + f" | {_met(peak <= limit)} |",
        f"| `train` at {n_wall:,} points <= 1.3x the network's fit | "
        f"{statistics.median(wall):.2f}x | "
        + ", ".join(f"{r:.2f}" for r in wall)
        + f" | {_met(statistics.median(wall) <= TARGET_WALL_PER_FIT)} |",
        f"| (the same without the interpreter's imports) | "
        f"{statistics.median(work):.2f}x | "
        + ", ".join(f"{r:.2f}" for r in work)
        + f" | {_met(statistics.median(work) <= TARGET_WALL_PER_FIT)} |",
        f"| CSV of {csv_rows:,} rows <= 1.5x numpy.loadtxt | {csv_ratio:.2f}x "
        f"({csv['load_dataset']:.2f} s against {csv['numpy.loadtxt']:.2f} s) | "
        f"medians of {repeats} | {_met(csv_ratio <= TARGET_CSV_VS_LOADTXT)} |",
    ]
    seconds = ", ".join(f"{p} {medians[n_wall][p]:.2f}" for p in PHASES)
    lines += [
        "",
        f"At {n_wall:,} points the phases took, in seconds (medians): {seconds}.",
        "",
        "Besides the fit, a run imports scikit-learn (the classifier is a "
        "scikit-learn estimator, the data is make_moons', the baseline is "
        "LogisticRegressionCV), generates and splits the data, fits the baseline on "
        "at most 20,000 points and makes one forward pass over every sample for the "
        'metrics. "Training at scale: the fixed costs" below says what each costs, '
        "why it stays, and the best ratio it leaves. Peak RSS includes the "
        "interpreter and libraries (about 165 MB after imports).",
    ]
    return "\n".join(lines)


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _child(n_samples: int, epochs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as registry:
        argv = [
            "--registry",
            registry,
            "--name",
            "scaling",
            "--samples",
            str(n_samples),
        ]
        argv += ["--hidden", "50", "--epochs", str(epochs)]
        proc = subprocess.run(
            [sys.executable, str(HERE / "_end_to_end.py"), *argv],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        raise SystemExit(f"train at {n_samples:,} points failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
