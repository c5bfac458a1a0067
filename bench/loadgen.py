"""wrk, driven from Python: one timed run, read back as numbers.

The Lua scripts in `bench/wrk/` print wrk's summary as a JSON line (`WRK_JSON {...}`),
so nothing here parses wrk's human-readable units. Every run is wrapped in `timeout`:
a server that stops answering must not hang the benchmark.
"""

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

WRK_DIR = Path(__file__).resolve().parent / "wrk"

INSTALL_HINT = """\
wrk is not installed; the serving benchmark drives the servers with it.
  Debian/Ubuntu: apt-get install -y wrk
  macOS:         brew install wrk
(the benchmark installs nothing itself)"""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency percentiles and every kind of failure."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    bytes_per_response: float
    n_requests: int
    n_errors: int  # connect/read/write errors, timeouts and non-2xx/3xx statuses

    @classmethod
    def from_summary(cls, summary: dict) -> "WrkResult":
        n_requests = summary["requests"]
        return cls(
            requests_per_second=n_requests / (summary["duration_us"] / 1e6),
            p50_ms=summary["p50_us"] / 1e3,
            p99_ms=summary["p99_us"] / 1e3,
            bytes_per_response=summary["bytes"] / max(n_requests, 1),
            n_requests=n_requests,
            n_errors=sum(summary["errors"].values()),
        )


def missing_tools() -> list[str]:
    """Names of the external commands the benchmark needs and cannot find."""
    return [tool for tool in ("wrk", "timeout") if shutil.which(tool) is None]


def run_wrk(
    url: str,
    script: str,
    script_args: tuple[str, ...] = (),
    *,
    duration: float,
    threads: int,
    connections: int,
) -> WrkResult:
    """Drive `url` for `duration` seconds with `bench/wrk/<script>`."""
    seconds = max(1, round(duration))
    command = [
        "timeout",
        str(seconds + 30),
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        # a 1000x1000 grid under load can take over wrk's default 2 s: count it, slowly
        "--timeout",
        "20s",
        "-s",
        str(WRK_DIR / script),
        url,
        "--",
        *script_args,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in completed.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return WrkResult.from_summary(json.loads(line.removeprefix("WRK_JSON ")))
    raise RuntimeError(
        f"wrk gave no summary (exit {completed.returncode}) for {url}:\n"
        f"{completed.stdout}\n{completed.stderr}"
    )


def post_round(target: object, path: str, body: Path, duration: float) -> tuple:
    """One `wrk -t2 -c8` run POSTing `body` to `target` (a bench server or proxy):
    (req/s, the target's CPU in microseconds per request); raises on any failure.

    `target` has `url`, `cpu_seconds()` and `drain()` (bench/servers.Server). The
    run's queued leftovers are drained before returning, so they do not land in the
    next target's measurement.
    """
    before = target.cpu_seconds()
    result = run_wrk(
        target.url + path,
        "post.lua",
        (str(body),),
        duration=duration,
        threads=2,
        connections=8,
    )
    if result.n_errors:
        raise RuntimeError(f"{target.url + path}: {result.n_errors} requests failed")
    spent = target.cpu_seconds() - before
    target.drain(2 / max(result.requests_per_second, 1e-3))
    return result.requests_per_second, 1e6 * spent / max(result.n_requests, 1)
