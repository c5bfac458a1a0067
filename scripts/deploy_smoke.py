"""Run the built image the way a deployment does and check that it serves and reloads.

The last step of `make deploy-check`: podman, a read-only root filesystem, an empty
registry volume, the trainer run from the same image. Standard library only, so it
runs with any python3 beside podman; everything it starts is removed by name.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

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

    name = f"scratchnet-smoke-{os.getpid()}"
    smoke = Smoke(args.image, name, args.timeout)
    try:
        smoke.run()
    except (AssertionError, TimeoutError, subprocess.CalledProcessError) as exc:
        print(f"deploy-smoke: FAILED: {exc}", file=sys.stderr)
        if isinstance(exc, subprocess.CalledProcessError):
            print(exc.stdout + exc.stderr, file=sys.stderr)
        smoke.dump_logs()
        return 1
    finally:
        smoke.remove()
    print("deploy-smoke: OK")
    return 0


class Smoke:
    """One container of the service and its registry volume, both named `name`."""

    def __init__(self, image: str, name: str, timeout: float) -> None:
        self.image = image
        self.name = name
        self.volume = name
        self.timeout = timeout
        self.base_url = ""

    def run(self) -> None:
        podman("volume", "create", self.volume)
        port = _free_port()
        self.base_url = f"http://127.0.0.1:{port}"
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
        say(f"service container {self.name} on {self.base_url}, registry empty")
        self.wait_for("/healthz answers 200", lambda: self.status("/healthz") == 200)
        assert self.status("/readyz") == 503, "/readyz must be 503 with no model"

        uid = podman("exec", self.name, "python", "-c", "import os; print(os.getuid())")
        assert uid.strip() == "10001", f"service runs as uid {uid.strip()}, not 10001"
        say("runs as uid 10001 on a read-only root filesystem; /readyz is 503")

        self.train(seed=1)
        self.wait_for("/readyz answers 200", lambda: self.status("/readyz") == 200)
        first = self.predict()
        grid = self.get_json("/boundary?nx=12&ny=7")
        assert len(grid["labels"]) == 7 and len(grid["labels"][0]) == 12, grid.keys()
        say(f"serving version {first['version']}: /predict and /boundary answer")

        started = self.inspect("{{.State.StartedAt}}")
        self.train(seed=2)
        self.wait_for(
            "the second version is served",
            lambda: self.predict()["version"] == first["version"] + 1,
        )
        assert self.inspect("{{.State.StartedAt}}") == started, "container restarted"
        assert self.inspect("{{.RestartCount}}") == "0", "container restarted"
        say(f"serving version {first['version'] + 1} without a restart")

        assert b"# TYPE" in self.get("/metrics"), "/metrics is not Prometheus text"
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

    def predict(self) -> dict[str, Any]:
        points = [[0.0, 0.0], [1.0, -0.5], [-1.0, 1.0]]
        body = self.post_json("/predict", {"points": points})
        assert len(body["labels"]) == len(points), body
        assert all(abs(sum(p) - 1.0) < 1e-6 for p in body["probabilities"]), body
        return body

    def status(self, path: str) -> int | None:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None  # not listening yet

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base_url + path, timeout=10) as response:
            return response.read()

    def get_json(self, path: str) -> dict[str, Any]:
        return json.loads(self.get(path))

    def post_json(self, path: str, payload: object) -> dict[str, Any]:
        request = urllib.request.Request(
            self.base_url + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def inspect(self, template: str) -> str:
        return podman("container", "inspect", "--format", template, self.name).strip()

    def wait_for(self, what: str, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except (OSError, ValueError, KeyError):
                pass  # a request in flight while the worker reloads; ask again
            if self.inspect("{{.State.Running}}") != "true":
                raise AssertionError(f"container exited while waiting until {what}")
            time.sleep(0.5)
        raise TimeoutError(f"not within {self.timeout:.0f}s: {what}")

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


def say(message: str) -> None:
    print(f"deploy-smoke: {message}", flush=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
