"""The quality gate's decisions as Prometheus counters in a file (`--metrics-file`).

A scheduled trainer lives for a minute and is never scraped, and the gate runs in it,
not in the service; the batch-job answer is a file in the exposition format that an
agent reads (node_exporter's textfile collector). Counts accumulate across runs: each
decision reads the file under a lock, adds one, and replaces it atomically.
"""

import re
from collections.abc import Sequence
from pathlib import Path

from trainer.registry.atomic import locked, replace_atomically

DECISIONS = "scratchnet_gate_decisions_total"
REFUSALS = "scratchnet_gate_refusals_total"
_HELP = {
    DECISIONS: "Quality-gate decisions of train --promote-if-better, by outcome.",
    REFUSALS: "Quality-gate refusals by reason (accuracy, boundary_change, conflict).",
}
_LABEL = {DECISIONS: "outcome", REFUSALS: "reason"}
_SAMPLE = re.compile(
    r'^(?P<metric>\w+)\{model="(?P<model>(?:[^"\\]|\\.)*)",'
    r'(?P<label>\w+)="(?P<value>\w+)"\} (?P<count>\d+)$'
)
Counts = dict[tuple[str, str, str], int]


def record(path: Path, model: str, promoted: bool, refused_by: Sequence[str]) -> None:
    """Count one decision for `model`: its outcome, and each reason it was refused."""
    path = Path(path)
    with locked(path.with_name(f".{path.name}.lock")):
        counts = read_counts(path)
        outcome = "promoted" if promoted else "refused"
        _add(counts, (DECISIONS, model, outcome))
        for reason in refused_by:
            _add(counts, (REFUSALS, model, reason))
        replace_atomically(path, exposition(counts).encode())


def read_counts(path: Path) -> Counts:
    """The counters in a file this module wrote; {} when there is none yet.

    Lines it does not recognise (a file edited by hand) are dropped, not fatal: a
    metrics file must never stop a training run.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return {}
    counts: Counts = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match["metric"] in _LABEL:
            model = match["model"].replace('\\"', '"').replace("\\\\", "\\")
            key = (match["metric"], model, match["value"])
            counts[key] = int(match["count"])
    return counts


def exposition(counts: Counts) -> str:
    """The counters in Prometheus text format, sorted."""
    lines = []
    for metric in (DECISIONS, REFUSALS):
        lines += [f"# HELP {metric} {_HELP[metric]}", f"# TYPE {metric} counter"]
        for (name, model, value), count in sorted(counts.items()):
            if name == metric:
                quoted = model.replace("\\", "\\\\").replace('"', '\\"')
                lines.append(
                    f'{metric}{{model="{quoted}",{_LABEL[metric]}="{value}"}} {count}'
                )
    return "\n".join(lines) + "\n"


def _add(counts: Counts, key: tuple[str, str, str]) -> None:
    counts[key] = counts.get(key, 0) + 1
