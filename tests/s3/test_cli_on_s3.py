"""The CLI's answers to an s3:// registry that cannot work, against a real SeaweedFS.

A bucket that does not exist is bad input (exit 2, naming the bucket); an endpoint
nobody listens on is a store error (exit 1, saying what to check); a store that
ignores conditional writes gets no version and no alias change (exit 1). Each writes
nothing. The last runs the CLI in this process, its boto3 client wrapped so that
SeaweedFS (which honours `If-None-Match` and `If-Match`) behaves like a store that
does not.
"""

import json
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest

from tests.helpers.registry_samples import publish_network
from tests.helpers.seaweedfs import BUCKET
from tests.integration.conftest import free_port
from tests.s3.conftest import environ
from trainer.cli.main import main
from trainer.registry import Registry, s3_client

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ["train", "--name", "moons", "--epochs", "5", "--samples", "60"]


def _trainer(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trainer", *args],
        cwd=ROOT, env=env or environ(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _keys(prefix: str) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


def test_a_bucket_that_does_not_exist_is_bad_input_naming_it(seaweed):
    bucket = f"no-such-{uuid.uuid4().hex[:12]}"
    for args in (TRAIN, ["list"], ["promote", "--name", "moons", "--version", "1"]):
        run = _trainer(*args, "--registry", f"s3://{bucket}/models")
        assert run.returncode == 2, (args, run.stderr)
        assert f"bucket '{bucket}' does not exist" in run.stderr, run.stderr
        assert run.stderr.count("\n") == 1, run.stderr  # one line, no traceback
    run = _trainer(*TRAIN, "--json", "--registry", f"s3://{bucket}/models")
    error = json.loads(run.stdout)["error"]
    assert run.returncode == 2 and error["code"] == "bad_input"
    assert bucket in error["message"]
    # nothing was written: no bucket made on the way
    buckets = boto3.client("s3").list_buckets()["Buckets"]
    assert bucket not in [b["Name"] for b in buckets]


def test_an_unreachable_endpoint_is_a_store_error_saying_what_to_check(seaweed):
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    # one attempt (the standard AWS setting): the retries only make the test slower
    env = {**environ(), "AWS_ENDPOINT_URL": endpoint, "AWS_MAX_ATTEMPTS": "1"}
    prefix = uuid.uuid4().hex
    for args in (TRAIN, ["list"]):
        run = _trainer(*args, "--registry", f"s3://{BUCKET}/{prefix}", env=env)
        assert run.returncode == 1, (args, run.stderr)
        assert f"bucket '{BUCKET}'" in run.stderr, run.stderr
        assert f"check that the store at {endpoint} is running" in run.stderr
        assert "AWS_ENDPOINT_URL" in run.stderr
        assert "Traceback" not in run.stderr
    assert _keys(f"{prefix}/") == []


class _IgnoresConditions:
    """A real client whose PutObject drops If-None-Match and If-Match, as a store
    without conditional writes does: the write always lands."""

    def __init__(self, client: object) -> None:
        self._client = client
        self.meta = client.meta

    def put_object(self, **params: object) -> dict:
        params.pop("IfNoneMatch", None)
        params.pop("IfMatch", None)
        return self._client.put_object(**params)

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)


@pytest.fixture
def without_conditional_writes(seaweed, monkeypatch):
    real = s3_client._new_client
    monkeypatch.setattr(s3_client, "_new_client", lambda: _IgnoresConditions(real()))


def test_publishing_is_refused_where_writes_are_not_conditional(
    seaweed, capsys, request
):
    location = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    publish_network(Registry(location), "moons", seed=1)  # a real, conditional store
    before = _keys(location.removeprefix(f"s3://{BUCKET}/"))
    request.getfixturevalue("without_conditional_writes")
    for args in (TRAIN, ["promote", "--name", "moons", "--version", "1"]):
        assert main([*args, "--registry", location]) == 1, args
        stderr = capsys.readouterr().err
        assert "does not support conditional writes" in stderr, stderr
        assert "refusing to write" in stderr and BUCKET in stderr
    # no version, no alias, and the probe's own key deleted
    assert _keys(location.removeprefix(f"s3://{BUCKET}/")) == before
    assert Registry(location).versions("moons") == [1]
    assert Registry(location).aliases("moons") == {}


def test_the_aws_files_the_kubernetes_overlay_mounts_are_all_it_needs(
    seaweed, tmp_path
):
    # deploy/overlays/s3 mounts the Secret as the standard credentials and config
    # files and points AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE at them: no
    # AWS_* key, region or endpoint in the environment
    env = {k: v for k, v in environ().items() if not k.startswith("AWS_")}
    (tmp_path / "credentials").write_text(
        "[default]\n"
        f"aws_access_key_id = {seaweed.env['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {seaweed.env['AWS_SECRET_ACCESS_KEY']}\n"
    )
    (tmp_path / "config").write_text(
        f"[default]\nregion = us-east-1\nendpoint_url = {seaweed.endpoint}\n"
    )
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "credentials")
    env["AWS_CONFIG_FILE"] = str(tmp_path / "config")
    location = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    run = _trainer(*TRAIN, "--promote", "--registry", location, env=env)
    assert run.returncode == 0, run.stderr
    assert Registry(location).aliases("moons") == {"production": 1}
