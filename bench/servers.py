"""gunicorn processes for the serving benchmark: start on a free port, stop by PID.

Kept apart from `serve.py` so the benchmark's logic reads as "what is measured" while
this module owns the lifecycle: every server binds 127.0.0.1 and is stopped by its own
PID, whatever happens in between.
"""

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


def free_port() -> int:
    """A port free a moment ago on 127.0.0.1 (gunicorn binds it right after)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
