"""Bring the compose stack up on an empty volume, as docs/deploy.md tells a user to.

A step of `make deploy-check`, after the images are built: docker-compose (v1) talks to
podman's Docker-compatible API on a private socket (no Docker engine here). It proves
the one-command start: the retrain loop seeds the default model, the service becomes
ready by itself and answers through the proxy (the published port is nginx's, and
nginx runs unprivileged), and a retrain run through `exec` publishes a version.
With `--s3` it runs deploy/compose.s3.yaml (the registry in SeaweedFS) and also
stops the store under the running service: it stays ready and answers, and after the
store's restart a retrain is published and served.
Everything it starts is stopped: the stack with `down -v`, the podman API by its PID.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deploy_smoke import free_port
from smoke_http import Http, say, wait_for

COMPOSE_FILE = "deploy/compose.yaml"
S3_COMPOSE_FILE = "deploy/compose.s3.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", required=True, help="image the stack runs")
    parser.add_argument(
        "--proxy-image", required=True, help="nginx image of the `proxy` service"
    )
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds per wait")
    parser.add_argument(
        "--s3",
        metavar="SEAWEEDFS_IMAGE",
        help=f"run {S3_COMPOSE_FILE} with this image as its store",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="scratchnet-compose-") as tmp:
        socket_path = Path(tmp) / "podman.sock"
        api = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{socket_path}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack = Stack(
            f"scratchnet-check-{os.getpid()}", socket_path, args.image, args.proxy_image
        )
        if args.s3:
            stack.file = S3_COMPOSE_FILE
            stack.env["SCRATCHNET_SEAWEEDFS_IMAGE"] = args.s3
        try:
            wait_for("the podman API listens", socket_path.exists, args.timeout)
            stack.check(args.timeout)
            if args.s3:
                stack.check_store_outage(args.timeout)
        except (AssertionError, TimeoutError, subprocess.CalledProcessError) as exc:
            print(f"smoke: FAILED: {exc}", file=sys.stderr)
            if isinstance(exc, subprocess.CalledProcessError):
                print(exc.stdout + exc.stderr, file=sys.stderr)
            print(stack.compose("logs", "--tail", "40", check=False), file=sys.stderr)
            return 1
        finally:
            leftover = stack.down()
            api.terminate()
            api.wait(timeout=30)
    if leftover:
        print(f"smoke: FAILED: compose down left the stack behind:\n{leftover}")
        return 1
    say("compose OK")
    return 0


class Stack:
    """deploy/compose.yaml as one compose project, on a free loopback port."""

    def __init__(
        self, project: str, socket_path: Path, image: str, proxy_image: str
    ) -> None:
        self.project = project
        self.file = COMPOSE_FILE
        self.port = free_port()
        self.env = {
            **os.environ,
            "DOCKER_HOST": f"unix://{socket_path}",
            "SCRATCHNET_PORT": str(self.port),
            "SCRATCHNET_IMAGE": image,
            "SCRATCHNET_PROXY_IMAGE": proxy_image,
            # the scheduled run is triggered by hand below, not waited for
            "RETRAIN_INTERVAL_SECONDS": "3600",
        }

    def check(self, timeout: float) -> None:
        started = time.monotonic()
        self.compose("up", "--detach")
        http = Http(f"http://127.0.0.1:{self.port}")
        say(f"compose project {self.project} up on {http.base_url}, empty volume")
        wait_for("/readyz answers 200", lambda: http.status("/readyz") == 200, timeout)
        version = http.first_predict(timeout)["version"]
        say(
            f"seeded and ready in {time.monotonic() - started:.0f}s: "
            f"serving version {version}"
        )
        # the published port is nginx's: every answer comes through the proxy
        for path in ("/readyz", "/models"):
            server = http.header(path, "Server")
            assert server and server.startswith("nginx"), f"{path}: Server {server!r}"
        uid = self.compose("exec", "-T", "proxy", "id", "-u").strip()
        assert uid not in ("", "0"), f"nginx runs as uid {uid!r}"
        say(f"the published port is nginx's (Server header), running as uid {uid}")

        self.retrain_and_wait(http, version + 1, timeout)
        say(f"a retrain through `exec` published version {version + 1}")

    def check_store_outage(self, timeout: float) -> None:
        """The store stops under the running service and comes back."""
        http = Http(f"http://127.0.0.1:{self.port}")
        served = http.predict()["version"]
        self.compose("stop", "store")
        wait_for(
            "the service notices the outage",
            lambda: "cannot list the registry" in self.compose("logs", "service"),
            timeout,
        )
        assert http.status("/readyz") == 200, "not ready during the store's outage"
        assert http.predict()["version"] == served
        say(f"store stopped: still ready, still serving version {served}")
        self.compose("start", "store")
        wait_for(
            "the service reads the store again",
            lambda: (
                "the registry can be listed again" in self.compose("logs", "service")
            ),
            timeout,
        )
        # the store restarted with its volume: a retrain publishes the next number
        latest = max(_versions(http, "moons"))
        self.retrain_and_wait(http, latest + 1, timeout)
        say(f"store restarted: a retrain published version {latest + 1}, listed")

    def retrain_and_wait(self, http: Http, expected: int, timeout: float) -> None:
        """One retrain through `exec`, then wait until the service lists `expected`."""
        self.compose("exec", "-T", "retrain", "sh", "deploy/retrain.sh", "once")
        wait_for(
            f"the service lists version {expected}",
            lambda: expected in _versions(http, "moons"),
            timeout,
        )

    def down(self) -> str:
        """Remove the stack and its volume: "" when done, else what compose said."""
        # podman refuses to remove a container whose network namespace another one
        # still uses (proxy uses service's), and compose v1 removes them all at once,
        # so the proxy goes first; this also stops it before the service, as down does
        self.compose("rm", "--force", "--stop", "proxy", check=False)
        try:
            self.compose("down", "--volumes", "--timeout", "5")
        except subprocess.CalledProcessError as exc:
            return exc.stdout + exc.stderr
        return ""

    def compose(self, *args: str, check: bool = True) -> str:
        command = ["docker-compose", "-p", self.project, "-f", self.file, *args]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode, command, result.stdout, result.stderr
            )
        return result.stdout + result.stderr


def _versions(http: Http, name: str) -> list[int]:
    models = http.get_json("/models")["models"]
    return next(model["versions"] for model in models if model["name"] == name)


if __name__ == "__main__":
    sys.exit(main())
