"""gunicorn processes for the serving benchmark: start on a free port, stop by PID.

Kept apart from `serve.py` so the benchmark's logic reads as "what is measured" while
this module owns the lifecycle: every server binds 127.0.0.1 and is stopped by its own
PID, whatever happens in between.
"""

import math
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

# the gunicorn of the interpreter running the benchmark, i.e. the project's venv
GUNICORN = Path(sys.executable).with_name("gunicorn")


@dataclass
class Server:
    """One gunicorn serving `app` (an app spec) with `options` on its own port."""

    name: str
    app: str
    ready_path: str
    env: dict[str, str]
    log_path: Path
    options: list[str]
    port: int = field(default_factory=lambda: free_port())
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, cwd: Path) -> None:
        command = [
            str(GUNICORN),
            *self.options,
            "--bind",
            f"127.0.0.1:{self.port}",
            self.app,
        ]
        with self.log_path.open("wb") as log:
            # own session: a Ctrl-C on the benchmark does not reach the servers twice;
            # they are stopped by PID in `stop`
            self.process = subprocess.Popen(
                command,
                cwd=cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Return once `ready_path` answers 200; raise if the process dies or hangs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited before ready:\n{self.log_tail()}"
                )
            try:
                if (
                    requests.get(self.url + self.ready_path, timeout=2).status_code
                    == 200
                ):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.name} not ready after {timeout:.0f} s:\n{self.log_tail()}"
        )

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the master and its workers.

        Steadier than wall-clock throughput on a shared machine: a neighbour's load
        slows a request down but hardly changes the CPU it takes. NaN without /proc.
        """
        if self.process is None or not Path("/proc/self/stat").exists():
            return math.nan
        master = self.process.pid
        workers = sum(_process_cpu_seconds(pid) for pid in _children(master))
        return workers + _process_cpu_seconds(master, reaped_children=True)

    def drain(self, seconds_per_request: float) -> None:
        """Wait for the requests a finished wrk run left behind.

        wrk stops at its deadline and drops its connections, but a sync worker still
        answers every request already queued, one per connection: left alone, that
        work would run during the next server's measurement.
        """
        # a new request queues behind them: its answer means all have been picked up
        requests.get(self.url + self.ready_path, timeout=120)
        # and another worker may still be on its last one
        time.sleep(min(seconds_per_request, 2.0))

    def stop(self) -> None:
        """SIGTERM (gunicorn's graceful shutdown), then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, n_lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no log)"
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n_lines:])


def _process_cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """utime + stime of one process from /proc (Linux); 0 if it has gone.

    With `reaped_children`, also the time of children it has waited for: a gunicorn
    master keeps the CPU of workers that died and were replaced.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # fields after the command name, which is in parentheses and may hold spaces
    fields = stat.rsplit(")", 1)[1].split()
    times = fields[11:15] if reaped_children else fields[11:13]
    return sum(int(ticks) for ticks in times) / _CLOCK_TICKS


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited while we looked
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def free_port() -> int:
    """A port free a moment ago on 127.0.0.1 (gunicorn binds it right after)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
