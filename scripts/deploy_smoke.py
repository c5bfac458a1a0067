"""Run the built image the way a deployment does and check that it serves and reloads.

A step of `make deploy-check`: podman, a read-only root filesystem, an empty registry
volume, the trainer run from the same image, a second version served by the same
container. Standard library only; everything it starts is removed by name.
"""

import argparse
import os
import socket
import subprocess
import sys
from collections.abc import Callable

from smoke_http import Http, say, wait_for

MODEL = "moons"
# The hardening of deploy/compose.yaml and of the k8s securityContext.
HARDENING = [
    "--read-only",
    "--tmpfs",
    "/tmp",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", required=True, help="image to run")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds per wait")
    args = parser.parse_args()

    smoke = ImageSmoke(args.image, f"scratchnet-smoke-{os.getpid()}", args.timeout)
    try:
        smoke.run()
    except (AssertionError, TimeoutError, subprocess.CalledProcessError) as exc:
        print(f"smoke: FAILED: {exc}", file=sys.stderr)
        if isinstance(exc, subprocess.CalledProcessError):
            print(exc.stdout + exc.stderr, file=sys.stderr)
        smoke.dump_logs()
        return 1
    finally:
        smoke.remove()
    say("image OK")
    return 0


class ImageSmoke:
    """One service container and its registry volume, both named `name`."""

    def __init__(self, image: str, name: str, timeout: float) -> None:
        self.image = image
        self.name = name
        self.volume = name
        self.timeout = timeout

    def run(self) -> None:
        podman("volume", "create", self.volume)
        port = free_port()
        podman(
            "run", "--detach", "--name", self.name, *HARDENING,
            # the service only reads the registry, as in compose and k8s
            "--volume", f"{self.volume}:/models:ro",
            "--publish", f"127.0.0.1:{port}:8000",
            "--env", "SCRATCHNET_POLL_SECONDS=1",
            # no timer for the HEALTHCHECK (it needs systemd); it is run once below
            "--health-interval", "disable",
            self.image,
        )  # fmt: skip
        http = Http(f"http://127.0.0.1:{port}")
        say(f"service container {self.name} on {http.base_url}, registry empty")
        self.wait_for("/healthz answers 200", lambda: http.status("/healthz") == 200)
        assert http.status("/readyz") == 503, "/readyz must be 503 with no model"

        uid = podman("exec", self.name, "python", "-c", "import os; print(os.getuid())")
        assert uid.strip() == "10001", f"service runs as uid {uid.strip()}, not 10001"
        say("runs as uid 10001 on a read-only root filesystem; /readyz is 503")

        self.train(seed=1)
        self.wait_for("/readyz answers 200", lambda: http.status("/readyz") == 200)
        first = http.first_predict(self.timeout)["version"]
        grid = http.get_json("/boundary?nx=12&ny=7")
        assert len(grid["labels"]) == 7 and len(grid["labels"][0]) == 12, grid.keys()
        say(f"serving version {first}: /predict and /boundary answer")

        started = self.inspect("{{.State.StartedAt}}")
        self.train(seed=2)
        self.wait_for(
            "the second version is served",
            lambda: http.predict()["version"] == first + 1,
        )
        assert self.inspect("{{.State.StartedAt}}") == started, "container restarted"
        assert self.inspect("{{.RestartCount}}") == "0", "container restarted"
        say(f"serving version {first + 1} without a restart")

        assert b"# TYPE" in http.get("/metrics"), "/metrics is not Prometheus text"
        podman("healthcheck", "run", self.name)
        say("the image's HEALTHCHECK passes; /metrics answers")
        size = podman("image", "inspect", "--format", "{{.Size}}", self.image)
        say(f"image {self.image}: {int(size) / 1e6:.0f} MB")

    def train(self, seed: int) -> None:
        """Publish and promote a version with the trainer in the same image."""
        podman(
            "run", "--rm", *HARDENING,
            "--volume", f"{self.volume}:/models",
            self.image,
            "python", "-m", "trainer", "train", "--name", MODEL,
            "--seed", str(seed), "--promote",
        )  # fmt: skip
        say(f"trainer (same image) published a version of {MODEL}, seed {seed}")

    def inspect(self, template: str) -> str:
        return podman("container", "inspect", "--format", template, self.name).strip()

    def wait_for(self, what: str, condition: Callable[[], bool]) -> None:
        wait_for(what, condition, self.timeout, alive=self._running)

    def _running(self) -> bool:
        return self.inspect("{{.State.Running}}") == "true"

    def dump_logs(self) -> None:
        logs = subprocess.run(
            ["podman", "logs", "--tail", "60", self.name],
            capture_output=True,
            text=True,
            check=False,
        )
        print(logs.stdout + logs.stderr, file=sys.stderr)

    def remove(self) -> None:
        for command in (
            ["podman", "rm", "--force", "--time", "2", self.name],
            ["podman", "volume", "rm", "--force", self.volume],
        ):
            subprocess.run(command, capture_output=True, check=False)


def podman(*args: str) -> str:
    result = subprocess.run(["podman", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise subprocess.CalledProcessError(
            result.returncode, ["podman", *args], result.stdout, result.stderr
        )
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
