"""The training benchmark's report: markdown tables, the machine, and the doc section.

Kept apart from the measuring so that bench/train.py reads as what is timed, and so
that rewriting one `## ` section of docs/benchmarks.md leaves the others alone.
"""

import os
import platform
import re
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sklearn

PLAIN, SKLEARN, PRESET = range(3)
TARGET_VS_PLAIN = 2.0
TARGET_VS_SKLEARN = 2.5
TARGET_RSS_MB = 400.0


def notes(n_big: int) -> list[str]:
    """What the tables cannot say; n_big is the large runs' size (--quick: 100,000)."""
    return [
        "The plain loop is the tutorial's code as written (`bench/_tutorial.py`, "
        "Python 3). scikit-learn's `MLPClassifier(hidden_layer_sizes=(3,), "
        'activation="tanh", solver="sgd", batch_size=200, learning_rate_init=2.0, '
        "momentum=0, alpha=0.01, "
        "max_iter=20000, tol=0, n_iter_no_change=20000, shuffle=False)` makes the same "
        "update (a step of 2.0 on the mean gradient is the tutorial's 0.01 on the sum "
        "over 200 points); only its initialisation differs, hence its accuracy. The "
        f"full-batch pass on {n_big:,} points materialises several ({n_big:,}, 50) "
        f"float64 arrays of {n_big * 50 * 8 / 1e6:,.0f} MB each; the mini-batch run "
        "(the classifier's defaults: Adam, batches of 200) keeps the data, one "
        "shuffled copy of it and a few batches.",
    ]


@dataclass(frozen=True)
class Row:
    """One contender of the tutorial run: seconds of each round, in round order."""

    name: str
    runs: tuple[float, ...]
    passes: int
    accuracy: float

    @property
    def seconds(self) -> float:
        return statistics.median(self.runs)


def render(
    small: list[Row],
    big: dict[str, list[dict[str, float | None]]],
    *,
    passes: int,
    n_big: int,
    repeats: int,
    command: str,
    machine: str,
) -> str:
    """The Training section's body: what ran, where, the tables and the targets."""
    preset = small[PRESET]
    full, mini = _medians(big["fullbatch"]), _medians(big["minibatch"])
    # per round: A and B ran back to back, so their ratio shares that round's load
    round_vs_full = [
        m["samples_per_second"] / f["samples_per_second"]
        for f, m in zip(big["fullbatch"], big["minibatch"], strict=True)
    ]
    peaks = [run["peak_rss_mb"] for run in big["minibatch"]]
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Measured {date} with `{command}` (medians of {repeats}).",
        f"Machine: {machine}.",
        "",
        f"**Tutorial run**: make_moons(200, noise=0.20, random_state=0), hidden 3, "
        f"{passes:,} full-batch passes.",
        "",
        "| implementation | median s | passes/s | preset is faster by | "
        "train accuracy |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in small:
        lines.append(
            f"| {row.name} | {row.seconds:.3f} | {row.passes / row.seconds:,.0f} "
            f"| {row.seconds / preset.seconds:.2f}x | {row.accuracy:.3f} |"
        )
    lines += [
        "",
        f"**{n_big:,} moons points, hidden 50**, each run in its own process; peak "
        "RSS is the process's VmHWM (interpreter, numpy and scikit-learn included), "
        "accuracy on 10,000 fresh points.",
        "",
        "| run | samples/s | seconds | peak RSS MB | RSS before training MB "
        "| accuracy |",
        "|---|---:|---:|---:|---:|---:|",
        _big_row("one full-batch pass of the tutorial's loop", full),
        _big_row(f"mini-batch ScratchNetClassifier, {mini['passes']:.0f} epochs", mini),
        "",
        "| target | ratio of medians | range over rounds | met |",
        "|---|---:|---:|:-:|",
        _target(
            f"preset >= {TARGET_VS_PLAIN:g}x plain loop",
            small[PLAIN].seconds / preset.seconds,
            _round_ratios(small[PLAIN], preset),
            TARGET_VS_PLAIN,
        ),
        _target(
            f"preset >= {TARGET_VS_SKLEARN:g}x scikit-learn",
            small[SKLEARN].seconds / preset.seconds,
            _round_ratios(small[SKLEARN], preset),
            TARGET_VS_SKLEARN,
        ),
        _target(
            "mini-batch samples/s >= 1x one full-batch pass",
            mini["samples_per_second"] / full["samples_per_second"],
            round_vs_full,
            1.0,
        ),
        f"| mini-batch peak RSS < {TARGET_RSS_MB:.0f} MB "
        f"| {mini['peak_rss_mb']:.0f} MB | {min(peaks):.0f}-{max(peaks):.0f} MB "
        f"| {'yes' if mini['peak_rss_mb'] < TARGET_RSS_MB else '**no**'} |",
        "",
        *notes(n_big),
    ]
    return "\n".join(lines) + "\n"


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            found = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.MULTILINE)
    except OSError:
        found = None
    if found:
        return found.group(1).strip()
    return platform.processor() or platform.machine()


def machine() -> str:
    """CPU, cores, OS, Python and the numeric libraries, in one line."""
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    # the machines are shared: the load says how much the figures had to compete
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{cpu_model()}, {os.cpu_count()} cores (load average {load} at the end), "
        f"{platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, numpy {np.__version__} "
        f"({blas.get('name')} {blas.get('version')}), "
        f"scikit-learn {sklearn.__version__}"
    )


def write_section(path: Path, heading: str, body: str) -> None:
    """Replace the body of `## heading` in path, up to the next `## ` heading."""
    text = path.read_text()
    pattern = re.compile(
        rf"(^## {re.escape(heading)}\n)(.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL
    )
    if not pattern.search(text):
        raise SystemExit(f"{path} has no '## {heading}' section to rewrite")
    # one blank line around the body, and a single newline if it ends the file
    new = pattern.sub(
        lambda m: m.group(1) + "\n" + body.strip("\n") + "\n\n", text, count=1
    )
    path.write_text(new.rstrip("\n") + "\n")


def _big_row(name: str, run: dict[str, float | None]) -> str:
    return (
        f"| {name} | {run['samples_per_second']:,.0f} | {run['seconds']:.2f} "
        f"| {run['peak_rss_mb']:.0f} | {run['rss_before_training_mb']:.0f} "
        f"| {'n/a' if run['accuracy'] is None else format(run['accuracy'], '.3f')} |"
    )


def _target(name: str, ratio: float, rounds: list[float], target: float) -> str:
    met = "yes" if ratio >= target else "**no**"
    spread = f"{min(rounds):.2f}-{max(rounds):.2f}x"
    return f"| {name} | {ratio:.2f}x | {spread} | {met} |"


def _round_ratios(slower: Row, faster: Row) -> list[float]:
    return [s / f for s, f in zip(slower.runs, faster.runs, strict=True)]


def _medians(runs: list[dict[str, float | None]]) -> dict[str, float | None]:
    """Each figure's median over the runs; None where a run has no such figure (the
    one-pass run reports no accuracy)."""
    values = {key: [run[key] for run in runs] for key in runs[0]}
    return {
        key: None if None in column else statistics.median(column)
        for key, column in values.items()
    }
