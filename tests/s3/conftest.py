"""Fixtures for the registry on both backends: a directory, and a real S3 server.

`seaweed` starts one SeaweedFS for the session and points the standard AWS settings
at it (inherited by every subprocess: CLI runs, publishers, gunicorn). `backend` is
parametrized: each test runs once on a temporary directory and once on a fresh
prefix of the bucket, through `Backend`, which also edits raw files or keys the way
a forger or an operator would.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.helpers.seaweedfs import BUCKET, SeaweedFS
from trainer.registry import Registry


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    with pytest.MonkeyPatch.context() as patch:
        for key, value in server.env.items():
            patch.setenv(key, value)
        try:
            yield server
        finally:
            server.stop()


class Backend:
    """One registry and raw access to what it stores, by path relative to its root."""

    def __init__(self, kind: str, location: str, root: Path | None = None) -> None:
        self.kind = kind
        self.location = location
        self.root = root
        self.registry = Registry(location)
        if kind == "s3":
            self.client = boto3.client("s3")
            self.prefix = location.removeprefix(f"s3://{BUCKET}/") + "/"

    def put(self, rel: str, data: bytes) -> None:
        if self.kind == "local":
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        else:
            self.client.put_object(Bucket=BUCKET, Key=self.prefix + rel, Body=data)

    def get(self, rel: str) -> bytes:
        if self.kind == "local":
            return (self.root / rel).read_bytes()
        response = self.client.get_object(Bucket=BUCKET, Key=self.prefix + rel)
        return response["Body"].read()

    def delete(self, rel: str) -> None:
        if self.kind == "local":
            (self.root / rel).unlink()
        else:
            self.client.delete_object(Bucket=BUCKET, Key=self.prefix + rel)

    def files(self) -> list[str]:
        """Every file or key, relative, sorted."""
        if self.kind == "local":
            return sorted(
                str(p.relative_to(self.root))
                for p in self.root.rglob("*")
                if p.is_file()
            )
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=self.prefix
        )
        return sorted(
            o["Key"][len(self.prefix) :]
            for page in pages
            for o in page.get("Contents", [])
        )


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        root = tmp_path / "registry"
        return Backend("local", str(root), root)
    request.getfixturevalue("seaweed")
    return Backend("s3", f"s3://{BUCKET}/{uuid.uuid4().hex}")


def environ() -> dict[str, str]:
    """The environment for subprocesses (the AWS settings included)."""
    return dict(os.environ)
