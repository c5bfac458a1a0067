"""The serving benchmark's report: medians, target ratios, and the docs section.

Ratios are taken within a round (both loads measured minutes apart at most) and the
median is over rounds, which is what keeps them steady on a noisy shared machine. The
section body is written by `_report.write_section`, shared with the training report.
"""

import math
import statistics
import textwrap
from dataclasses import dataclass

from loadgen import WrkResult
from scenarios import TARGETS, Scenario


@dataclass(frozen=True)
class Measurement:
    """One load in one round: what wrk saw, and the CPU the server spent meanwhile."""

    wrk: WrkResult
    server_cpu_ms_per_request: float  # master + workers, over the timed window


Results = dict[tuple[str, str], list[Measurement]]


def target_ratios(results: Results) -> dict[str, dict]:
    """Each target whose two loads ran: per-round ratios, their median, a verdict."""
    ratios = {}
    for target in TARGETS:
        top = results.get((target.scenario, target.numerator))
        bottoms = [results.get((target.scenario, d)) for d in target.denominators]
        if not top or not all(bottoms):
            continue
        # several denominators: the fastest of them in each round
        bottom = [
            max(runs, key=lambda run: run.wrk.requests_per_second)
            for runs in zip(*bottoms, strict=True)
        ]
        pairs = list(zip(top, bottom, strict=True))
        rounds = [
            a.wrk.requests_per_second / b.wrk.requests_per_second for a, b in pairs
        ]
        median = statistics.median(rounds)
        # the same comparison in requests per CPU-second: steadier under neighbours
        cpu = [
            b.server_cpu_ms_per_request / a.server_cpu_ms_per_request for a, b in pairs
        ]
        ratios[target.name] = {
            "median": median,
            "rounds": rounds,
            "per_cpu_second": statistics.median(cpu),
            "minimum": target.minimum,
            "met": None if target.minimum is None else median >= target.minimum,
        }
    return ratios


def render_summary(scenarios: list[Scenario], results: Results, ratios: dict) -> str:
    return "\n".join(
        ["", *_ratio_table(ratios), "", *_figure_table(scenarios, results)]
    )


def render_section(
    scenarios: list[Scenario], results: Results, ratios: dict, meta: dict
) -> str:
    """The body of docs/benchmarks.md's "## Serving" section, heading excluded."""
    load = ", ".join(f"{x:.2f}" for x in meta["load_before"])
    load_after = ", ".join(f"{x:.2f}" for x in meta["load_after"])
    method = (
        "`bench/serve.py` trains a small moons network (3 hidden units) into a "
        "temporary registry and starts five servers at once, each under `gunicorn "
        "-c deploy/gunicorn.conf.py` with 2 workers of its class (gthread, kept-alive "
        "connections) on its own 127.0.0.1 port: "
        "the service with its production settings (validation, Prometheus metrics, "
        "one JSON log line per request), a plain Flask handler doing the same work "
        "the obvious way (`request.get_json`, a numpy forward pass with softmax, "
        "`jsonify`; `/boundary` takes the argmax of the softmax and `np.save`s the "
        "npy; one BLAS thread), and a bare WSGI app that drains the body and returns "
        "a fixed small JSON body (the ceiling of this HTTP stack); the service and "
        "the ceiling also run with `--worker-class sync`, which closes every "
        "connection (the service as it was before keep-alive, and the other ceiling). "
        f"`wrk -t{meta['threads']} -c{meta['connections']}` drives them in turn, "
        f"{meta['duration']:g} s a run after a {meta['warmup']:g} s warm-up; the "
        "order reverses every round and the server finishes the requests wrk left "
        f"queued before the next run. Figures are medians over {meta['repeats']} "
        "rounds; a ratio is taken within each round, then the median over rounds."
    )
    rows = (
        '/boundary rows marked "service" move the bounds by a few nanounits on every '
        "request so that no response cache can answer (the plain handler gets the "
        'same requests); "same URL" repeats one request, so the cache answers. '
        '"per CPU-second" is the same ratio in requests per CPU-second of the '
        "server's processes (master and workers, user and system time): it moves "
        "less than req/s when neighbours load the machine. Client and servers share "
        f"the machine ({meta['machine']}), itself shared with other jobs: load "
        f"average {load} before, {load_after} after."
    )
    measured = (
        f"Measured {meta['date']} at commit `{meta['commit']}` with "
        f"`{meta['command'].strip()}`."
    )
    prose = [textwrap.fill(text, width=88) for text in (method, rows, measured)]
    return "\n".join(
        [
            "\n\n".join(prose),
            "",
            *_ratio_table(ratios),
            "",
            *_figure_table(scenarios, results),
            "",
        ]
    )


def _ratio_table(ratios: dict) -> list[str]:
    lines = [
        "| ratio | req/s, median | req/s, per round | per CPU-second | target |",
        "|---|---:|---|---:|---|",
    ]
    for name, ratio in ratios.items():
        rounds = ", ".join(f"{r:.2f}" for r in ratio["rounds"])
        if ratio["minimum"] is None:
            verdict = "(context)"
        else:
            mark = "met" if ratio["met"] else "**missed**"
            verdict = f">= {ratio['minimum']:g}x: {mark}"
        lines.append(
            f"| {name} | {ratio['median']:.2f}x | {rounds} "
            f"| {ratio['per_cpu_second']:.2f}x | {verdict} |"
        )
    return lines


def _figure_table(scenarios: list[Scenario], results: Results) -> list[str]:
    lines = [
        "| request | server | req/s | p50 ms | p99 ms | server CPU ms/req | KiB/resp |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for scenario in scenarios:
        for load in scenario.loads:
            runs = results[(scenario.key, load.label)]
            wrk = [run.wrk for run in runs]
            failed = sum(r.n_errors for r in wrk)
            cpu = statistics.median(run.server_cpu_ms_per_request for run in runs)
            lines.append(
                f"| {scenario.title} | {load.label}"
                + (f" ({failed} failed)" if failed else "")
                + f" | {_median(wrk, 'requests_per_second'):.1f}"
                f" | {_median(wrk, 'p50_ms'):.2f}"
                f" | {_median(wrk, 'p99_ms'):.2f}"
                f" | {'n/a' if math.isnan(cpu) else f'{cpu:.2f}'}"
                f" | {_median(wrk, 'bytes_per_response') / 1024:.1f} |"
            )
    return lines


def _median(runs: list[WrkResult], field: str) -> float:
    return statistics.median(getattr(run, field) for run in runs)
